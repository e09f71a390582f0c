// The edge-protocol benchmark: `node scripts/bench/tls.mjs [--duration 5 --rounds 3 --connections 50 --path /small]`.
//
// One run, loopback only. Starts the bench upstream (upstream.mjs) and three gateways
// (examples/bench-gateway.js: plain HTTP, `--tls`, `--tls --h2`) as separate processes, with a
// certificate made here, then measures each from this process with the same Node client, alternating
// the order each round:
//   - http:  `connections` keep-alive HTTP/1.1 connections, one request in flight on each;
//   - https: the same over TLS (TLS 1.3, resumed nothing: connections are opened once and kept);
//   - h2:    one HTTP/2 session with `connections` streams in flight (what a browser does).
// autocannon speaks neither TLS with a private CA nor HTTP/2, so all three use node:http/https/http2:
// the ratios compare like with like. Reports the median req/s, latency and the CPU each process spent
// per request. Exits 1 on any failed request or a child dying. Needs `npm run build` first.
// Children are killed by PID.
import { mkdirSync, writeFileSync } from 'node:fs'
import http from 'node:http'
import http2 from 'node:http2'
import https from 'node:https'
import { createRequire } from 'node:module'
import os from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { benchFlags, cpuSeconds, median, start as startChild, stopAll } from './children.mjs'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..')
// `selfsigned` is a devDependency of core (its TLS tests use it).
const { generate } = createRequire(join(root, 'packages/core/package.json'))('selfsigned')

const { options, flags } = benchFlags({ path: { type: 'string', default: '/small' } })
const path = flags.path
const start = (name, script, args, env) => startChild(root, name, script, args, env)

// ── clients: each runs `connections` loops with one request in flight, bounded by the clock ────────
/** One request; resolves to true on a 200 with the whole body read. */
function h1Request(agent, mod, url) {
  return new Promise((done) => {
    const req = mod.get(url, { agent }, (res) => {
      res.on('data', () => {})
      res.on('end', () => done(res.statusCode === 200))
      res.on('error', () => done(false))
    })
    req.on('error', () => done(false))
  })
}

function h2Request(session) {
  return new Promise((done) => {
    const stream = session.request({ ':path': path })
    let status = 0
    stream.on('response', (h) => (status = h[':status']))
    stream.on('data', () => {})
    stream.on('end', () => done(status === 200))
    stream.on('error', () => done(false))
    stream.end()
  })
}

async function run(kind, target, ca, seconds) {
  let one
  let cleanup = () => {}
  if (kind === 'h2') {
    // Flow-control windows as browsers open them (Chrome: 6 MiB per stream, 15 MiB per connection);
    // Node's defaults (64 KiB each) would make 50 streams of 64 KiB bodies wait on WINDOW_UPDATEs.
    const session = http2.connect(target.url, {
      ca,
      servername: 'bench.test',
      settings: { initialWindowSize: 6 * 1024 * 1024 },
    })
    session.on('connect', () => session.setLocalWindowSize(15 * 1024 * 1024))
    session.on('error', () => {})
    one = () => h2Request(session)
    cleanup = () => session.close()
  } else {
    const mod = kind === 'https' ? https : http
    const agent = new mod.Agent({
      keepAlive: true,
      maxSockets: options.connections,
      ...(kind === 'https' ? { ca, servername: 'bench.test' } : {}),
    })
    const url = target.url + path
    one = () => h1Request(agent, mod, url)
    cleanup = () => agent.destroy()
  }
  const latencies = []
  let failures = 0
  const until = performance.now() + seconds * 1000
  async function loop() {
    while (performance.now() < until) {
      const began = performance.now()
      if (await one()) latencies.push(performance.now() - began)
      else failures++
    }
  }
  const began = performance.now()
  await Promise.all(Array.from({ length: options.connections }, loop))
  const elapsed = (performance.now() - began) / 1000
  cleanup()
  latencies.sort((a, b) => a - b)
  const pct = (p) =>
    Math.round(
      10 * (latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))] ?? 0),
    ) / 10
  return { requests: latencies.length, rps: latencies.length / elapsed, p50: pct(50), p99: pct(99), failures }
}

