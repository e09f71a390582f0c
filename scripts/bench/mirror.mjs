// Mirroring and introspection benchmark: `node scripts/bench/mirror.mjs [--duration 5 --rounds 3 --connections 20]`.
//
// What a client pays, in one run, loopback only, all through one Gatehouse process
// (scripts/bench/mirror-gateway.mjs) to the bench upstream's `/small`:
//   - plain:       no mirror (the baseline);
//   - mirrored:    every request also copied to a mirror that answers after 200 ms;
//   - mirror-down: every request also copied to a closed port;
//   - mirror-share: 25 % of requests copied to a mirror that counts them (the share it received is
//                  reported per round: issue 22's "mirror receives the requested share" under load);
//   - introspect:  openid-connect with an opaque bearer token (introspection cache hit);
//   - introspect-miss: the same with the cache off, every request introspected at the provider
//                  (a local Node process answering at once: the gateway's own cost of a miss).
// Each of `connections` clients sends requests back to back for `duration` seconds (a bounded loop,
// node:http keep-alive); rounds alternate the order. Reports requests/s and latency p50/p99. The
// client's latency with a slow or dead mirror should match `plain`: the copies are fire-and-forget.
// Exits 1 on any failed request. Needs `npm run build` first. Children are stopped by PID.
import http from 'node:http'
import { dirname, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { benchFlags, closedLoop, median, start as startChild, stopAll } from './children.mjs'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..')
const { options } = benchFlags()
const agent = new http.Agent({ keepAlive: true, maxSockets: options.connections * 2 })

function get(url, headers) {
  return new Promise((done, fail) => {
    const req = http.get(url, { agent, headers, timeout: 10_000 }, (res) => {
      res.resume()
      res.on('end', () => (res.statusCode === 200 ? done() : fail(new Error(`${url}: ${res.statusCode}`))))
      res.on('error', fail)
    })
    req.on('timeout', () => req.destroy(new Error(`timeout: ${url}`)))
    req.on('error', fail)
  })
}

function fetchText(url) {
  return new Promise((done, fail) => {
    const req = http.get(url, { agent, timeout: 5_000 }, (res) => {
      let text = ''
      res.setEncoding('utf8')
      res.on('data', (c) => {
        text += c
      })
      res.on('end', () => done(text))
      res.on('error', fail)
    })
    req.on('timeout', () => req.destroy(new Error(`timeout: ${url}`)))
    req.on('error', fail)
  })
}

function load(url, headers, seconds) {
  return closedLoop(options.connections, seconds, () => get(url, headers))
}

const start = (name, script, args, env) => startChild(root, name, script, args, env)

async function main() {
  const [upstream, mirror, provider, counting] = await Promise.all([
    start('upstream', 'scripts/bench/upstream.mjs', [], {}),
    start('slow-mirror', 'scripts/bench/mirror-helpers.mjs', ['slow-mirror'], {}),
    start('provider', 'scripts/bench/mirror-helpers.mjs', ['provider'], {}),
    start('counting-mirror', 'scripts/bench/mirror-helpers.mjs', ['counting-mirror'], {}),
  ])
  const gw = await start('gatehouse-mirror', 'scripts/bench/mirror-gateway.mjs', [], {
    UPSTREAM_URL: upstream.url,
    MIRROR_URL: mirror.url,
    PROVIDER_URL: provider.url,
    // The discard port: nothing listens on it on loopback, so the copies are refused.
    CLOSED_URL: 'http://127.0.0.1:9',
    COUNTING_URL: counting.url,
  })
  const token = { authorization: 'Bearer an-opaque-access-token-of-the-usual-length-0123456789' }
  const cases = [
    { name: 'plain (no mirror)', url: `${gw.url}/plain/small` },
    { name: 'mirrored (mirror answers in 200 ms)', url: `${gw.url}/mirrored/small` },
    { name: 'mirror down (refused)', url: `${gw.url}/mirror-down/small` },
    { name: 'mirror 25 % (counted)', url: `${gw.url}/mirror-share/small`, counting: true },
    { name: 'openid-connect introspection (cache hit)', url: `${gw.url}/introspect/small`, headers: token },
    {
      name: 'openid-connect introspection (cache miss)',
      url: `${gw.url}/introspect-miss/small`,
      headers: token,
    },
  ]
  for (const c of cases) await load(c.url, c.headers, options.warmup)
  const runs = new Map(cases.map((c) => [c, []]))
  const shares = []
  let failed = false
  for (let round = 0; round < options.rounds; round++) {
    for (const c of round % 2 === 0 ? cases : [...cases].reverse()) {
      if (c.counting) await fetchText(`${counting.url}/__reset`)
      const r = await load(c.url, c.headers, options.duration)
      if (r.errors > 0) failed = true
      if (c.counting) {
        // The last copies may still be on their way: a short, bounded wait.
        await new Promise((done) => setTimeout(done, 300))
        const copies = Number(await fetchText(`${counting.url}/__count`))
        const share = r.count === 0 ? 0 : (100 * copies) / r.count
        shares.push(share)
        console.log(
          `          mirror received ${copies} copies of ${r.count} requests: ${share.toFixed(1)} % (asked 25 %)`,
        )
      }
      runs.get(c).push({ rps: r.count / options.duration, p50: r.p50, p99: r.p99 })
      console.log(
        `round ${round + 1}  ${c.name.padEnd(42)} ${(r.count / options.duration).toFixed(0).padStart(7)} req/s  ` +
          `p50 ${r.p50.toFixed(2)} ms  p99 ${r.p99.toFixed(2)} ms${r.errors ? `  ← ${r.errors} ERRORS` : ''}`,
      )
    }
  }
  const baseRate = median(runs.get(cases[0]).map((r) => r.rps))
  console.log(
    `\nmedian of ${options.rounds} round(s), ${options.duration} s each, ${options.connections} clients`,
  )
  console.log('| case | req/s | vs plain | p50 ms | p99 ms |')
  console.log('|---|---:|---:|---:|---:|')
  for (const c of cases) {
    const rs = runs.get(c)
    const rate = median(rs.map((r) => r.rps))
    console.log(
      `| ${c.name} | ${rate.toFixed(0)} | ${(rate / baseRate).toFixed(2)}× | ${median(rs.map((r) => r.p50)).toFixed(2)} | ${median(rs.map((r) => r.p99)).toFixed(2)} |`,
    )
  }
  console.log(`\nmirror share received (median): ${median(shares).toFixed(1)} % of requests (asked 25 %)`)
  return failed ? 1 : 0
}

let code = 1
try {
  code = await main()
} catch (err) {
  console.error(`\nbenchmark failed: ${err.message}`)
} finally {
  agent.destroy()
  await stopAll()
}
process.exit(code)
