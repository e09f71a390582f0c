// What the benchmark measures. Add a target (a process the runner starts) and cases (target × path)
// here; run.mjs needs no change. Every target process gets HOST=127.0.0.1, PORT=0 and UPSTREAM_URL in
// its environment and must print a line containing `listening on http://127.0.0.1:<port>`.

/**
 * @typedef {object} Target
 * @property {string} name
 * @property {string} [script]     path from the repo root, run with the runner's `node`
 * @property {string[]} [args]     arguments after the script (e.g. ['--policy'])
 * @property {string[]} [nodeArgs] node flags before the script
 * @property {Record<string,string>} [env]
 * @property {boolean} [direct]    no process: requests go straight to the upstream
 * @property {boolean} [baseline]  the target every ratio is computed against (exactly one)
 */

/** @type {Record<string, Target>} */
export const targets = {
  upstream: { name: 'upstream', direct: true },
  'fastify-proxy': { name: 'fastify-proxy', script: 'scripts/bench/fastify-proxy.mjs', baseline: true },
  gatehouse: { name: 'gatehouse', script: 'examples/bench-gateway.js' },
  // Next: { name: 'gatehouse-policy', script: 'examples/bench-gateway.js', args: ['--policy'] }
}

/** The upstream's endpoints (scripts/bench/upstream.mjs). */
export const paths = {
  '/small': 'about 100 bytes of JSON',
  '/large': '64 KiB body',
}

/**
 * @typedef {object} Case
 * @property {string} name
 * @property {Target} target
 * @property {string} path
 * @property {{ method?: string, headers?: Record<string,string>, body?: string }} [request]
 */

/** @type {Case[]} */
export const cases = []
for (const path of Object.keys(paths)) {
  for (const target of [targets.upstream, targets['fastify-proxy'], targets.gatehouse]) {
    cases.push({ name: `${target.name} ${path}`, target, path })
  }
}
// A case with its own request, e.g. once the policy plugins exist:
// cases.push({ name: 'gatehouse-policy /small', target: targets['gatehouse-policy'], path: '/small',
//   request: { headers: { authorization: `Bearer ${token}` } } })