async function measure(kind, ctx, seconds) {
  const target = ctx.gateways[kind]
  const before = { gw: cpuSeconds(target.pid), up: cpuSeconds(ctx.upstream.pid), me: process.cpuUsage() }
  const r = await run(kind, target, ctx.ca, seconds)
  const gw = cpuSeconds(target.pid) - before.gw
  const up = cpuSeconds(ctx.upstream.pid) - before.up
  const me = process.cpuUsage(before.me)
  const n = Math.max(1, r.requests)
  return {
    ...r,
    clientCpuUs: (me.user + me.system) / n,
    gatewayCpuUs: (gw * 1e6) / n,
    upstreamCpuUs: (up * 1e6) / n,
  }
}

// ── run ──────────────────────────────────────────────────────────────────────────────────────────
const KINDS = ['http', 'https', 'h2']
try {
  const made = await generate([{ name: 'commonName', value: 'bench.test' }], {
    keyType: 'ec',
    algorithm: 'sha256',
    extensions: [{ name: 'subjectAltName', altNames: [{ type: 2, value: 'bench.test' }] }],
  })
  const tlsEnv = { TLS_CERT: made.cert, TLS_KEY: made.private }
  const upstream = await start('upstream', 'scripts/bench/upstream.mjs', [], {})
  const env = { UPSTREAM_URL: upstream.url, ...tlsEnv }
  const gateways = {
    http: await start('gatehouse', 'examples/bench-gateway.js', [], env),
    https: await start('gatehouse-tls', 'examples/bench-gateway.js', ['--tls'], env),
    h2: await start('gatehouse-h2', 'examples/bench-gateway.js', ['--tls', '--h2'], env),
  }
  const ctx = { upstream, gateways, ca: made.cert }
  console.log(
    `GET ${path}: ${options.rounds} rounds × ${options.duration} s, ${options.connections} concurrent, ${os.cpus().length} CPUs, node ${process.version}`,
  )
  for (const kind of KINDS) await measure(kind, ctx, options.warmup)
  const results = { http: [], https: [], h2: [] }
  for (let round = 0; round < options.rounds; round++) {
    const order = round % 2 === 0 ? KINDS : [...KINDS].reverse()
    for (const kind of order) {
      const r = await measure(kind, ctx, options.duration)
      results[kind].push(r)
      console.log(
        `round ${round + 1} ${kind.padEnd(5)} ${Math.round(r.rps)} req/s  p50 ${r.p50} ms  p99 ${r.p99} ms`,
      )
    }
  }
  const summary = {}
  for (const kind of KINDS) {
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
  console.log(
    `\n| client → gateway (GET ${path}) | req/s (median) | vs http | p50 ms | p99 ms | gateway CPU µs/req | client CPU µs/req | upstream CPU µs/req |`,
  )
  console.log('| --- | --: | --: | --: | --: | --: | --: | --: |')
  const labels = {
    http: 'HTTP/1.1, plain',
    https: 'HTTP/1.1 over TLS (`tls`)',
    h2: 'HTTP/2 over TLS (`tls` + `http2`)',
  }
  for (const kind of KINDS) {
    const s = summary[kind]
    console.log(
      `| ${labels[kind]} | ${Math.round(s.rps)} | ${(s.rps / summary.http.rps).toFixed(2)}× | ${s.p50} | ${s.p99} | ${Math.round(s.gatewayCpuUs)} | ${Math.round(s.clientCpuUs)} | ${Math.round(s.upstreamCpuUs)} |`,
    )
  }
  mkdirSync(join(root, '.bench'), { recursive: true })
  const file = join(root, `.bench/tls-${new Date().toISOString().replace(/[:.]/g, '-')}.json`)
  writeFileSync(file, JSON.stringify({ options, path, results, summary, loadavg: os.loadavg() }, null, 2))
  console.log(`\nresults: ${file}`)
  const failed = KINDS.reduce((n, k) => n + summary[k].failures, 0)
  if (failed > 0) {
    console.error(`failed requests: ${KINDS.map((k) => `${k} ${summary[k].failures}`).join(', ')}`)
    process.exitCode = 1
  }
} catch (err) {
  console.error(err)
  process.exitCode = 1
} finally {
  await stopAll()
}
