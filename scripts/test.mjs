#!/usr/bin/env node
// `npm test`: install what is missing, build, lint, typecheck, then run every package's tap tests,
// one package at a time (tap runs a package's files in parallel). The last line is
// `N passed, N failed`: tests passed and failed, plus one failure for each check or package that
// could not run (a crashed test file is a failure, never a silent zero). Above it, "Failures:" names
// each failing package, its failing test files and their failing tests (scripts/tap-failures.mjs).
import { spawn } from 'node:child_process'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { pnpm, pnpmCommand, root } from './pnpm.mjs'
import { prepare } from './prepare.mjs'
import { ensureNginx, ensureRedisServer } from './redis.mjs'
import { failureLines } from './tap-failures.mjs'

await prepare()
ensureRedisServer()
ensureNginx()

let passed = 0
let failed = 0
const problems = []

function check(name, args) {
  console.log(`› ${name}`)
  if (pnpm(args) === 0) return
  failed++
  problems.push(name)
}
check('lint (biome)', ['exec', 'biome', 'check', '.'])
check('typecheck (tsc)', ['exec', 'tsc', '-p', 'tsconfig.json', '--noEmit'])

const packages = []
for (const group of ['packages', 'plugins', 'examples']) {
  const dir = join(root, group)
  if (!existsSync(dir)) continue
  for (const name of readdirSync(dir).sort()) {
    const pj = join(dir, name, 'package.json')
    if (!existsSync(pj)) continue
    const manifest = JSON.parse(readFileSync(pj, 'utf8'))
    if (manifest.scripts?.test) packages.push({ dir: join(dir, name), name: manifest.name })
  }
}

function runTap(pkg) {
  return new Promise((resolve) => {
    const [cmd, ...pre] = pnpmCommand()
    const child = spawn(cmd, [...pre, 'run', 'test'], {
      cwd: pkg.dir,
      env: { ...process.env, FORCE_COLOR: '0' },
    })
    let out = ''
    const onData = (d) => {
      out += d
      process.stdout.write(d)
    }
    child.stdout.on('data', onData)
    child.stderr.on('data', onData)
    child.on('close', (code) => resolve({ code, out }))
  })
}

for (const pkg of packages) {
  console.log(`\n› tests: ${pkg.name} (${relative(root, pkg.dir)})`)
  const { code, out } = await runTap(pkg)
  const summaries = [...out.matchAll(/^# \{ ([^}]*) \}$/gm)]
  const last = summaries[summaries.length - 1]
  if (!last) {
    failed++
    problems.push(`${pkg.name}: no tap summary (exit ${code})`, ...failureLines(out))
    continue
  }
  const counts = Object.fromEntries(last[1].split(',').map((kv) => kv.split(':').map((s) => s.trim())))
  const pass = Number(counts.pass ?? 0)
  const fail = Number(counts.fail ?? 0)
  passed += pass
  failed += fail
  if (fail > 0 || code !== 0) {
    if (fail === 0) failed++
    problems.push(`${pkg.name}: ${fail} failed (exit ${code})`, ...failureLines(out))
  }
}

console.log('')
// Each package's line is followed by its failing test files and, under each, the failing tests
// (path › assertion (file:line)), so the tail of a CI log says which test failed.
if (problems.length > 0)
  console.log(`Failures:\n${problems.map((p) => (p.startsWith(' ') ? p : `  - ${p}`)).join('\n')}`)
console.log(`${passed} passed, ${failed} failed`)
process.exitCode = failed > 0 ? 1 : 0
