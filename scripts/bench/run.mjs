// The Gatehouse benchmark: `npm run bench [-- --quick | --duration 10 --connections 50 --rounds 3]`.
//
// One run, loopback only: starts the upstream (upstream.mjs) and every target gateway as separate
// processes (cases.mjs), then measures each case with a load generator in its own process (wrk when
// installed, else autocannon's CLI; loadgen.mjs), pinned to CPU 0 while the targets are pinned to
// CPU 1 (taskset), so the client never sets the pace by competing with the gateway. Each case is
// warmed up, then measured once per round; rounds alternate the case order (forward, reverse, …) so
// slow drift of this shared machine falls on every target alike; the table shows each case's median.
// Throughput is compared as a ratio to the baseline target (bare Fastify + @fastify/http-proxy) in the
// same run: absolute numbers drift between machines and minutes, ratios much less. The CPU time
// each target process spends per request (from /proc, Linux) is reported too: on a machine shared
// with other work it is steadier than throughput, which depends on what the scheduler gives us.
//
// Exits 1 if any request errored, timed out or got a non-2xx answer, or a target process died.
// Results go to .bench/results-<timestamp>.json. Every child is killed by its PID at the end and on
// SIGINT/SIGTERM.
import { execFileSync, spawn } from 'node:child_process'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import http from 'node:http'
import os from 'node:os'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { cases as allCases, targets } from './cases.mjs'
import { parseFlags } from './flags.mjs'
import { loadGenerator } from './loadgen.mjs'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..')
const HOST = '127.0.0.1'

const USAGE = `usage: npm run bench -- [options]
  --duration <s>      seconds measured per case and round (default 10; --quick: 3)
  --connections <n>   concurrent connections (default 50)
  --rounds <n>        measurements per case, order alternating (default 3; --quick: 1)
  --warmup <s>        seconds of warm-up before each measurement (default 2; --quick: 1)
  --quick             a short smoke run (3 s, 1 round)
  --filter <text>     only cases whose name contains <text>, or any of several comma-separated
                      texts (the baseline for a path always runs)
  --profile           run the gateways under node --cpu-prof (.bench/profiles/; read them with
                      node scripts/bench/profile-top.mjs <file>)
  --rt                run the targets and the load generator with SCHED_RR priority 10 (root;
                      chrt): on a machine busy with other work, keeps them on their cores
  --help`

// ── options ──────────────────────────────────────────────────────────────────────────────────────
const { values: flags } = parseFlags(
  {
    duration: { type: 'string' },
    connections: { type: 'string' },
    rounds: { type: 'string' },
    warmup: { type: 'string' },
    quick: { type: 'boolean', default: false },
    filter: { type: 'string' },
    profile: { type: 'boolean', default: false },
    rt: { type: 'boolean', default: false },
  },
  USAGE,
)
function positive(name, fallback) {
  const raw = flags[name]
  if (raw === undefined) return fallback
  const n = Number(raw)
  if (!Number.isFinite(n) || n <= 0) {
    console.error(`--${name} must be a positive number, got "${raw}"\n${USAGE}`)
    process.exit(2)
  }
  return n
}
const options = {
  duration: positive('duration', flags.quick ? 3 : 10),
  connections: Math.round(positive('connections', 50)),
  rounds: Math.round(positive('rounds', flags.quick ? 1 : 3)),
  warmup: positive('warmup', flags.quick ? 1 : 2),
  filter: flags.filter,
  profile: flags.profile,
  rt: flags.rt,
}

const baseline = Object.values(targets).find((t) => t.baseline)
const filters = options.filter?.split(',').filter(Boolean) ?? []
const matches = (name) => filters.some((f) => name.includes(f))
const cases = allCases.filter(
  (c) => !options.filter || matches(c.name) || (c.target === baseline && selectedPath(c.path)),
)
function selectedPath(path) {
  return allCases.some((c) => c.path === path && matches(c.name))
}
if (cases.length === 0) {
  console.error(`no case matches --filter "${options.filter}"`)
  process.exit(2)
}

// ── child processes ──────────────────────────────────────────────────────────────────────────────
/** @type {Map<number, {name: string, child: import('node:child_process').ChildProcess}>} */
const children = new Map()
let stopping = false
let childFailure

let gen
try {
  gen = loadGenerator({ root, connections: options.connections, rt: options.rt, timeout: 10 })
} catch (err) {
  console.error(`${err.message}\n${USAGE}`)
  process.exit(2)
}

/**
 * Starts `node script`, waits for its `listening on http://127.0.0.1:<port>` line: {url, pid}.
 * Gateways (`pin`) run on CPU 1, away from the load generator; upstreams are not pinned.
 */
