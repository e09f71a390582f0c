// What a proxy keeps in memory and how often it collects garbage (issue 18): `npm run bench:heap`.
//
// Figures that load on the machine disturbs little, for Gatehouse and its Node peers measured by the
// same code: each proxy runs under `node --expose-gc --import scripts/bench/heap-probe.mjs`, and the
// probe reports over IPC
//   - after start: heap used after two forced full GCs, and RSS, before any request
//   - while proxying a fixed number of responses of one size (default 100 × 10 MiB, 4 at a time,
//     after a warm-up): the GCs by kind (scavenges, mark-compacts) and their time, CPU per response
//   - after the run: peak RSS, and the heap used after two forced full GCs.
// The client is this process (node:http, bodies read and counted, not kept); the origin is
// scripts/bench/origin.mjs. Each round starts every proxy afresh, the order reversing each round;
// each figure is the median of the rounds with its range. Results go to .bench/heap-<timestamp>.json.
// Every process started is stopped by its PID at the end and on Ctrl-C (children.mjs).
import { mkdirSync, writeFileSync } from 'node:fs'
import http from 'node:http'
import os from 'node:os'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { median, start, stop, stopAll } from './children.mjs'
import { parseFlags } from './flags.mjs'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..')
const SIZES = { 100: 100, '4k': 4096, '64k': 65536, '1m': 1048576, '10m': 10485760 }
const SCRIPTS = {
  gatehouse: 'examples/bench-gateway.js',
  'fastify-proxy': 'scripts/bench/fastify-proxy.mjs',
  'fast-gateway': 'scripts/bench/fast-gateway.mjs',
  'node-proxy': 'scripts/bench/node-proxy.mjs',
}

const USAGE = `usage: npm run bench:heap -- [options]
  --targets <list>     of ${Object.keys(SCRIPTS).join(',')} (default gatehouse,fastify-proxy)
  --before <dir>       also measure <dir>/examples/bench-gateway.js as gatehouse-before (another
                       checkout with its packages built)
  --size <size>        body size, one of ${Object.keys(SIZES).join(',')} (default 10m)
  --responses <n>      responses measured per proxy and round (default 100)
  --warmup <n>         responses before the counters are zeroed (default 20)
  --connections <n>    requests in flight at once (default 4)
  --rounds <n>         rounds, order alternating (default 3)
  --origin <mode>      scripts/bench/origin.mjs MODE: file | segments | chunked | gzip (default file)
  --help`

const { values: flags } = parseFlags(
  {
    targets: { type: 'string', default: 'gatehouse,fastify-proxy' },
    before: { type: 'string' },
    size: { type: 'string', default: '10m' },
    responses: { type: 'string', default: '100' },
    warmup: { type: 'string', default: '20' },
    connections: { type: 'string', default: '4' },
    rounds: { type: 'string', default: '3' },
    origin: { type: 'string', default: 'file' },
  },
  USAGE,
)
function fail(msg) {
  console.error(`${msg}\n${USAGE}`)
  process.exit(2)
}
const responses = Math.round(Number(flags.responses))
const warmup = Math.round(Number(flags.warmup))
const connections = Math.round(Number(flags.connections))
const rounds = Math.round(Number(flags.rounds))
for (const [k, v] of Object.entries({ responses, connections, rounds })) {
  if (!(v > 0)) fail(`--${k} must be a positive number`)
}
if (!(warmup >= 0)) fail('--warmup must be 0 or more')
if (!(flags.size in SIZES)) fail(`unknown size ${flags.size}`)
if (!['file', 'segments', 'chunked', 'gzip'].includes(flags.origin)) fail(`unknown origin ${flags.origin}`)
const targetNames = flags.targets.split(',')
for (const t of targetNames) if (!(t in SCRIPTS)) fail(`unknown target ${t}`)
if (flags.before) {
  SCRIPTS['gatehouse-before'] = relative(root, join(resolve(flags.before), 'examples/bench-gateway.js'))
  targetNames.splice(1, 0, 'gatehouse-before')
}

// ── processes (children.mjs: started on port 0, stopped by PID) ─────────────────────────────────
process.on('SIGINT', () => stopAll().then(() => process.exit(130)))
process.on('SIGTERM', () => stopAll().then(() => process.exit(143)))

/** Asks the probe inside `child` one question (heap-probe.mjs) and resolves with its answer. */
function ask(child, msg) {
  return new Promise((done, reject) => {
    const timer = setTimeout(() => reject(new Error(`no answer to ${msg.cmd} in 60 s`)), 60_000)
    child.once('message', (answer) => {
      clearTimeout(timer)
      done(answer)
    })
    child.send(msg)
  })
}

// ── the client ──────────────────────────────────────────────────────────────────────────────────
/** GETs `url` `count` times, `connections` at a time over keep-alive; checks every body's length. */
async function fetchMany(url, count, expected) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: connections })
  let next = 0
  let errors = 0
  async function worker() {
    while (next < count) {
      next++
      const ok = await new Promise((done) => {
        const req = http.get(url, { agent }, (res) => {
          let bytes = 0
          res.on('data', (c) => {
            bytes += c.length
          })
          res.on('end', () => done(res.statusCode === 200 && bytes === expected))
          res.on('error', () => done(false))
        })
        req.setTimeout(120_000, () => req.destroy())
        req.on('error', () => done(false))
      })
      if (!ok) errors++
    }
  }
  await Promise.all(Array.from({ length: Math.min(connections, count) }, worker))
  agent.destroy()
  return errors
}

