// What a response costs as its body grows (issue 18): `npm run bench:bodies [-- options]`.
//
// One origin (nginx serving files when installed, else scripts/bench/origin.mjs; --origin picks),
// bodies of 100 B, 4 KiB, 64 KiB, 1 MiB and 10 MiB, and every proxy installed on this machine in
// front of it: Gatehouse, Fastify + @fastify/http-proxy, fast-gateway, a bare node:http proxy (the Node floor),
// nginx, HAProxy and Caddy. The load generator is wrk in its own process (autocannon's CLI when wrk
// is missing), pinned to CPU 0 with the origin while the proxy under test is pinned to CPU 1
// (taskset), so the client never sets the pace by competing with the proxy, and nothing else runs on
// the proxy's core. For each size and round every target is measured
// in turn, the order reversing each round so drift falls on all alike; each figure is the median of
// the rounds with its range. CPU µs per response is the user + system time the proxy's processes
// used (/proc) over the responses wrk counted: steadier than req/s on a shared machine.
//
// Results go to .bench/bodies-<timestamp>.json; `node scripts/bench/plot.mjs <file>` draws them.
// Every process started is stopped by its PID at the end and on Ctrl-C.
import { execFileSync, spawn } from 'node:child_process'
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseFlags } from './flags.mjs'
import { loadGenerator, which } from './loadgen.mjs'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..')
const SIZES = { 100: 100, '4k': 4096, '64k': 65536, '1m': 1048576, '10m': 10485760 }
const ORIGINS = ['nginx', 'file', 'segments', 'chunked', 'gzip']
const ALL_TARGETS = ['gatehouse', 'fastify-proxy', 'fast-gateway', 'node-proxy', 'nginx', 'haproxy', 'caddy']

const USAGE = `usage: npm run bench:bodies -- [options]
  --origin <kind>     nginx (default when installed) | file | segments | chunked | gzip
                      (scripts/bench/origin.mjs: a file stream, 1 KiB TCP segments, chunked, gzip)
  --sizes <list>      body sizes, of ${Object.keys(SIZES).join(',')} (default all)
  --targets <list>    of ${ALL_TARGETS.join(',')} (default: those installed)
  --before <dir>      also run <dir>/examples/bench-gateway.js as gatehouse-before (another checkout
                      with its packages built): before/after figures from the same run
  --duration <s>      seconds measured per target, size and round (default 5)
  --warmup <s>        warm-up per measurement (default 1)
  --warmup-first <s>  warm-up of every target before the first size is measured (default 8)
  --rounds <n>        rounds, order alternating (default 3)
  --connections <n>   keep-alive connections (default 50)
  --origin-cpu <where> client: the origin runs on the load generator's CPU (0), so the proxy's CPU
                      is its own; any: the scheduler places it (default client)
  --rt                run proxies and wrk with SCHED_RR priority 10 (root; chrt): on a machine busy
                      with other work, this is what keeps them on their cores
  --node-gc <mode>    default: every Node proxy with V8's own garbage-collector threads; single:
                      with --single-threaded-gc, one core's worth of threads (as Caddy's GOMAXPROCS=1)
  --upload            the bodies go the other way: each size is POSTed through the proxy to the Node
                      origin, which reads it through and answers its length (default --origin file;
                      nginx cannot be the origin)
  --help`

const { values: flags } = parseFlags(
  {
    origin: { type: 'string' },
    sizes: { type: 'string' },
    targets: { type: 'string' },
    before: { type: 'string' },
    duration: { type: 'string', default: '5' },
    warmup: { type: 'string', default: '1' },
    'warmup-first': { type: 'string', default: '8' },
    rounds: { type: 'string', default: '3' },
    connections: { type: 'string', default: '50' },
    'origin-cpu': { type: 'string', default: 'client' },
    rt: { type: 'boolean', default: false },
    'node-gc': { type: 'string', default: 'default' },
    upload: { type: 'boolean', default: false },
  },
  USAGE,
)
if (!['default', 'single'].includes(flags['node-gc'])) fail('--node-gc must be default or single')
/** V8 flags of every Node proxy: none, or a collector that keeps to the proxy's one core. */
const nodeFlags = flags['node-gc'] === 'single' ? ['--single-threaded-gc'] : []
const duration = Number(flags.duration)
const warmup = Number(flags.warmup)
const warmupFirst = Number(flags['warmup-first'])
const rounds = Math.round(Number(flags.rounds))
const connections = Math.round(Number(flags.connections))
for (const [k, v] of Object.entries({ duration, warmup, 'warmup-first': warmupFirst, rounds, connections })) {
  if (!Number.isFinite(v) || v <= 0) fail(`--${k} must be a positive number`)
}