function startProcess(name, script, { args = [], nodeArgs = [], env = {}, pin = false } = {}) {
  const argv = [...gen.rtPrefix, ...(pin ? gen.pinProxy : []), process.execPath, ...nodeArgs]
  const child = spawn(argv[0], [...argv.slice(1), join(root, script), ...args], {
    cwd: root,
    env: { ...process.env, ...env, HOST, PORT: '0', NODE_ENV: 'production' },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  children.set(child.pid, { name, child })
  let out = ''
  let err = ''
  return new Promise((resolveUrl, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} did not start within 30 s\n${err}`)), 30_000)
    child.stdout.on('data', (chunk) => {
      if (out.length < 10_000) out += chunk
      const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out)
      if (m) {
        clearTimeout(timer)
        resolveUrl({ url: m[1], pid: child.pid })
      }
    })
    child.stderr.on('data', (chunk) => {
      if (err.length < 10_000) err += chunk
    })
    child.on('exit', (code, signal) => {
      children.delete(child.pid)
      clearTimeout(timer)
      if (stopping) return
      const why = `${name} (pid ${child.pid}) exited early: code ${code}, signal ${signal}\n${err.trim()}`
      childFailure ??= why
      reject(new Error(why))
    })
    console.log(`started ${name} (pid ${child.pid})`)
  })
}

/** SIGTERM each child by PID, then SIGKILL what is still there after 5 s. */
async function stopAll() {
  stopping = true
  const waits = []
  for (const [pid, { name, child }] of children) {
    waits.push(
      new Promise((done) => {
        if (child.exitCode !== null || child.signalCode !== null) return done()
        const force = setTimeout(() => {
          try {
            process.kill(pid, 'SIGKILL')
          } catch {}
        }, 5_000)
        child.once('exit', () => {
          clearTimeout(force)
          console.log(`stopped ${name} (pid ${pid})`)
          done()
        })
        try {
          process.kill(pid, 'SIGTERM')
        } catch {
          clearTimeout(force)
          done()
        }
      }),
    )
  }
  await Promise.all(waits)
}

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    console.error(`\n${signal}: stopping the benchmark`)
    stopAll().finally(() => process.exit(130))
  })
}
// Last resort if the runner itself crashes: no child outlives it.
process.on('exit', () => {
  for (const pid of children.keys()) {
    try {
      process.kill(pid, 'SIGKILL')
    } catch {}
  }
})

// ── measuring ────────────────────────────────────────────────────────────────────────────────────
/** One plain GET through node:http: proves a target answers 2xx with the same body as the upstream. */
function probe(url) {
  return new Promise((done, fail) => {
    const req = http.get(url, { agent: false, timeout: 5_000 }, (res) => {
      let bytes = 0
      res.on('data', (c) => (bytes += c.length))
      res.on('end', () => done({ status: res.statusCode, bytes }))
      res.on('error', fail)
    })
    req.on('timeout', () => req.destroy(new Error(`timeout: ${url}`)))
    req.on('error', fail)
  })
}

/** Requests each target has served (warm-ups included), to turn a CPU profile into time per request. */
const served = new Map()

async function load(target, url, request, duration) {
  const result = await gen.load(url, duration, request)
  served.set(target, (served.get(target) ?? 0) + result.requests)
  return result
}

function problems(result) {
  return {
    errors: result.errors,
    timeouts: result.timeouts,
    non2xx: result.non2xx,
    requests: result.requests,
  }
}
function hasProblems(p) {
  return p.errors + p.timeouts + p.non2xx > 0 || p.requests === 0
}

/** user + system CPU seconds a process has used so far (Linux /proc); undefined elsewhere. */
function cpuSeconds(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS
  } catch {
    return undefined
  }
}
const CLOCK_TICKS = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100
  } catch {
    return 100
  }
})()

function median(xs) {
  const s = [...xs].sort((a, b) => a - b)
  const mid = s.length >> 1
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2
}

function loadavg() {
  return os.loadavg().map((x) => Math.round(x * 100) / 100)
}

async function main() {
  const started = new Date()
  const stamp = started.toISOString().replace(/[:.]/g, '-')
  const machine = {
    cpus: os.cpus().length,
    model: os.cpus()[0]?.model,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    platform: `${os.platform()} ${os.release()}`,
    loadavgAtStart: loadavg(),
  }
  const profileDir = join(root, '.bench', 'profiles')
  if (options.profile) mkdirSync(profileDir, { recursive: true })

  const upstream = await startProcess('upstream', 'scripts/bench/upstream.mjs')
  const upstreamUrl = upstream.url
  // A target that balances over several upstreams (`upstreams: n`) gets n of them in UPSTREAM_URLS.
  const upstreamUrls = [upstreamUrl]
  const most = Math.max(1, ...cases.map((c) => c.target.upstreams ?? 1))
  for (let i = 2; i <= most; i++)
    upstreamUrls.push((await startProcess(`upstream-${i}`, 'scripts/bench/upstream.mjs')).url)
  /** @type {Map<object, {url: string, pid: number}>} target → its process */
  const procs = new Map()
  const needed = new Set(cases.map((c) => c.target))
  await Promise.all(
    [...needed].map(async (t) => {
      if (t.direct) return procs.set(t, upstream)
      const nodeArgs = [...(t.nodeArgs ?? [])]
      if (options.profile) {
        const name = `${t.name}-${stamp}.cpuprofile`
        nodeArgs.push('--cpu-prof', `--cpu-prof-dir=${profileDir}`, `--cpu-prof-name=${name}`)
      }
      const proc = await startProcess(t.name, t.script, {
        args: t.args,
        nodeArgs,
        pin: true,
        env: {
          ...t.env,
          UPSTREAM_URL: upstreamUrl,
          UPSTREAM_URLS: upstreamUrls.slice(0, t.upstreams ?? 1).join(','),
        },
      })
      procs.set(t, proc)
    }),
  )

  for (const c of cases) {
    const expected = await probe(upstreamUrl + c.path)
    const got = c.request ? undefined : await probe(procs.get(c.target).url + c.path)
    // A case whose gateway rewrites the body (a transformer) names the size it must come back with.
    const bytes = c.expectBytes ?? expected.bytes
    if (got && (got.status < 200 || got.status > 299 || got.bytes !== bytes)) {
      throw new Error(
        `${c.name}: probe got ${got.status} with ${got.bytes} bytes; expected ${bytes} (the upstream sends ${expected.status} with ${expected.bytes})`,
      )
    }
  }

  const total = cases.length * (options.rounds * (options.duration + options.warmup) + options.warmup)
  console.log(
    `\n${cases.length} cases × ${options.rounds} round(s), ${options.duration} s each after ${options.warmup} s warm-up, ` +
      `${options.connections} connections: about ${Math.ceil(total / 60)} min\n`,
  )

  const runs = new Map(cases.map((c) => [c, []]))
  let failed = false
  // One warm-up pass over every case first (JIT, connection pools), so round 1 is not the cold one.
  for (const c of cases) {
    const warm = await load(c.target, procs.get(c.target).url + c.path, c.request, options.warmup)
    if (hasProblems(problems(warm))) {
      failed = true
      console.log(`warm-up  ${c.name}: ${JSON.stringify(problems(warm))}  ← ERRORS`)
    }
  }
  for (let round = 0; round < options.rounds; round++) {
    const order = round % 2 === 0 ? cases : [...cases].reverse()
    for (const c of order) {
      if (childFailure) throw new Error(childFailure)
      const { url: base, pid } = procs.get(c.target)
      const url = base + c.path
      const warm = await load(c.target, url, c.request, options.warmup)
      const cpuBefore = cpuSeconds(pid)
      const r = await load(c.target, url, c.request, options.duration)
      const cpuAfter = cpuSeconds(pid)
      const p = problems(r)
      const wp = problems(warm)
      const run = {
        round: round + 1,
        rps: r.rps,
        p50: r.p50,
        p99: r.p99,
        bytesPerSec: r.bytesPerSec,
        // CPU the target process spent per request: robust to this shared machine's scheduling noise.
        cpuUsPerReq: cpuBefore === undefined ? undefined : ((cpuAfter - cpuBefore) * 1e6) / r.requests,
        requests: r.requests,
        ...p,
        warmup: wp,
      }
      runs.get(c).push(run)
      const flag = hasProblems(p) || hasProblems(wp) ? '  ← ERRORS' : ''
      if (flag) failed = true
      console.log(
        `round ${round + 1}  ${c.name.padEnd(26)} ${fmt(run.rps).padStart(9)} req/s  ` +
          `p50 ${run.p50} ms  p99 ${run.p99} ms` +
          (run.cpuUsPerReq === undefined ? '' : `  ${run.cpuUsPerReq.toFixed(0)} µs CPU/req`) +
          flag,
      )
    }
  }
  if (childFailure) throw new Error(childFailure)

  // Ratios: the median of a case's req/s over the median of the baseline's for the same path, plus
  // the per-round ratios (adjacent measurements, so the spread shows how noisy the run was).
  const results = cases.map((c) => {
    const rs = runs.get(c)
    const base = cases.find((b) => b.target === baseline && b.path === c.path)
    const brs = base ? runs.get(base) : undefined
    const med = {
      rps: median(rs.map((r) => r.rps)),
      p50: median(rs.map((r) => r.p50)),
      p99: median(rs.map((r) => r.p99)),
      bytesPerSec: median(rs.map((r) => r.bytesPerSec)),
      cpuUsPerReq: rs[0].cpuUsPerReq === undefined ? undefined : median(rs.map((r) => r.cpuUsPerReq)),
    }
    const baseRps = brs ? median(brs.map((r) => r.rps)) : undefined
    const baseCpu = brs?.[0].cpuUsPerReq === undefined ? undefined : median(brs.map((r) => r.cpuUsPerReq))
    return {
      name: c.name,
      target: c.target.name,
      path: c.path,
      median: med,
      ratio: baseRps ? med.rps / baseRps : undefined,
      cpuRatio: baseCpu && med.cpuUsPerReq !== undefined ? med.cpuUsPerReq / baseCpu : undefined,
      roundRatios: brs ? rs.map((r, i) => r.rps / brs[i].rps) : undefined,
      runs: rs,
    }
  })

  printTable(results)
  const report = {
    startedAt: started.toISOString(),
    finishedAt: new Date().toISOString(),
    command: ['npm run bench', ...(process.argv.length > 2 ? ['--', ...process.argv.slice(2)] : [])].join(
      ' ',
    ),
    options,
    loadGenerator: { name: gen.name, pinned: gen.pinProxy.length > 0, rt: gen.rt },
    baseline: baseline.name,
    machine: { ...machine, loadavgAtEnd: loadavg() },
    requestsServed: Object.fromEntries([...served].map(([t, n]) => [t.name, n])),
    results,
  }
  const dir = join(root, '.bench')
  mkdirSync(dir, { recursive: true })
  const file = join(dir, `results-${stamp}.json`)
  writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`)
  console.log(`\nresults: ${relative(root, file)}`)
  if (options.profile) {
    console.log('profiles (written as the targets stop); to see the top functions in µs per request:')
    for (const [t, n] of served) {
      if (t.direct) continue
      console.log(
        `  node scripts/bench/profile-top.mjs ${relative(root, profileDir)}/${t.name}-${stamp}.cpuprofile 30 ${n}`,
      )
    }
  }
  if (failed)
    console.error('\nFAILED: some requests errored, timed out or got a non-2xx answer (see ← ERRORS)')
  return failed ? 1 : 0
}

function fmt(n) {
  return Math.round(n).toLocaleString('en-US')
}

function printTable(results) {
  const rows = [
    [
      'target',
      'path',
      'req/s',
      'p50 ms',
      'p99 ms',
      'MB/s',
      `req/s vs ${baseline.name}`,
      'per round',
      'CPU µs/req',
      'CPU/req vs',
    ],
  ]
  for (const r of results) {
    rows.push([
      r.target,
      r.path,
      fmt(r.median.rps),
      String(r.median.p50),
      String(r.median.p99),
      (r.median.bytesPerSec / 1e6).toFixed(1),
      r.ratio === undefined ? '' : `${r.ratio.toFixed(2)}×`,
      r.roundRatios?.map((x) => x.toFixed(2)).join(' ') ?? '',
      r.median.cpuUsPerReq === undefined ? '' : r.median.cpuUsPerReq.toFixed(0),
      r.cpuRatio === undefined ? '' : `${r.cpuRatio.toFixed(2)}×`,
    ])
  }
  const widths = rows[0].map((_, i) => Math.max(...rows.map((row) => row[i].length)))
  const line = (row) =>
    `| ${row.map((cell, i) => (i < 2 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join(' | ')} |`
  console.log(
    `\nmedian of ${options.rounds} round(s), ${options.duration} s each, ${options.connections} connections, ` +
      `${gen.name}${gen.pinProxy.length ? ' on CPU 0, gateways on CPU 1' : ''}${gen.rt ? ', SCHED_RR' : ''}`,
  )
  console.log(line(rows[0]))
  console.log(`|${widths.map((w, i) => (i < 2 ? `-${'-'.repeat(w)}-` : `-${'-'.repeat(w)}:`)).join('|')}|`)
  for (const row of rows.slice(1)) console.log(line(row))
}

let code = 1
try {
  code = await main()
} catch (err) {
  console.error(`\nbenchmark failed: ${err.message}`)
} finally {
  await stopAll()
}
process.exit(code)
