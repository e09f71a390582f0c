// What both `npm test` and `npm run demo` do first: install what is missing, then build, naming each
// package as its build finishes (a cold build takes minutes: progress, not silence).
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { availableParallelism } from 'node:os'
import { join } from 'node:path'
import { pnpm, pnpmCommand, root } from './pnpm.mjs'

/** Runs turbo's build; prints `✓ <package>` as each build task ends. Resolves to its exit status. */
function buildWithProgress() {
  return new Promise((resolve) => {
    const [cmd, ...pre] = pnpmCommand()
    // Grouped logs: turbo prints a task's lines together when the task is done, so the first line
    // with a task's prefix says it finished. Everything is kept to show when the build fails.
    const child = spawn(
      cmd,
      [
        ...pre,
        'exec',
        'turbo',
        'run',
        'build',
        // One build more than the cores, not turbo's default of ten: every package's build is
        // CPU-bound (its .d.ts pass type-checks), and ten at once on two cores took longer (117-123 s
        // against 107-112 s for three, two runs each) and held ten TypeScript programs in memory.
        `--concurrency=${availableParallelism() + 1}`,
        '--log-order=grouped',
        '--output-logs=new-only',
        '--log-prefix=task',
      ],
      { cwd: root, env: { ...process.env, FORCE_COLOR: '0' } },
    )
    let all = ''
    let pending = ''
    const done = new Set()
    const started = Date.now()
    const onData = (chunk) => {
      all += chunk
      pending += chunk
      const lines = pending.split('\n')
      pending = lines.pop() ?? ''
      for (const line of lines) {
        const m = /^(\S+):build: /.exec(line)
        if (m && !done.has(m[1])) {
          done.add(m[1])
          const cached = /cache hit/.test(line) ? ' (cached)' : ''
          console.log(`  ✓ ${m[1]}${cached}  ${Math.round((Date.now() - started) / 1000)} s`)
        }
      }
    }
    child.stdout.on('data', onData)
    child.stderr.on('data', onData)
    child.on('close', (code) => {
      if (code !== 0) process.stderr.write(all)
      resolve(code ?? 1)
    })
  })
}

export async function prepare({ quiet = false } = {}) {
  const major = Number(process.versions.node.split('.')[0])
  const minor = Number(process.versions.node.split('.')[1])
  if (major < 20 || (major === 20 && minor < 19)) {
    console.error(`Gatehouse needs Node >= 20.19; this is ${process.version}.`)
    process.exit(1)
  }
  const stdio = quiet ? ['ignore', 'ignore', 'inherit'] : 'inherit'
  if (!existsSync(join(root, 'node_modules', '.modules.yaml')) || process.env.CI) {
    console.log('› installing dependencies (pnpm install)')
  }
  if (pnpm(['install', '--frozen-lockfile', '--prefer-offline'], { stdio }) !== 0) {
    console.error('pnpm install failed')
    process.exit(1)
  }
  console.log('› building packages (turbo run build); each package is named as its build ends')
  if ((await buildWithProgress()) !== 0) {
    console.error('build failed')
    process.exit(1)
  }
}