function fail(msg) {
  console.error(msg)
  process.exit(2)
}
const has = { nginx: which('nginx'), haproxy: which('haproxy'), caddy: which('caddy') }
const upload = flags.upload
const originKind = flags.origin ?? (has.nginx && !upload ? 'nginx' : 'file')
if (!ORIGINS.includes(originKind)) fail(`--origin must be one of ${ORIGINS.join(', ')}`)
if (upload && originKind === 'nginx')
  fail('--upload needs the Node origin (--origin file): nginx does not read bodies')
if (originKind === 'nginx' && !has.nginx) fail('--origin nginx: nginx is not installed')
if (!['client', 'any'].includes(flags['origin-cpu'])) fail('--origin-cpu must be client or any')
const sizes = (flags.sizes ?? Object.keys(SIZES).join(',')).split(',')
for (const s of sizes) if (!(s in SIZES)) fail(`unknown size ${s}`)
const wanted = (flags.targets ?? ALL_TARGETS.join(',')).split(',')
for (const t of wanted) if (!ALL_TARGETS.includes(t)) fail(`unknown target ${t}`)
const targetNames = wanted.filter((t) => !(t in has) || has[t])
if (flags.before) targetNames.splice(1, 0, 'gatehouse-before')

// ── the load generator (loadgen.mjs: wrk or autocannon's CLI in its own process, pinned) ──────────
const started = []
let gen
try {
  gen = loadGenerator({ root, connections, rt: flags.rt, onSpawn: (child) => started.push(child) })
} catch (err) {
  fail(err.message)
}
const { pinClient, pinProxy, rtPrefix } = gen
/** With --upload, the request of each size: a POST of that many bytes (the Lua script holds them). */
const uploads = new Map()
function uploadOf(url) {
  const size = url.slice(url.lastIndexOf('/') + 1)
  if (!uploads.has(size)) {
    uploads.set(size, {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream' },
      body: 'u'.repeat(SIZES[size]),
    })
  }
  return uploads.get(size)
}
async function load(url, seconds) {
  const r = await gen.load(url, seconds, upload ? uploadOf(url) : undefined)
  return { ...r, errors: r.errors + r.timeouts }
}

// ── processes ───────────────────────────────────────────────────────────────────────────────────
const work = mkdtempSync(join(os.tmpdir(), 'gatehouse-bodies-'))
// nginx's workers drop root: they must be able to read the origin's files.
chmodSync(work, 0o755)
let stopping = false

function freePort() {
  return new Promise((done) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address()
      s.close(() => done(port))
    })
  })
}

/** Starts a process; resolves once `port` accepts connections. */
async function run(name, cmd, args, { env = {}, port, pin = pinProxy } = {}) {
  const argv = [...rtPrefix, ...pin, cmd, ...args]
  const child = spawn(argv[0], argv.slice(1), {
    cwd: root,
    env: { ...process.env, NODE_ENV: 'production', HOST: '127.0.0.1', PORT: String(port), ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  })
  let err = ''
  child.stderr.on('data', (c) => {
    if (err.length < 10_000) err += c
  })
  child.on('exit', (code, signal) => {
    if (!stopping) {
      console.error(`${name} (pid ${child.pid}) exited: code ${code}, signal ${signal}\n${err}`)
      process.exitCode = 1
    }
  })
  started.push(child)
  for (let i = 0; i < 600; i++) {
    if (await accepts(port)) return { name, pid: child.pid, url: `http://127.0.0.1:${port}` }
    if (child.exitCode !== null) break
    await new Promise((r) => setTimeout(r, 100))
  }
  throw new Error(`${name} did not start\n${err}`)
}
function accepts(port) {
  return new Promise((done) => {
    const s = net.connect(port, '127.0.0.1')
    s.once('connect', () => {
      s.destroy()
      done(true)
    })
    s.once('error', () => done(false))
  })
}
async function stopAll() {
  stopping = true
  for (const child of started) if (child.exitCode === null) child.kill('SIGTERM')
  await new Promise((r) => setTimeout(r, 1500))
  for (const child of started) if (child.exitCode === null) child.kill('SIGKILL')
  rmSync(work, { recursive: true, force: true })
}
process.on('SIGINT', () => stopAll().then(() => process.exit(130)))
process.on('exit', () => {
  for (const child of started) if (child.exitCode === null) child.kill('SIGKILL')
})
process.on('SIGTERM', () => stopAll().then(() => process.exit(143)))

/** A process and its children (nginx's workers): CPU and peak RSS are summed over them. */
function tree(pid) {
  const out = [pid]
  try {
    for (const c of readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/)) {
      if (c) out.push(...tree(Number(c)))
    }
  } catch {}
  return out
}
const TICKS = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100
function cpuSeconds(pids) {
  let sum = 0
  for (const pid of pids) {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    sum += (Number(f[11]) + Number(f[12])) / TICKS
  }
  return sum
}
/**
 * Resets the processes' peak RSS to their current RSS (`/proc/<pid>/clear_refs`, value 5), so that
 * `peakRssMiB` afterwards is the peak of one measurement, not of the whole run. False when the kernel
 * or the permissions refuse it: then the peak is the process's since it started.
 */
