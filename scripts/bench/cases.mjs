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
 * @property {number} [upstreams]  how many upstream processes it balances over (UPSTREAM_URLS; default 1)
 */

import { benchToken } from './jwt.mjs'

/** @type {Record<string, Target>} */
export const targets = {
  upstream: { name: 'upstream', direct: true },
  'fastify-proxy': { name: 'fastify-proxy', script: 'scripts/bench/fastify-proxy.mjs', baseline: true },
  gatehouse: { name: 'gatehouse', script: 'examples/bench-gateway.js' },
  'gatehouse-observability': {
    name: 'gatehouse-observability',
    script: 'examples/bench-gateway.js',
    args: ['--observability'],
  },
  // cors: a global instance (exact + wildcard origins, credentials), requests with an allowed Origin.
  'gatehouse-cors': { name: 'gatehouse-cors', script: 'examples/bench-gateway.js', args: ['--cors'] },
  'gatehouse-jwt': { name: 'gatehouse-jwt', script: 'examples/bench-gateway.js', args: ['--jwt'] },
  'fastify-jwt': { name: 'fastify-jwt', script: 'scripts/bench/fastify-jwt.mjs' },
  // key-auth: an API key in the `apikey` header, one consumer among 1000 (examples/bench-gateway.js).
  'gatehouse-key-auth': {
    name: 'gatehouse-key-auth',
    script: 'examples/bench-gateway.js',
    args: ['--key-auth'],
  },
  'gatehouse-policy': { name: 'gatehouse-policy', script: 'examples/bench-gateway.js', args: ['--policy'] },
  'fastify-policy': { name: 'fastify-policy', script: 'scripts/bench/fastify-policy.mjs' },
  // The cache plugin (memory store) answering every request from the cache (docs/benchmarks.md).
  'gatehouse-cache': { name: 'gatehouse-cache', script: 'examples/bench-gateway.js', args: ['--cache'] },
  // request- and response-transformer: header operations only, and with a JSON response body transform.
  'gatehouse-transform-headers': {
    name: 'gatehouse-transform-headers',
    script: 'examples/bench-gateway.js',
    args: ['--transform-headers'],
  },
  'gatehouse-transform-body': {
    name: 'gatehouse-transform-body',
    script: 'examples/bench-gateway.js',
    args: ['--transform-body'],
  },
  // Balancing (docs/upstreams.md): one service with `targets` round-robin over 1 and 3 upstreams.
  'gatehouse-lb1': { name: 'gatehouse-lb1', script: 'examples/bench-gateway.js', args: ['--targets', '1'] },
  'gatehouse-lb3': {
    name: 'gatehouse-lb3',
    script: 'examples/bench-gateway.js',
    args: ['--targets', '3'],
    upstreams: 3,
  },
  // openapi-validator checking a small JSON request body (POST /small?json-body, see cases below).
  'gatehouse-openapi': {
    name: 'gatehouse-openapi',
    script: 'examples/bench-gateway.js',
    args: ['--openapi'],
  },
  // Aggregation: GET /aggregate makes three parallel calls to /small and merges them (--aggregate).
  'gatehouse-aggregate': {
    name: 'gatehouse-aggregate',
    script: 'examples/bench-gateway.js',
    args: ['--aggregate'],
  },
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
 * @property {number} [expectBytes] the body size the probe must get, when the target rewrites the body
 */

/** @type {Case[]} */
export const cases = []
for (const path of Object.keys(paths)) {
  for (const target of [targets.upstream, targets['fastify-proxy'], targets.gatehouse]) {
    cases.push({ name: `${target.name} ${path}`, target, path })
  }
}
// JWT (HS256) on every request: the jwt plugin against @fastify/jwt, each compared with its bare proxy.
// Policy, the realistic gateway: JWT then rate limiting (memory store, never refusing) on every request,
// Gatehouse's jwt + rate-limit plugins against @fastify/jwt + @fastify/rate-limit.
for (const target of [
  targets['gatehouse-jwt'],
  targets['fastify-jwt'],
  targets['gatehouse-policy'],
  targets['fastify-policy'],
]) {
  cases.push({
    name: `${target.name} /small`,
    target,
    path: '/small',
    request: { headers: { authorization: `Bearer ${benchToken()}` } },
  })
}
cases.push({
  name: 'gatehouse-key-auth /small',
  target: targets['gatehouse-key-auth'],
  path: '/small',
  request: { headers: { apikey: 'bench-api-key-0' } },
})
// Balancing: three targets round-robin against one, and against the plain `url` service (`gatehouse`).
for (const path of Object.keys(paths))
  cases.push({ name: `gatehouse-lb3 ${path}`, target: targets['gatehouse-lb3'], path })
cases.push({ name: 'gatehouse-lb1 /small', target: targets['gatehouse-lb1'], path: '/small' })
// Cache hits (memory store) against the bare proxy, which asks the upstream every time.
for (const path of Object.keys(paths))
  cases.push({ name: `gatehouse-cache ${path}`, target: targets['gatehouse-cache'], path })
// Transformers on the small JSON response: header operations only, then a JSON body transform.
// The body transform renames `name`, drops `tags` and adds `meta.via`: 93 bytes instead of 89.
cases.push({
  name: 'gatehouse-transform-headers /small',
  target: targets['gatehouse-transform-headers'],
  path: '/small',
})
cases.push({
  name: 'gatehouse-transform-body /small',
  target: targets['gatehouse-transform-body'],
  path: '/small',
  expectBytes: 93,
})
// CORS on every response: a request from a wildcard-matched origin (parsed and matched per request).
cases.push({
  name: 'gatehouse-cors /small',
  target: targets['gatehouse-cors'],
  path: '/small',
  request: { headers: { origin: 'https://shop.example.org' } },
})
// Observability: prometheus + access log (+ core's request id) on every request.
for (const path of Object.keys(paths))
  cases.push({ name: `gatehouse-observability ${path}`, target: targets['gatehouse-observability'], path })
// Aggregation: one request = three upstream calls merged (no baseline on this path: the comparison
// with three sequential client calls through the bare proxy is scripts/bench/aggregate.mjs).
cases.push({
  name: 'gatehouse-aggregate /aggregate',
  target: targets['gatehouse-aggregate'],
  path: '/aggregate',
  expectBytes: 283,
})
// openapi-validator: a POST with the small JSON body, validated against the operation's schema, against
// the same POST through the same gateway without the plugin and through the bare proxy (the path has
// its own query so the ratio's baseline is the bare proxy's POST, not its GET of /small).
const JSON_BODY = JSON.stringify({
  id: 42,
  name: 'gatehouse',
  kind: 'bench',
  ok: true,
  tags: ['small', 'json'],
  n: 1,
})
for (const target of [targets['fastify-proxy'], targets.gatehouse, targets['gatehouse-openapi']]) {
  cases.push({
    name: `${target.name} POST /small`,
    target,
    path: '/small?json-body',
    request: { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON_BODY },
  })
}
