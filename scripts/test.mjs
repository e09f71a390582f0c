#!/usr/bin/env node
// `npm test`: install what is missing, build, then lint, typecheck and every package's tap tests.
// The work runs in `--jobs` lanes (default: one more than the cores, or GATEHOUSE_TEST_JOBS),
// longest first by the times of the last clean-clone run (scripts/test-times.json). A package that
// alone would hold a lane for long (the CLI's, core's) is split by test file into parts, each its
// own tap run, scheduled with everything else, so that no lane waits on one package; tap runs one
// file at a time within a part. A package's output is kept and printed whole (its parts in order)
// once all its parts have ended, so packages never interleave; a line says when each part starts,
// and each package's line its seconds and CPU seconds. Test files load through tsx (esbuild) rather
// than tap's default ts-node, which costs about a CPU-second more per test file.
// `npm test -- <name>…` runs only the packages whose name or folder contains one of the words (lint
// and typecheck always run). Coverage is off unless --coverage. The last line is `N passed, N failed`:
// tests passed and failed, plus one failure for each check or package part that could not run (a
// crashed test file is a failure, never a silent zero). Above it, "Failures:" names each failing
// package, its failing test files and their failing tests (scripts/tap-failures.mjs).
// `--record-times` rewrites scripts/test-times.json from this run: each check's, package's and test
// file's seconds and CPU seconds (of a full run; with package names, only theirs and the checks'
// are replaced).
import { spawn, spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { availableParallelism, tmpdir } from 'node:os'
import { delimiter, dirname, join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { pnpmCommand, root } from './pnpm.mjs'
import { prepare } from './prepare.mjs'
import { ensureNginx, ensureRedisServer } from './redis.mjs'
import { failureLines } from './tap-failures.mjs'
import { cpuSeconds } from './test-cpu.mjs'

const { values: opts, positionals: only } = parseArgs({
  allowPositionals: true,
  options: {
    // One lane more than the cores: a lane spends part of its time waiting (on timers, on the
    // processes a test starts): on two cores the tests of a clean-clone run took about 510 s in three
    // lanes and 590 s in two.
    jobs: { type: 'string', default: process.env.GATEHOUSE_TEST_JOBS ?? String(availableParallelism() + 1) },
    coverage: { type: 'boolean', default: false },
    'record-times': { type: 'boolean', default: false },
  },
})
const jobs = Number(opts.jobs)
if (!Number.isInteger(jobs) || jobs < 1) {
  console.error(`--jobs must be a whole number >= 1 (got ${opts.jobs})`)
  process.exit(2)
}

const packages = []
for (const group of ['packages', 'plugins', 'examples']) {
  const dir = join(root, group)
  if (!existsSync(dir)) continue
  for (const name of readdirSync(dir).sort()) {
    const pj = join(dir, name, 'package.json')
    if (!existsSync(pj)) continue
    const manifest = JSON.parse(readFileSync(pj, 'utf8'))
    if (!manifest.scripts?.test) continue
    const folder = relative(root, join(dir, name))
    if (only.length > 0 && !only.some((w) => manifest.name.includes(w) || folder.includes(w))) continue
    packages.push({ dir: join(dir, name), folder, name: manifest.name, script: manifest.scripts.test })
  }
}
if (only.length > 0 && packages.length === 0) {
  console.error(`no package's name or folder contains ${only.join(', ')}`)
  process.exit(2)
}

await prepare()
ensureRedisServer()
ensureNginx()

/**
 * A tool installed in the workspace, as `[node, its script]`: run straight, without `pnpm exec` or
 * `pnpm run` in front, whose start costs most of a CPU-second each time (two per tap run).
 */
function tool(pkg, bin = pkg) {
  const manifestUrl = import.meta.resolve(`${pkg}/package.json`)
  const { bin: bins } = JSON.parse(readFileSync(new URL(manifestUrl), 'utf8'))
  const script = typeof bins === 'string' ? bins : bins[bin]
  return [process.execPath, join(dirname(fileURLToPath(manifestUrl)), script)]
}
const tap = tool('tap')

/** What `pnpm run` puts in front of PATH: the package's and the workspace's installed bins. */
function pathFor(cwd) {
  return [join(cwd, 'node_modules', '.bin'), join(root, 'node_modules', '.bin'), process.env.PATH].join(
    delimiter,
  )
}

let reaped = cpuSeconds({ self: false })
/**
 * Runs `command` in `cwd`, keeping its output (stdout and stderr, in order) to print whole. `cpu`:
 * the CPU seconds it took with everything it waited for (read as it is reaped; undefined without /proc).
 */
function runBuffered([cmd, ...args], cwd, env = {}) {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, {
      cwd,
      env: { ...process.env, PATH: pathFor(cwd), FORCE_COLOR: '0', ...env },
    })
    let cpu
    child.on('exit', () => {
      // Our children's CPU grows by a child's total when it is reaped, just before its 'exit': the
      // growth since the last part ended is this part's (two parts reaped in the same turn of the event
      // loop would both count for the first: rare).
      const now = cpuSeconds({ self: false })
      if (now !== undefined && reaped !== undefined) cpu = Math.max(0, now - reaped)
      reaped = now
    })
    let out = ''
    const onData = (d) => {
      out += d
    }
    child.stdout.on('data', onData)
    child.stderr.on('data', onData)
    child.on('error', (err) => {
      out += `\n${err.message}\n`
    })
    child.on('close', (code) => resolve({ code: code ?? 1, out, cpu }))
  })
}