function resetPeakRss(pids) {
  try {
    for (const pid of pids) writeFileSync(`/proc/${pid}/clear_refs`, '5')
    return true
  } catch {
    return false
  }
}
function peakRssMiB(pids) {
  let kb = 0
  for (const pid of pids) {
    const m = /VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
    kb += Number(m?.[1] ?? 0)
  }
  return kb / 1024
}

// ── the origin ──────────────────────────────────────────────────────────────────────────────────
function randomFile(size) {
  const buf = Buffer.allocUnsafe(size)
  let x = 0x2545f491
  for (let i = 0; i < size; i++) {
    x ^= x << 13
    x ^= x >>> 17
    x ^= x << 5
    buf[i] = x & 0xff
  }
  return buf
}

/** Where the origin runs: with the load generator (CPU 0) unless `--origin-cpu any`. */
const originPin = flags['origin-cpu'] === 'client' ? pinClient : []

async function startOrigin() {
  const port = await freePort()
  if (originKind !== 'nginx') {
    return run('origin', process.execPath, ['scripts/bench/origin.mjs'], {
      env: { MODE: originKind },
      port,
      pin: originPin,
    })
  }
  const dir = join(work, 'nginx-origin')
  mkdirSync(join(dir, 'www'), { recursive: true })
  for (const [name, size] of Object.entries(SIZES)) writeFileSync(join(dir, 'www', name), randomFile(size))
  writeFileSync(
    join(dir, 'nginx.conf'),
    `worker_processes 1; daemon off; pid ${dir}/nginx.pid; error_log ${dir}/error.log warn;
events { worker_connections 4096; }
http {
  access_log off; sendfile on; tcp_nopush on; keepalive_requests 1000000; keepalive_timeout 65s;
  default_type application/octet-stream;
  server { listen 127.0.0.1:${port}; root ${dir}/www; }
}
`,
  )
  return run('origin (nginx)', has.nginx, ['-c', join(dir, 'nginx.conf'), '-p', dir], {
    port,
    pin: originPin,
  })
}

/** The script a Node proxy runs (`undefined` for the others). */
function nodeScript(name) {
  if (name === 'gatehouse-before') return join(resolve(flags.before), 'examples/bench-gateway.js')
  return {
    gatehouse: 'examples/bench-gateway.js',
    'fastify-proxy': 'scripts/bench/fastify-proxy.mjs',
    'node-proxy': 'scripts/bench/node-proxy.mjs',
    'fast-gateway': 'scripts/bench/fast-gateway.mjs',
  }[name]
}

