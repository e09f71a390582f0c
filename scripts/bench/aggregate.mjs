// The aggregation benchmark: `node scripts/bench/aggregate.mjs [--duration 5 --rounds 3 --connections 50]`.
//
// What a client pays to draw one screen made of three resources, in one run, loopback only:
//   - gatehouse-aggregate: one `GET /aggregate` to Gatehouse (examples/bench-gateway.js --aggregate),
//     which makes three parallel calls to the upstream's `/small` and merges them;
//   - fastify-proxy x3: three sequential `GET /small` through the bare @fastify/http-proxy gateway
//     (the baseline of npm run bench), as a client without aggregation must do;
//   - gatehouse x3: the same three sequential calls through Gatehouse's plain proxy route.
// Each of `connections` virtual clients draws screens back to back for `duration` seconds (a bounded
// loop, node:http keep-alive); rounds alternate the order. Reports screens/s, the screen latency
// (p50/p99) and the CPU each gateway process spent per screen. Exits 1 on any failed request or a
// child dying. Needs `npm run build` first. Children are killed by PID.
import http from 'node:http'
import { dirname, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { benchFlags, closedLoop, cpuSeconds, median, start as startChild, stopAll } from './children.mjs'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..')
const { options } = benchFlags()

// ── the client ───────────────────────────────────────────────────────────────────────────────────
const agent = new http.Agent({ keepAlive: true, maxSockets: options.connections * 2 })

function get(url) {
  return new Promise((done, fail) => {
    const req = http.get(url, { agent, timeout: 10_000 }, (res) => {
      let bytes = 0
      res.on('data', (c) => (bytes += c.length))
      res.on('end', () =>
        res.statusCode === 200 ? done(bytes) : fail(new Error(`${url}: ${res.statusCode}`)),
      )
      res.on('error', fail)
    })
    req.on('timeout', () => req.destroy(new Error(`timeout: ${url}`)))
    req.on('error', fail)
  })
}

/** `connections` clients draw screens (each: `urls` fetched one after another) for `seconds`. */
async function drawScreens(urls, seconds) {
  const r = await closedLoop(options.connections, seconds, async () => {
    for (const url of urls) await get(url)
  })
  return { ...r, screens: r.count }
}

const start = (name, script, args, env) => startChild(root, name, script, args, env)

async function main() {
  const upstream = await start('upstream', 'scripts/bench/upstream.mjs', [], {})
  const env = { UPSTREAM_URL: upstream.url }
  const [proxy, gatehouse] = await Promise.all([
    start('fastify-proxy', 'scripts/bench/fastify-proxy.mjs', [], env),
    start('gatehouse-aggregate', 'examples/bench-gateway.js', ['--aggregate'], env),
  ])
  const cases = [
    { name: 'gatehouse-aggregate (1 call)', pid: gatehouse.pid, urls: [`${gatehouse.url}/aggregate`] },
    { name: 'fastify-proxy x3 sequential', pid: proxy.pid, urls: Array(3).fill(`${proxy.url}/small`) },
    { name: 'gatehouse x3 sequential', pid: gatehouse.pid, urls: Array(3).fill(`${gatehouse.url}/small`) },
  ]
  const probe = await get(`${gatehouse.url}/aggregate`)
  if (probe !== 283) throw new Error(`/aggregate answered ${probe} bytes; expected 283`)
  for (const c of cases) await drawScreens(c.urls, options.warmup)
  const runs = new Map(cases.map((c) => [c, []]))
  let failed = false
  for (let round = 0; round < options.rounds; round++) {
    for (const c of round % 2 === 0 ? cases : [...cases].reverse()) {
      const cpu0 = cpuSeconds(c.pid)
      const r = await drawScreens(c.urls, options.duration)
      const cpu1 = cpuSeconds(c.pid)
      const run = {
        screensPerSec: r.screens / options.duration,
        p50: r.p50,
        p99: r.p99,
        cpuUsPerScreen: ((cpu1 - cpu0) * 1e6) / r.screens,
        errors: r.errors,
      }
      if (r.errors > 0) failed = true
      runs.get(c).push(run)
      console.log(
        `round ${round + 1}  ${c.name.padEnd(30)} ${run.screensPerSec.toFixed(0).padStart(7)} screens/s  ` +
          `p50 ${run.p50.toFixed(2)} ms  p99 ${run.p99.toFixed(2)} ms` +
          (Number.isNaN(run.cpuUsPerScreen) ? '' : `  ${run.cpuUsPerScreen.toFixed(0)} µs CPU/screen`) +
          (r.errors ? `  ← ${r.errors} ERRORS` : ''),
      )
    }
  }
  const base = runs.get(cases[1])
  const baseRate = median(base.map((r) => r.screensPerSec))
  console.log(
    `\nmedian of ${options.rounds} round(s), ${options.duration} s each, ${options.connections} clients`,
  )
  console.log(
    '| client draws a screen as | screens/s | vs fastify-proxy x3 | p50 ms | p99 ms | gateway CPU µs/screen |',
  )
  console.log('|---|---:|---:|---:|---:|---:|')
  for (const c of cases) {
    const rs = runs.get(c)
    const rate = median(rs.map((r) => r.screensPerSec))
    const cpu = Number.isNaN(rs[0].cpuUsPerScreen) ? '' : median(rs.map((r) => r.cpuUsPerScreen)).toFixed(0)
    console.log(
      `| ${c.name} | ${rate.toFixed(0)} | ${(rate / baseRate).toFixed(2)}× | ${median(rs.map((r) => r.p50)).toFixed(2)} | ${median(rs.map((r) => r.p99)).toFixed(2)} | ${cpu} |`,
    )
  }
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
