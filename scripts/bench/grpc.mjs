// The JSON→gRPC benchmark: `node scripts/bench/grpc.mjs [--duration 5 --rounds 3 --connections 50]`.
//
// One run, loopback only. Starts the inventory gRPC service (grpc-upstream.mjs) and a Gatehouse
// gateway with the grpc plugin in front of it (grpc-gateway.mjs, pinned to CPU 1 when `taskset`
// exists) as separate processes, then measures, alternating the order each round:
//   - gateway: the shared load generator (loadgen.mjs: wrk, or autocannon's CLI, in its own process
//              pinned to CPU 0), `GET /v1/items/bk-1` (HTTP/1.1 JSON) → the grpc plugin → GetItem;
//   - direct:  a grpc-js client in this process calling GetItem itself (no load generator speaks
//              gRPC), with as many calls in flight as the load generator has connections (one
//              channel, as a gRPC client normally uses), for the same duration.
// Reports the median req/s, latency and the CPU each process spent per request, and the gateway's
// throughput as a ratio to the direct call's. Exits 1 on any failed request or a child dying.
// Needs `npm run build` first (the example and the plugin run built). Children (children.mjs) are
// killed by PID.
import { mkdirSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import os from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { benchFlags, cpuSeconds, median, start, stopAll } from './children.mjs'
import { loadGenerator } from './loadgen.mjs'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..')
const requireFromExample = createRequire(join(root, 'examples/grpc/package.json'))
const grpc = requireFromExample('@grpc/grpc-js')
const { loadSync } = requireFromExample('@grpc/proto-loader')

const { options } = benchFlags()

// ── the two ways of calling GetItem ──────────────────────────────────────────────────────────────
const gen = loadGenerator({ root, connections: options.connections, timeout: 10 })
async function viaGateway(url, seconds) {
  const r = await gen.load(`${url}/v1/items/bk-1`, seconds)
  return { ...r, failures: r.errors + r.timeouts + r.non2xx + (r.requests === 0 ? 1 : 0) }
}

const proto = loadSync(join(root, 'examples/grpc/proto/inventory.proto'), {
  keepCase: false,
  longs: String,
  enums: String,
  defaults: true,
})
const Inventory = grpc.loadPackageDefinition(proto).shop.inventory.v1.Inventory

/** `connections` loops, each with one call in flight, for `seconds`: bounded by the clock. */
async function direct(client, seconds) {
  const latencies = []
  let failures = 0
  const until = performance.now() + seconds * 1000
  function call() {
    return new Promise((done) => {
      const began = performance.now()
      client.getItem({ sku: 'bk-1' }, (err, item) => {
        if (err || item?.sku !== 'bk-1') failures++
        else latencies.push(performance.now() - began)
        done()
      })
    })
  }
  async function loop() {
    while (performance.now() < until) await call()
  }
  const began = performance.now()
  await Promise.all(Array.from({ length: options.connections }, loop))
  const elapsed = (performance.now() - began) / 1000
  latencies.sort((a, b) => a - b)
  const pct = (p) =>
    Math.round(latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))] ?? 0)
  return { requests: latencies.length, rps: latencies.length / elapsed, p50: pct(50), p99: pct(99), failures }
}

async function measure(kind, ctx, seconds) {
  const before = { gw: cpuSeconds(ctx.gateway.pid), up: cpuSeconds(ctx.upstream.pid), me: process.cpuUsage() }
  const r =
    kind === 'gateway' ? await viaGateway(ctx.gateway.url, seconds) : await direct(ctx.client, seconds)
  const gw = cpuSeconds(ctx.gateway.pid) - before.gw
  const up = cpuSeconds(ctx.upstream.pid) - before.up
  const me = process.cpuUsage(before.me)
  return {
    ...r,
    // The grpc-js client of the direct case runs in this process; the load generator of the gateway
    // case runs in its own and is not measured.
    clientCpuUs: kind === 'direct' ? (me.user + me.system) / Math.max(1, r.requests) : Number.NaN,
    gatewayCpuUs: kind === 'gateway' ? (gw * 1e6) / Math.max(1, r.requests) : 0,
    upstreamCpuUs: (up * 1e6) / Math.max(1, r.requests),
  }
}