async function startTarget(name, originUrl) {
  const port = await freePort()
  const env = { UPSTREAM_URL: originUrl }
  const originPort = new URL(originUrl).port
  const script = nodeScript(name)
  if (script !== undefined) return run(name, process.execPath, [...nodeFlags, script], { env, port })
  const dir = join(work, name)
  mkdirSync(dir, { recursive: true })
  if (name === 'nginx') {
    writeFileSync(
      join(dir, 'nginx.conf'),
      `worker_processes 1; daemon off; pid ${dir}/nginx.pid; error_log ${dir}/error.log warn;
events { worker_connections 4096; }
http {
  access_log off; keepalive_requests 1000000;
  upstream origin { server 127.0.0.1:${originPort}; keepalive 128; }
  server {
    listen 127.0.0.1:${port};
    # No cap on request bodies (default 1m): --upload sends up to 10 MiB.
    client_max_body_size 0;
    location / {
      proxy_pass http://origin; proxy_http_version 1.1; proxy_set_header Connection "";
      proxy_buffering off; proxy_buffer_size 64k; proxy_buffers 8 64k; proxy_busy_buffers_size 128k;
    }
  }
}
`,
    )
    return run(name, has.nginx, ['-c', join(dir, 'nginx.conf'), '-p', dir], { port })
  }
  if (name === 'haproxy') {
    writeFileSync(
      join(dir, 'haproxy.cfg'),
      `global
  maxconn 8192
  nbthread 1
defaults
  mode http
  timeout connect 5s
  timeout client 60s
  timeout server 60s
  http-reuse always
frontend in
  bind 127.0.0.1:${port}
  default_backend origin
backend origin
  server o1 127.0.0.1:${originPort}
`,
    )
    return run(name, has.haproxy, ['-f', join(dir, 'haproxy.cfg'), '-db'], { port })
  }
  // Caddy: one core's worth of Go scheduler, like the other single-process proxies here.
  writeFileSync(
    join(dir, 'Caddyfile'),
    `{
  admin off
  auto_https off
}
http://127.0.0.1:${port} {
  reverse_proxy 127.0.0.1:${originPort}
}
`,
  )
  return run(name, has.caddy, ['run', '--config', join(dir, 'Caddyfile'), '--adapter', 'caddyfile'], {
    env: { GOMAXPROCS: '1', HOME: dir, XDG_DATA_HOME: dir, XDG_CONFIG_HOME: dir },
    port,
  })
}

// ── the run ─────────────────────────────────────────────────────────────────────────────────────
const startedAt = new Date()
const machine = {
  cpus: os.cpus().length,
  model: os.cpus()[0]?.model,
  memGiB: Math.round(os.totalmem() / 2 ** 30),
  kernel: os.release(),
  node: process.version,
  loadavgStart: os.loadavg(),
}
const targets = []
try {
  const origin = await startOrigin()
  console.log(`origin: ${originKind} at ${origin.url}; Node proxies' collector: ${flags['node-gc']}`)
  targets.push({ name: 'origin', pid: origin.pid, url: origin.url, direct: true })
  for (const name of targetNames) {
    const t = await startTarget(name, origin.url)
    targets.push(t)
    console.log(`started ${name} (pid ${t.pid}) on ${t.url}`)
  }
} catch (err) {
  console.error(err.message)
  await stopAll()
  process.exit(1)
}
await new Promise((r) => setTimeout(r, 1000))

// { size, target, round, requests, rps, cpuUsPerResponse, p50, peakRssMiB, non2xx, errors }
const results = []
let failed = false
for (const size of sizes) {
  // A Node proxy needs seconds of load before its cost settles (JIT tiers, heap sizing): measured here
  // at 100 B, the first 2 s cost 3x the settled figure and the next 2 s 1.6x. The first size warms
  // every target for --warmup-first seconds; the later ones only briefly, the processes being warm.
  const pass = size === sizes[0] ? warmupFirst : Math.max(1, Math.round(warmup))
  for (const t of targets) await load(`${t.url}/${size}`, pass)
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 === 0 ? targets : [...targets].reverse()
    for (const t of order) {
      const url = `${t.url}/${size}`
      if (warmup > 0) await load(url, Math.max(1, Math.round(warmup)))
      const pids = t.direct ? [] : tree(t.pid)
      const rssReset = !t.direct && resetPeakRss(pids)
      const cpu0 = t.direct ? 0 : cpuSeconds(pids)
      const r = await load(url, duration)
      const cpu = t.direct ? Number.NaN : cpuSeconds(pids) - cpu0
      const row = {
        size,
        target: t.name,
        round,
        requests: r.requests,
        rps: r.requests / duration,
        cpuUsPerResponse: r.requests > 0 ? (cpu * 1e6) / r.requests : Number.NaN,
        p50: r.p50,
        peakRssMiB: rssReset ? peakRssMiB(pids) : Number.NaN,
        non2xx: r.non2xx,
        errors: r.errors,
      }
      if (r.non2xx > 0 || r.errors > 0 || r.requests === 0) failed = true
      results.push(row)
      console.log(
        `${size.padEnd(4)} round ${round + 1} ${t.name.padEnd(16)} ${row.rps.toFixed(0).padStart(6)} req/s` +
          `  ${Number.isFinite(row.cpuUsPerResponse) ? row.cpuUsPerResponse.toFixed(0).padStart(5) : '    -'} µs CPU/resp` +
          `  p50 ${row.p50.toFixed(1)} ms${r.non2xx || r.errors ? `  non-2xx ${r.non2xx} errors ${r.errors}` : ''}`,
      )
    }
  }
}
// Peak RSS over the run: the largest peak of a measurement when the peaks were reset before each one
// (warm-ups then do not count), else the processes' own peak since they started.
const rss = Object.fromEntries(
  targets
    .filter((t) => !t.direct)
    .map((t) => {
      const peaks = results
        .filter((r) => r.target === t.name && Number.isFinite(r.peakRssMiB))
        .map((r) => r.peakRssMiB)
      return [t.name, peaks.length ? Math.max(...peaks) : peakRssMiB(tree(t.pid))]
    }),
)
machine.loadavgEnd = os.loadavg()
await stopAll()

