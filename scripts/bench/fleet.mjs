// The fleet configuration plane (docs/fleet.md): `node scripts/bench/fleet.mjs [--nodes 3,8 --applies 20
// --duration 5 --rounds 3 --connections 50 --warmup 2 --max-seconds 900]`.
//
// 1. Apply-to-convergence: a real redis-server on loopback (no persistence) and N nodes started by the
//    CLI (`gatehouse start --store`, default --poll 2s, so the stream is what makes them prompt). Each of
//    `--applies` applies publishes a config whose response-transformer adds `x-fleet-version: vK`; the
//    runner polls every node every 10 ms (keep-alive) from just before `gatehouse apply` runs. The
//    latency of one apply is from the publish (the ms of its stream entry id: Redis's clock, this
//    machine's clock) to the moment the LAST node answers with the new version. Reports p50/p99/max
//    over the applies per fleet size, and how long the `gatehouse apply` command itself took.
// 2. Per-request cost: the same config served by `gatehouse start <file>` and by a node under `--store`,
//    each pinned to CPU 1 (taskset) with the load generator (scripts/bench/loadgen.mjs: wrk, or
//    autocannon's CLI, in its own process) pinned to CPU 0, rounds alternating which goes first, and
//    `--warmup` seconds of load before every measurement (a node's first seconds are JIT warm-up).
//    Reports the median req/s, p50/p99 and gateway CPU µs per request (/proc), and the ratio
//    store/file: a node does no Redis work per request, so the ratio should be 1 within the noise.
// Exits 1 when an apply did not converge in 10 s, a request failed, or a child died; every child (redis,
// upstream, nodes) is stopped by PID, also on Ctrl-C. Needs `npm run build` and redis-server.
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import os from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { benchFlags, cpuSeconds, median } from './children.mjs'
import { loadGenerator } from './loadgen.mjs'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..')
const BIN = join(root, 'packages/cli/bin/gatehouse.js')
const { Redis } = createRequire(join(root, 'packages/cli/package.json'))('ioredis')
const { startRedis } = await import(join(root, 'packages/sdk/dist/testing.js'))

const { options, flags } = benchFlags({
  nodes: { type: 'string', default: '3,8' },
  applies: { type: 'string', default: '20' },
  'max-seconds': { type: 'string', default: '900' },
})
const sizes = flags.nodes.split(',').map(Number)
const applies = Math.round(Number(flags.applies))
const maxSeconds = Number(flags['max-seconds'])
if (sizes.some((n) => !Number.isInteger(n) || n < 1 || n > 32) || !(applies > 0) || !(maxSeconds > 0)) {
  console.error('--nodes takes sizes from 1 to 32 (e.g. 3,8); --applies and --max-seconds positive numbers')
  process.exit(2)
}
const KEY = 'bench-fleet-signing-key-0123456789abcdef'
const CONVERGE_MS = 10_000

const children = new Map()
/** PIDs this script stopped on purpose: their exit is not a failure. */
const stopped = new Set()
let stopping = false
const dir = mkdtempSync(join(os.tmpdir(), 'gatehouse-bench-fleet-'))
const env = {
  ...process.env,
  GATEHOUSE_CONFIG_KEY: KEY,
  GATEHOUSE_LOG_LEVEL: 'warn',
  GATEHOUSE_LOG_FORMAT: 'json',
  NODE_ENV: 'production',
}