// ── run ──────────────────────────────────────────────────────────────────────────────────────────
try {
  const upstream = await start(root, 'grpc-upstream', 'scripts/bench/grpc-upstream.mjs')
  // The gateway gets its own core (CPU 1) when taskset exists; wrk runs on CPU 0.
  const gateway = await start(
    root,
    'grpc-gateway',
    'scripts/bench/grpc-gateway.mjs',
    [],
    { UPSTREAM_URL: `http://${upstream.url}` },
    { prefix: gen.pinProxy },
  )
  const client = new Inventory(upstream.url, grpc.credentials.createInsecure())
  const ctx = { upstream, gateway, client }
  console.log(
    `${options.rounds} rounds × ${options.duration} s, ${options.connections} concurrent, ${gen.name} out of process, ${os.cpus().length} CPUs, node ${process.version}`,
  )
  for (const kind of ['gateway', 'direct']) await measure(kind, ctx, options.warmup)
  const results = { gateway: [], direct: [] }
  for (let round = 0; round < options.rounds; round++) {
    const order = round % 2 === 0 ? ['gateway', 'direct'] : ['direct', 'gateway']
    for (const kind of order) {
      await measure(kind, ctx, options.warmup)
      const r = await measure(kind, ctx, options.duration)
      results[kind].push(r)
      console.log(
        `round ${round + 1} ${kind.padEnd(7)} ${Math.round(r.rps)} req/s  p50 ${r.p50} ms  p99 ${r.p99} ms`,
      )
    }
  }
  client.close()
  const summary = {}
  for (const kind of ['gateway', 'direct']) {
    const rs = results[kind]
    summary[kind] = {
      rps: median(rs.map((r) => r.rps)),
      p50: median(rs.map((r) => r.p50)),
      p99: median(rs.map((r) => r.p99)),
      gatewayCpuUs: median(rs.map((r) => r.gatewayCpuUs)),
      upstreamCpuUs: median(rs.map((r) => r.upstreamCpuUs)),
      clientCpuUs: median(rs.map((r) => r.clientCpuUs)),
      failures: rs.reduce((n, r) => n + r.failures, 0),
    }
  }
  const ratio = summary.gateway.rps / summary.direct.rps
  console.log(
    '\n| case | req/s (median) | vs direct | p50 ms | p99 ms | client CPU µs/req | gateway CPU µs/req | gRPC service CPU µs/req |',
  )
  console.log('| --- | --: | --: | --: | --: | --: | --: | --: |')
  for (const [kind, label] of [
    ['direct', 'direct grpc-js call `GetItem`'],
    ['gateway', 'Gatehouse `GET /v1/items/bk-1` → `GetItem`'],
  ]) {
    const s = summary[kind]
    console.log(
      `| ${label} | ${Math.round(s.rps)} | ${(s.rps / summary.direct.rps).toFixed(2)}× | ${s.p50} | ${s.p99} | ${Number.isFinite(s.clientCpuUs) ? Math.round(s.clientCpuUs) : '–'} | ${kind === 'gateway' ? Math.round(s.gatewayCpuUs) : '–'} | ${Math.round(s.upstreamCpuUs)} |`,
    )
  }
  mkdirSync(join(root, '.bench'), { recursive: true })
  const file = join(root, `.bench/grpc-${new Date().toISOString().replace(/[:.]/g, '-')}.json`)
  writeFileSync(file, JSON.stringify({ options, results, summary, ratio, loadavg: os.loadavg() }, null, 2))
  console.log(`\nresults: ${file}`)
  if (summary.gateway.failures + summary.direct.failures > 0) {
    console.error(`failed requests: gateway ${summary.gateway.failures}, direct ${summary.direct.failures}`)
    process.exitCode = 1
  }
} catch (err) {
  console.error(err)
  process.exitCode = 1
} finally {
  await stopAll()
}