// ── the report ──────────────────────────────────────────────────────────────────────────────────
function median(xs) {
  const s = xs.filter(Number.isFinite).sort((a, b) => a - b)
  if (s.length === 0) return Number.NaN
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2
}
const summary = []
for (const size of sizes) {
  for (const t of targets) {
    const rows = results.filter((r) => r.size === size && r.target === t.name)
    const cpu = rows.map((r) => r.cpuUsPerResponse).filter(Number.isFinite) // no figure when nothing was served
    const rps = rows.map((r) => r.rps)
    const peaks = rows.map((r) => r.peakRssMiB).filter(Number.isFinite)
    summary.push({
      size,
      bytes: SIZES[size],
      target: t.name,
      rps: median(rps),
      rpsMin: Math.min(...rps),
      rpsMax: Math.max(...rps),
      cpu: median(cpu),
      cpuMin: Math.min(...cpu),
      cpuMax: Math.max(...cpu),
      p50: median(rows.map((r) => r.p50)),
      peakRss: median(peaks),
      peakRssMin: peaks.length ? Math.min(...peaks) : Number.NaN,
      peakRssMax: peaks.length ? Math.max(...peaks) : Number.NaN,
    })
  }
}
const floor = (size) => {
  const cpu = summary.find((s) => s.size === size && s.target === 'node-proxy')?.cpu
  return Number.isFinite(cpu) ? cpu : undefined
}
const fmt = (n, d = 0) => (Number.isFinite(n) ? n.toLocaleString('en-US', { maximumFractionDigits: d }) : '—')
const lines = [
  `${upload ? 'uploads (POST) to ' : ''}origin ${originKind}, ${connections} connections, ${rounds} rounds × ${duration} s, ` +
    `${gen.name}${pinProxy.length ? `, proxy on CPU 1, client on CPU 0, origin on ${originPin.length ? 'CPU 0' : 'either'}` : ''}${gen.rt ? ', SCHED_RR' : ''}`,
  '',
  '| size | target | req/s (range) | CPU µs/response (range) | CPU µs per MiB | vs node-proxy | p50 ms | peak RSS MiB (range) |',
  '|---|---|---:|---:|---:|---:|---:|---:|',
]
for (const s of summary) {
  const f = floor(s.size)
  lines.push(
    `| ${s.size} | ${s.target} | ${fmt(s.rps)} (${fmt(s.rpsMin)}–${fmt(s.rpsMax)}) | ` +
      `${fmt(s.cpu)} (${fmt(s.cpuMin)}–${fmt(s.cpuMax)}) | ${fmt((s.cpu * 1048576) / s.bytes)} | ` +
      `${f && Number.isFinite(s.cpu) ? `${(s.cpu / f).toFixed(2)}×` : '—'} | ${fmt(s.p50, 1)} | ` +
      `${Number.isFinite(s.peakRss) ? `${fmt(s.peakRss)} (${fmt(s.peakRssMin)}–${fmt(s.peakRssMax)})` : '—'} |`,
  )
}
lines.push(
  '',
  `peak RSS over the run (MiB): ${Object.entries(rss)
    .map(([name, mib]) => `${name} ${fmt(mib)}`)
    .join(', ')}`,
)
console.log(`\n${lines.join('\n')}`)
mkdirSync(join(root, '.bench'), { recursive: true })
const file = join(root, '.bench', `bodies-${startedAt.toISOString().replace(/[:.]/g, '-')}.json`)
writeFileSync(
  file,
  JSON.stringify(
    {
      startedAt,
      origin: originKind,
      direction: upload ? 'upload' : 'download',
      originCpu: flags['origin-cpu'],
      connections,
      rounds,
      duration,
      warmup,
      warmupFirst,
      rt: gen.rt,
      nodeGc: flags['node-gc'],
      machine,
      rss,
      results,
      summary,
    },
    null,
    2,
  ),
)
console.log(`\nresults: ${file}\nplot:    node scripts/bench/plot.mjs ${file}`)
if (failed) {
  console.error('some requests failed (non-2xx, socket errors or none served)')
  process.exitCode = 1
}