// Seconds each check, package and test file took last time (unknown ones: a guess), for the order.
const timesFile = join(root, 'scripts', 'test-times.json')
const times = existsSync(timesFile) ? JSON.parse(readFileSync(timesFile, 'utf8')) : { checks: {}, files: {} }
const NEW_PACKAGE = 30
const NEW_FILE = 10
// What a test file costs beyond its own `# time=` (the process start, the TypeScript loader, imports).
const FILE_START = 3

// Test files load through tsx instead of ts-node (tap's TypeScript plugin steps aside when
// TAP_TYPE_STRIP_ONLY=1 reaches the test process); the plugin set itself is left alone.
const tsx = import.meta.resolve('tsx/esm')
const tapArgs = [
  ...(opts.coverage ? [] : ['--disable-coverage']),
  '--test-env=TAP_TYPE_STRIP_ONLY=1',
  `--node-arg=--import=${tsx}`,
  // Recording: each test file's CPU seconds, appended by the test process as it exits.
  ...(opts['record-times'] ? [`--node-arg=--import=${import.meta.resolve('./test-cpu.mjs')}`] : []),
]
const cpuLogs = opts['record-times'] ? mkdtempSync(join(tmpdir(), 'gatehouse-test-cpu-')) : undefined

const checks = [
  {
    name: 'lint',
    title: 'lint (biome)',
    args: [...tool('@biomejs/biome', 'biome'), 'check', '.'],
    cwd: root,
  },
  {
    name: 'typecheck',
    title: 'typecheck (tsc)',
    args: [...tool('typescript', 'tsc'), '-p', 'tsconfig.json', '--noEmit'],
    cwd: root,
  },
].map((c) => ({ ...c, parts: [{ ...c, estimate: times.checks[c.name] ?? NEW_PACKAGE }] }))

// A lane should not spend more than this on one part: about a quarter of an even share of the work.
const total =
  checks.reduce((sum, c) => sum + c.parts[0].estimate, 0) +
  packages.reduce((sum, p) => sum + (times.checks[p.folder] ?? NEW_PACKAGE), 0)
const partLimit = Math.max(60, total / jobs / 4)

/** The package's test files, as its own tap configuration selects them. */
function testFiles(pkg) {
  const [node, script] = tap
  const r = spawnSync(node, [script, 'list'], { cwd: pkg.dir, encoding: 'utf8' })
  if (r.status !== 0) return undefined
  return r.stdout.split('\n').filter((l) => l.trim() !== '')
}