// ── the run ─────────────────────────────────────────────────────────────────────────────────────
const expected = SIZES[flags.size]
const startedAt = new Date()
const results = Object.fromEntries(targetNames.map((t) => [t, []]))
try {
  const origin = await start(root, 'origin', 'scripts/bench/origin.mjs', [], { MODE: flags.origin })
  console.log(
    `origin: ${flags.origin} at ${origin.url}; ${responses} × ${flags.size} per proxy and round, ` +
      `${connections} at a time, after ${warmup}`,
  )
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 ? [...targetNames].reverse() : targetNames
    for (const name of order) {
      // A loaded machine can take many seconds to import a proxy: wait up to two minutes.
      const t = await start(
        root,
        name,
        SCRIPTS[name],
        [],
        { UPSTREAM_URL: origin.url },
        {
          nodeArgs: ['--expose-gc', '--import', './scripts/bench/heap-probe.mjs'],
          ipc: true,
          timeout: 120,
        },
      )
      const idle = await ask(t.child, { cmd: 'sample', gc: true })
      const url = `${t.url}/${flags.size}`
      if (warmup > 0 && (await fetchMany(url, warmup, expected)) > 0)
        throw new Error(`${name}: warm-up failed`)
      await ask(t.child, { cmd: 'reset' })
      const before = await ask(t.child, { cmd: 'sample', gc: false })
      const errors = await fetchMany(url, responses, expected)
      const after = await ask(t.child, { cmd: 'sample', gc: true })
      await stop(t.pid)
      const r = {
        heapAfterStartMiB: idle.afterGc.heapUsedMiB,
        rssAfterStartMiB: idle.afterGc.rssMiB,
        heapTotalAfterStartMiB: idle.afterGc.heapTotalMiB,
        scavenges: after.gcs.scavenge,
        markCompacts: after.gcs.markCompact,
        incrementalMarkings: after.gcs.incremental,
        gcMs: after.gcs.gcMs,
        markCompactMs: after.gcs.markCompactMs,
        cpuMsPerResponse: (after.cpuMs - before.cpuMs) / responses,
        heapAfterRunMiB: after.afterGc.heapUsedMiB,
        peakRssMiB: after.peakRssMiB,
        errors,
      }
      results[name].push(r)
      console.log(
        `round ${round + 1} ${name}: heap ${r.heapAfterStartMiB.toFixed(1)} MiB, RSS ${r.rssAfterStartMiB.toFixed(0)} MiB ` +
          `after start; ${r.scavenges} scavenges, ${r.markCompacts} mark-compacts, GC ${r.gcMs.toFixed(0)} ms, ` +
          `CPU ${r.cpuMsPerResponse.toFixed(1)} ms/response; peak RSS ${r.peakRssMiB.toFixed(0)} MiB` +
          (errors ? `; ${errors} errors` : ''),
      )
    }
  }
} catch (err) {
  console.error(err.message)
  process.exitCode = 1
}
await stopAll()

// ── the report: median (range) of the rounds ────────────────────────────────────────────────────
const COLUMNS = [
  ['heapAfterStartMiB', 'heap after start MiB', 1],
  ['rssAfterStartMiB', 'RSS after start MiB', 0],
  ['scavenges', 'scavenges', 0],
  ['markCompacts', 'mark-compacts', 0],
  ['gcMs', 'GC ms', 0],
  ['cpuMsPerResponse', 'CPU ms/response', 1],
  ['heapAfterRunMiB', 'heap after run MiB', 1],
  ['peakRssMiB', 'peak RSS MiB', 0],
]
const summary = {}
const rows = []
for (const name of targetNames) {
  const runs = results[name]
  if (runs.length === 0) continue
  summary[name] = {}
  const cells = [name]
  for (const [key, , digits] of COLUMNS) {
    const xs = runs.map((r) => r[key])
    summary[name][key] = { median: median(xs), min: Math.min(...xs), max: Math.max(...xs) }
    const f = (x) => x.toFixed(digits)
    cells.push(xs.length > 1 ? `${f(median(xs))} (${f(Math.min(...xs))}–${f(Math.max(...xs))})` : f(xs[0]))
  }
  rows.push(cells)
}
if (rows.length > 0) {
  const head = ['target', ...COLUMNS.map((c) => c[1])]
  console.log(`\n| ${head.join(' | ')} |\n|${head.map((_, i) => (i ? ' ---: ' : ' --- ')).join('|')}|`)
  for (const cells of rows) console.log(`| ${cells.join(' | ')} |`)
  console.log(
    `\n${responses} × ${flags.size} per round, ${connections} at a time; medians (range) of ${rounds} rounds`,
  )
  mkdirSync(join(root, '.bench'), { recursive: true })
  const file = join(root, '.bench', `heap-${startedAt.toISOString().replace(/[:.]/g, '-')}.json`)
  writeFileSync(
    file,
    `${JSON.stringify(
      {
        startedAt,
        options: { ...flags, responses, warmup, connections, rounds },
        machine: { cpus: os.cpus().length, node: process.version, loadavg: os.loadavg() },
        results,
        summary,
      },
      null,
      2,
    )}\n`,
  )
  console.log(`results: ${file}`)
}