/** Starts a command and resolves `{ url, pid }` once it prints `listening on <url>` (stdout or stderr). */
function startListening(name, argv, extraEnv = {}) {
  const [cmd, ...args] = argv
  const child = spawn(cmd, args, {
    cwd: dir,
    env: { ...env, ...extraEnv },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  children.set(child.pid, child)
  let out = ''
  return new Promise((resolveStart, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} did not start within 60 s\n${out}`)), 60_000)
    const onData = (c) => {
      if (out.length < 20_000) out += c
      const m = /listening on (http:\/\/[^\s,]+)/.exec(out)
      if (m) {
        clearTimeout(timer)
        resolveStart({ url: m[1], pid: child.pid, name })
      }
    }
    child.stdout.on('data', onData)
    child.stderr.on('data', onData)
    child.on('exit', (code, signal) => {
      children.delete(child.pid)
      clearTimeout(timer)
      if (!stopping && !stopped.has(child.pid)) {
        console.error(`${name} (pid ${child.pid}) exited: code ${code}, signal ${signal}\n${out}`)
        process.exitCode = 1
        reject(new Error(`${name} died`))
      }
    })
  })
}

function stopChild(pid) {
  const child = children.get(pid)
  if (!child) return Promise.resolve()
  stopped.add(pid)
  return new Promise((done) => {
    const force = setTimeout(() => child.kill('SIGKILL'), 5000)
    child.once('exit', () => {
      clearTimeout(force)
      children.delete(pid)
      done()
    })
    child.kill('SIGTERM')
  })
}

/** The redis-server (the SDK test kit's startRedis: loopback, a free port, no persistence). */
let redis

async function stopAll() {
  stopping = true
  await Promise.all([...children.keys()].map(stopChild))
  await redis?.stop()
}
process.on('exit', () => {
  for (const child of children.values()) child.kill('SIGKILL')
  void redis?.stop()
})
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    console.error(`${signal}: stopping every child`)
    void stopAll().finally(() => process.exit(130))
  })
}

function configText(upstream, version) {
  return `services:
  - name: bench
    url: ${upstream}
    routes:
      - name: small
        paths: [/small]
        stripPath: false
plugins:
  - name: response-transformer
    config:
      add:
        headers:
          x-fleet-version: ${JSON.stringify(version)}
`
}

/** Runs the CLI to completion, asynchronously: the pollers keep running while `apply` does. */
function cli(args) {
  const t0 = performance.now()
  return new Promise((resolveRun, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: dir,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => {
      stdout += d
    })
    child.stderr.on('data', (d) => {
      stderr += d
    })
    children.set(child.pid, child)
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000)
    child.on('exit', (code) => {
      children.delete(child.pid)
      clearTimeout(timer)
      if (code === 0) resolveRun({ ms: performance.now() - t0, stdout })
      else reject(new Error(`gatehouse ${args.join(' ')} failed (${code}): ${stderr}`))
    })
  })
}

function percentile(xs, p) {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]
}

/** Polls `url` every 10 ms until it answers with `x-fleet-version: version`; resolves the time (ms epoch). */
async function seen(url, version, deadline) {
  for (;;) {
    try {
      const res = await fetch(`${url}/small`)
      await res.arrayBuffer()
      if (res.headers.get('x-fleet-version') === version) return Date.now()
    } catch {
      // A refused poll is retried: convergence is what is measured here.
    }
    if (Date.now() > deadline) return undefined
    await new Promise((r) => setTimeout(r, 10))
  }
}

async function convergence(redisUrl, upstream, size, deadline) {
  const prefix = `bench${size}:`
  let version = 0
  const apply = (v) => {
    const file = join(dir, `fleet-${size}-${v}.yaml`)
    writeFileSync(file, configText(upstream, `v${v}`))
    return cli(['apply', file, '--store', redisUrl, '--message', `bench ${v}`])
  }
  // Each fleet size has its own store (a key prefix is not a CLI flag): flush between sizes.
  const client = new Redis(redisUrl, { maxRetriesPerRequest: 1 })
  await client.flushall()
  await apply(++version)
  const nodes = []
  for (let i = 0; i < size; i++) {
    nodes.push(
      await startListening(`node ${i + 1}/${size}`, [
        process.execPath,
        BIN,
        'start',
        '--store',
        redisUrl,
        '--cache-dir',
        join(dir, `cache-${size}-${i}`),
        '--node-id',
        `${prefix}${i}`,
        '--port',
        '0',
        '--host',
        '127.0.0.1',
      ]),
    )
  }
  for (const n of nodes) {
    if ((await seen(n.url, 'v1', Date.now() + CONVERGE_MS)) === undefined)
      throw new Error(`${n.name} never served v1`)
  }
  const latencies = []
  const applyMs = []
  for (let i = 0; i < applies && Date.now() < deadline; i++) {
    const v = ++version
    const until = Date.now() + 120_000
    const polls = nodes.map((n) => seen(n.url, `v${v}`, until))
    const r = await apply(v)
    applyMs.push(r.ms)
    const [[id]] = await client.xrevrange('{gatehouse:fleet}:events', '+', '-', 'COUNT', 1)
    const published = Number(id.split('-')[0])
    const times = await Promise.all(polls)
    if (times.some((x) => x === undefined || x - published > CONVERGE_MS)) {
      console.error(`apply ${v}: not every node converged within ${CONVERGE_MS} ms`)
      process.exitCode = 1
    }
    const last = Math.max(...times.map((x) => x ?? Number.POSITIVE_INFINITY))
    latencies.push(last - published)
    console.log(
      `${size} nodes, apply ${i + 1}/${applies}: every node serves v${v} ${last - published} ms after the publish`,
    )
  }
  client.disconnect()
  await Promise.all(nodes.map((n) => stopChild(n.pid)))
  return { size, latencies, applyMs }
}

async function perRequestCost(redisUrl, upstream) {
  const gen = loadGenerator({ root, connections: options.connections, timeout: 10 })
  const pinGateway = gen.pinProxy
  /** One measurement: `--warmup` seconds of load first, then `seconds` measured (CPU from /proc). */
  async function measure(g, seconds) {
    await gen.load(`${g.url}/small`, options.warmup)
    const before = cpuSeconds(g.pid)
    const r = await gen.load(`${g.url}/small`, seconds)
    return { ...r, cpu: cpuSeconds(g.pid) - before }
  }
  const client = new Redis(redisUrl, { maxRetriesPerRequest: 1 })
  await client.flushall()
  client.disconnect()
  const file = join(dir, 'cost.yaml')
  writeFileSync(file, configText(upstream, 'cost'))
  await cli(['apply', file, '--store', redisUrl])
  const common = ['--port', '0', '--host', '127.0.0.1']
  const gateways = {
    file: await startListening('node from a file', [
      ...pinGateway,
      process.execPath,
      BIN,
      'start',
      file,
      '--no-watch',
      ...common,
    ]),
    store: await startListening('node under --store', [
      ...pinGateway,
      process.execPath,
      BIN,
      'start',
      '--store',
      redisUrl,
      '--cache-dir',
      join(dir, 'cache-cost'),
      '--node-id',
      'cost',
      ...common,
    ]),
  }
  const results = { file: [], store: [] }
  for (let round = 0; round < options.rounds; round++) {
    for (const name of round % 2 === 0 ? ['file', 'store'] : ['store', 'file']) {
      const r = await measure(gateways[name], options.duration)
      if (r.non2xx > 0 || r.errors > 0 || r.timeouts > 0 || r.requests === 0) {
        console.error(
          `${name}: failed answers (${r.non2xx} non-2xx, ${r.errors} errors, ${r.timeouts} timeouts)`,
        )
        process.exitCode = 1
      }
      const cpuUs = r.requests > 0 ? (r.cpu * 1e6) / r.requests : Number.NaN
      results[name].push({ ...r, cpuUs })
      console.log(
        `round ${round + 1} ${name.padEnd(5)} ${r.rps.toFixed(0).padStart(7)} req/s  p50 ${r.p50.toFixed(2)} ms  p99 ${r.p99.toFixed(2)} ms  ${cpuUs.toFixed(1)} µs CPU/request`,
      )
    }
  }
  const summary = {}
  for (const name of ['file', 'store']) {
    const rs = results[name]
    summary[name] = {
      rps: median(rs.map((r) => r.rps)),
      p50: median(rs.map((r) => r.p50)),
      p99: median(rs.map((r) => r.p99)),
      cpuUs: median(rs.map((r) => r.cpuUs)),
    }
  }
  console.log(
    `\nper-request cost (median of ${options.rounds} rounds, ${gen.name} -c${options.connections} ${options.duration}s after ${options.warmup}s of warm-up each${pinGateway.length ? ', pinned' : ''})`,
  )
  console.log('config from          req/s    p50 ms   p99 ms   µs CPU/request')
  for (const name of ['file', 'store']) {
    const s = summary[name]
    console.log(
      `${(name === 'file' ? 'a file' : '--store').padEnd(14)} ${s.rps.toFixed(0).padStart(10)} ${s.p50.toFixed(2).padStart(8)} ${s.p99.toFixed(2).padStart(8)} ${s.cpuUs.toFixed(1).padStart(10)}`,
    )
  }
  const ratio = (k) => (summary.store[k] / summary.file[k]).toFixed(3)
  console.log(
    `ratio store/file ${ratio('rps').padStart(10)} ${ratio('p50').padStart(8)} ${ratio('p99').padStart(8)} ${ratio('cpuUs').padStart(10)}`,
  )
  await Promise.all(Object.values(gateways).map((g) => stopChild(g.pid)))
}

async function main() {
  const deadline = Date.now() + maxSeconds * 1000
  const guard = setTimeout(() => {
    console.error(`--max-seconds ${maxSeconds} reached: stopping`)
    process.exitCode = 1
    void stopAll().finally(() => process.exit(1))
  }, maxSeconds * 1000)
  guard.unref()
  redis = await startRedis()
  console.log(`redis-server on ${redis.url}; node ${process.version}; ${os.availableParallelism()} CPUs`)
  const upstream = await startListening(
    'upstream',
    [process.execPath, join(root, 'scripts/bench/upstream.mjs')],
    {
      HOST: '127.0.0.1',
      PORT: '0',
    },
  )
  const rows = []
  for (const size of sizes) rows.push(await convergence(redis.url, upstream.url, size, deadline))
  console.log(`\napply-to-convergence (publish → the last node serves the new version), ${applies} applies`)
  console.log('nodes   p50 ms   p99 ms   max ms   `gatehouse apply` p50 ms')
  for (const r of rows) {
    console.log(
      `${String(r.size).padStart(5)} ${percentile(r.latencies, 50).toFixed(0).padStart(8)} ${percentile(r.latencies, 99).toFixed(0).padStart(8)} ${Math.max(
        ...r.latencies,
      )
        .toFixed(0)
        .padStart(8)} ${median(r.applyMs).toFixed(0).padStart(12)}`,
    )
  }
  await perRequestCost(redis.url, upstream.url)
}

main()
  .catch((err) => {
    console.error(err)
    process.exitCode = 1
  })
  .finally(async () => {
    await stopAll()
    rmSync(dir, { recursive: true, force: true })
    process.exit()
  })