/**
 * Splits a long package into parts of about `partLimit` seconds: its files, longest first, each to the
 * part with the least so far. Files keep their order within a part. One part (the package's plain tap
 * run) when it is short or its files cannot be listed.
 */
function packageParts(pkg) {
  const estimate = times.checks[pkg.folder] ?? NEW_PACKAGE
  // A test script that is plain `tap` (every package's today) runs tap directly; another, through pnpm.
  if (pkg.script !== 'tap') return [{ args: [...pnpmCommand(), 'run', 'test', ...tapArgs], estimate }]
  const whole = { args: [...tap, ...tapArgs], estimate }
  if (estimate <= partLimit) return [whole]
  const files = testFiles(pkg)
  if (!files || files.length < 2) return [whole]
  const cost = (f) => (times.files[`${pkg.folder}/${f}`] ?? NEW_FILE) + FILE_START
  const sum = files.reduce((s, f) => s + cost(f), 0)
  const count = Math.min(files.length, Math.ceil(estimate / partLimit))
  const parts = Array.from({ length: count }, () => ({ files: [], estimate: 0 }))
  for (const f of [...files].sort((a, b) => cost(b) - cost(a))) {
    const part = parts.reduce((least, p) => (p.estimate < least.estimate ? p : least))
    part.files.push(f)
    part.estimate += (cost(f) / sum) * estimate
  }
  return parts.map((p) => ({
    files: files.filter((f) => p.files.includes(f)),
    args: [...tap, ...tapArgs, ...files.filter((f) => p.files.includes(f))],
    estimate: p.estimate,
  }))
}

const tasks = [
  ...checks,
  ...packages.map((pkg) => {
    const title = `tests: ${pkg.name} (${pkg.folder})`
    const parts = packageParts(pkg).map((part, i, all) => ({
      ...part,
      cwd: pkg.dir,
      title:
        all.length === 1 ? title : `${title}, part ${i + 1} of ${all.length} (${part.files.length} files)`,
    }))
    return { name: pkg.name, folder: pkg.folder, title, parts, tap: true }
  }),
]
let ids = 0
for (const task of tasks) for (const part of task.parts) Object.assign(part, { task, id: ids++ })
// Longest first, so that a long part does not start last.
const queue = tasks.flatMap((t) => t.parts).sort((a, b) => b.estimate - a.estimate)
const started = Date.now()
const seconds = (since) => `${Math.round((Date.now() - since) / 1000)} s`
const cpuNote = (parts) =>
  parts.every((p) => p.cpu !== undefined) ? `, ${Math.round(parts.reduce((s, p) => s + p.cpu, 0))} CPU-s` : ''
const split = tasks.filter((t) => t.parts.length > 1)
console.log(
  `› ${tasks.length} checks and packages in ${queue.length} parts, ${Math.min(jobs, queue.length)} at a time (--jobs)` +
    (split.length
      ? `; split by test file: ${split.map((t) => `${t.name} (${t.parts.length})`).join(', ')}`
      : ''),
)

async function worker() {
  for (let part = queue.shift(); part; part = queue.shift()) {
    const since = Date.now()
    console.log(`  … ${part.title} started (${seconds(started)} in)`)
    const env = cpuLogs ? { GATEHOUSE_TEST_CPU_LOG: join(cpuLogs, `${part.id}.jsonl`) } : {}
    Object.assign(part, await runBuffered(part.args, part.cwd, env), { seconds: (Date.now() - since) / 1000 })
    const task = part.task
    if (task.parts.length > 1)
      console.log(`  … ${part.title}: exit ${part.code} in ${seconds(since)}${cpuNote([part])}`)
    if (!task.parts.every((p) => 'code' in p)) continue
    // The package's last part has ended: its output, whole, parts in order.
    task.code = task.parts.find((p) => p.code !== 0)?.code ?? 0
    const spent = Math.round(task.parts.reduce((s, p) => s + p.seconds, 0))
    const how =
      (task.parts.length > 1 ? `${task.parts.length} parts, ${spent} s in all` : `in ${spent} s`) +
      cpuNote(task.parts)
    console.log(`\n› ${task.title}: exit ${task.code} ${how}`)
    for (const p of task.parts)
      process.stdout.write(p.out.endsWith('\n') || p.out === '' ? p.out : `${p.out}\n`)
  }
}
reaped = cpuSeconds({ self: false })
await Promise.all(Array.from({ length: Math.min(jobs, queue.length) }, worker))

