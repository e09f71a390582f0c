#!/usr/bin/env node
// `npm test`: install what is missing, build, then lint, typecheck and every package's tap tests. The
// checks and packages run side by side, at most `--jobs` at a time (default 2, or GATEHOUSE_TEST_JOBS),
// longest first (the CLI's tests, then typecheck, then core); tap runs one package's files one at a
// time on a 2-core machine. Each one's output is kept and printed whole when it ends, so packages never
// interleave; a line says when each starts. `npm test -- <name>…` runs only the packages whose name or
// folder contains one of the words (lint and typecheck always run). Coverage is off unless --coverage.
// The last line is `N passed, N failed`: tests passed and failed, plus one failure for each check or
// package that could not run (a crashed test file is a failure, never a silent zero). Above it,
// "Failures:" names each failing package, its failing test files and their failing tests
// (scripts/tap-failures.mjs).
import { spawn } from 'node:child_process'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { parseArgs } from 'node:util'
import { pnpmCommand, root } from './pnpm.mjs'
import { prepare } from './prepare.mjs'
import { ensureNginx, ensureRedisServer } from './redis.mjs'
import { failureLines } from './tap-failures.mjs'

const { values: opts, positionals: only } = parseArgs({
  allowPositionals: true,
  options: {
    jobs: { type: 'string', default: process.env.GATEHOUSE_TEST_JOBS ?? '2' },
    coverage: { type: 'boolean', default: false },
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
    packages.push({ dir: join(dir, name), folder, name: manifest.name })
  }
}
if (only.length > 0 && packages.length === 0) {
  console.error(`no package's name or folder contains ${only.join(', ')}`)
  process.exit(2)
}

await prepare()
ensureRedisServer()
ensureNginx()

/** Runs `pnpm <args>` in `cwd`, keeping its output (stdout and stderr, in order) to print whole. */
function runBuffered(args, cwd) {
  return new Promise((resolve) => {
    const [cmd, ...pre] = pnpmCommand()
    const child = spawn(cmd, [...pre, ...args], { cwd, env: { ...process.env, FORCE_COLOR: '0' } })
    let out = ''
    const onData = (d) => {
      out += d
    }
    child.stdout.on('data', onData)
    child.stderr.on('data', onData)
    child.on('error', (err) => {
      out += `\n${err.message}\n`
    })
    child.on('close', (code) => resolve({ code: code ?? 1, out }))
  })
}

// Longest first, so that the longest package does not start last: the CLI's tests take about as long
// as all the other packages together.
const weight = (name) => ['@gatehousejs/cli', 'typecheck', '@gatehousejs/core'].indexOf(name) >>> 0
const tasks = [
  { name: 'lint', title: 'lint (biome)', args: ['exec', 'biome', 'check', '.'], cwd: root },
  {
    name: 'typecheck',
    title: 'typecheck (tsc)',
    args: ['exec', 'tsc', '-p', 'tsconfig.json', '--noEmit'],
    cwd: root,
  },
  ...packages.map((pkg) => ({
    name: pkg.name,
    title: `tests: ${pkg.name} (${pkg.folder})`,
    // Coverage costs about 2 CPU-seconds per test file and nothing reads it here: `--coverage` keeps
    // it (each package's own `pnpm run test` reports it as usual).
    args: ['run', 'test', ...(opts.coverage ? [] : ['--disable-coverage'])],
    cwd: pkg.dir,
    tap: true,
  })),
]
const queue = [...tasks].sort((a, b) => weight(a.name) - weight(b.name))
const started = Date.now()
const seconds = (since) => `${Math.round((Date.now() - since) / 1000)} s`
console.log(`› ${tasks.length} checks and packages, ${Math.min(jobs, tasks.length)} at a time (--jobs)`)

async function worker() {
  for (let task = queue.shift(); task; task = queue.shift()) {
    const since = Date.now()
    console.log(`  … ${task.title} started (${seconds(started)} in)`)
    Object.assign(task, await runBuffered(task.args, task.cwd))
    console.log(`\n› ${task.title}: exit ${task.code} in ${seconds(since)}`)
    process.stdout.write(task.out.endsWith('\n') || task.out === '' ? task.out : `${task.out}\n`)
  }
}
await Promise.all(Array.from({ length: Math.min(jobs, tasks.length) }, worker))

// Counted in the tasks' own order, whatever order they ended in.
let passed = 0
let failed = 0
const problems = []
for (const { name, title, code, out, tap } of tasks) {
  if (!tap) {
    if (code !== 0) {
      failed++
      problems.push(title)
    }
    continue
  }
  const summaries = [...out.matchAll(/^# \{ ([^}]*) \}$/gm)]
  const last = summaries[summaries.length - 1]
  if (!last) {
    failed++
    problems.push(`${name}: no tap summary (exit ${code})`, ...failureLines(out))
    continue
  }
  const counts = Object.fromEntries(last[1].split(',').map((kv) => kv.split(':').map((s) => s.trim())))
  const pass = Number(counts.pass ?? 0)
  const fail = Number(counts.fail ?? 0)
  passed += pass
  failed += fail
  if (fail > 0 || code !== 0) {
    if (fail === 0) failed++
    problems.push(`${name}: ${fail} failed (exit ${code})`, ...failureLines(out))
  }
}

console.log(`\n› all done in ${seconds(started)}`)
// Each package's line is followed by its failing test files and, under each, the failing tests
// (path › assertion (file:line)), so the tail of a CI log says which test failed.
if (problems.length > 0)
  console.log(`Failures:\n${problems.map((p) => (p.startsWith(' ') ? p : `  - ${p}`)).join('\n')}`)
console.log(`${passed} passed, ${failed} failed`)
process.exitCode = failed > 0 ? 1 : 0