// Counted in the tasks' own order, whatever order they ended in.
let passed = 0
let failed = 0
const problems = []
for (const { name, title, parts, tap } of tasks) {
  if (!tap) {
    if (parts[0].code !== 0) {
      failed++
      problems.push(title)
    }
    continue
  }
  for (const { code, out, title: partTitle } of parts) {
    const label = parts.length > 1 ? partTitle.replace(/^tests: /, '') : name
    const summaries = [...out.matchAll(/^# \{ ([^}]*) \}$/gm)]
    const last = summaries[summaries.length - 1]
    if (!last) {
      failed++
      problems.push(`${label}: no tap summary (exit ${code})`, ...failureLines(out))
      continue
    }
    const counts = Object.fromEntries(last[1].split(',').map((kv) => kv.split(':').map((s) => s.trim())))
    const pass = Number(counts.pass ?? 0)
    const fail = Number(counts.fail ?? 0)
    passed += pass
    failed += fail
    if (fail > 0 || code !== 0) {
      if (fail === 0) failed++
      problems.push(`${label}: ${fail} failed (exit ${code})`, ...failureLines(out))
    }
  }
}

console.log(`\n› all done in ${seconds(started)}`)
if (opts['record-times']) {
  // A full run replaces every time; a run of some packages, theirs (and lint's and typecheck's).
  const record =
    only.length === 0
      ? { '//': times['//'], checks: {}, files: {}, cpu: {} }
      : { ...times, checks: { ...times.checks }, files: { ...times.files }, cpu: { ...times.cpu } }
  for (const task of tasks.filter((t) => t.tap))
    for (const map of [record.files, record.cpu])
      for (const key of Object.keys(map)) if (key.startsWith(`${task.folder}/`)) delete map[key]
  const round = (n) => Math.round(n * 10) / 10
  for (const task of tasks) {
    const key = task.tap ? task.folder : task.name
    record.checks[key] = Math.round(task.parts.reduce((s, p) => s + p.seconds, 0))
    if (task.parts.every((p) => p.cpu !== undefined))
      record.cpu[key] = Math.round(task.parts.reduce((s, p) => s + p.cpu, 0))
    if (!task.tap) continue
    for (const p of task.parts) {
      for (const m of p.out.matchAll(/^(?:not )?ok \d+ - (\S+) # time=([\d.]+)(m?s)/gm))
        record.files[`${task.folder}/${m[1]}`] = round(m[3] === 'ms' ? m[2] / 1000 : Number(m[2]))
      const log = join(cpuLogs, `${p.id}.jsonl`)
      if (!existsSync(log)) continue
      for (const line of readFileSync(log, 'utf8').split('\n')) {
        if (line === '') continue
        const { file, cpu } = JSON.parse(line)
        const key = relative(root, file)
        if (key.startsWith(`${task.folder}/`)) record.cpu[key] = round(cpu)
      }
    }
  }
  rmSync(cpuLogs, { recursive: true, force: true })
  const sorted = (o) => Object.fromEntries(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : 1)))
  writeFileSync(
    timesFile,
    `${JSON.stringify({ ...record, checks: sorted(record.checks), files: sorted(record.files), cpu: sorted(record.cpu) }, null, 2)}\n`,
  )
  console.log(`› times written to ${relative(root, timesFile)}`)
}
// Each package's line is followed by its failing test files and, under each, the failing tests
// (path › assertion (file:line)), so the tail of a CI log says which test failed.
if (problems.length > 0)
  console.log(`Failures:\n${problems.map((p) => (p.startsWith(' ') ? p : `  - ${p}`)).join('\n')}`)
console.log(`${passed} passed, ${failed} failed`)
process.exitCode = failed > 0 ? 1 : 0
