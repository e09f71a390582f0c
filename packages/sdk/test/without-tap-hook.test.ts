import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { withoutTapHook } from '@gatehousejs/sdk/testing'
import t, { type Test } from 'tap'

// testing/spawn.ts: a node child spawned through withoutTapHook does not load tap's processinfo hook
// while coverage is off, keeps the rest of NODE_OPTIONS, and is the process whose PID the parent
// holds. With coverage on it gets the hook, as a plain spawn does. Every case runs a real child.

const HOOK = /@tapjs[\\/]processinfo/

/** The child prints what it was started with, then waits for SIGTERM (or exits at once with `exit`). */
const CHILD = `
const { getHeapStatistics } = require('node:v8')
if (process.env.ON_TERM) process.on('SIGTERM', () => { console.log('SIGTERM handled'); process.exit(3) })
console.log(JSON.stringify({
  pid: process.pid,
  nodeOptions: process.env.NODE_OPTIONS ?? '',
  execArgv: process.execArgv,
  heapLimitMiB: Math.round(getHeapStatistics().heap_size_limit / 1048576),
}))
if (process.env.EXIT) process.exit(0)
setInterval(() => {}, 1000)
`

interface Seen {
  pid: number
  nodeOptions: string
  execArgv: string[]
  heapLimitMiB: number
}

/** Runs `fn` with TAP_DISABLE_COVERAGE set to `value` (what tap's `--disable-coverage` sets), then restores it. */
async function coverage<T>(on: boolean, fn: () => Promise<T>): Promise<T> {
  const before = process.env.TAP_DISABLE_COVERAGE
  process.env.TAP_DISABLE_COVERAGE = on ? '0' : '1'
  try {
    return await fn()
  } finally {
    if (before === undefined) delete process.env.TAP_DISABLE_COVERAGE
    else process.env.TAP_DISABLE_COVERAGE = before
  }
}

/** Starts the child through withoutTapHook; resolves once it has printed what it was started with. */
async function start(t: Test, options: { env?: NodeJS.ProcessEnv; args?: string[]; onTerm?: boolean } = {}) {
  const env = { ...options.env, ...(options.onTerm ? { ON_TERM: '1' } : {}) }
  const child = spawn(...withoutTapHook(process.execPath, [...(options.args ?? []), '-e', CHILD], env), {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  })
  let out = ''
  child.stdout.setEncoding('utf8')
  const seen = await new Promise<Seen>((resolve, reject) => {
    child.stdout.on('data', (chunk: string) => {
      out += chunk
      const line = out.split('\n')[0]
      if (out.includes('\n') && line) resolve(JSON.parse(line) as Seen)
    })
    child.once('error', reject)
    child.once('close', (code) => reject(new Error(`child exited (${code}) before printing: ${out}`)))
  })
  return { child, seen, exited, output: () => out }
}

t.test('coverage off: the child does not get tap hook, through NODE_OPTIONS or the args', (t) =>
  coverage(false, async () => {
    t.match(process.env.NODE_OPTIONS ?? '', HOOK, 'the test itself runs with the hook in NODE_OPTIONS')
    const { seen } = await start(t, { args: process.execArgv.filter((a) => HOOK.test(a)) })
    t.notMatch(seen.nodeOptions, HOOK, 'not in NODE_OPTIONS')
    t.notOk(
      seen.execArgv.some((a) => HOOK.test(a)),
      'not in the args either (a [...process.execArgv, file] spawn)',
    )
  }),
)

t.test('coverage off: other NODE_OPTIONS reach the child and take effect', (t) =>
  coverage(false, async () => {
    const heap = (mib: number) =>
      start(t, { env: { NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --max-old-space-size=${mib}` } })
    const [{ seen }, { seen: larger }] = await Promise.all([heap(96), heap(1024)])
    t.notMatch(seen.nodeOptions, HOOK)
    // Every option but the hook, in order: tap itself adds some on Node 22 (`--experimental-strip-types`).
    const words = (options: string) => options.split(/\s+/).filter((o) => o !== '')
    t.same(
      words(seen.nodeOptions),
      [...words(process.env.NODE_OPTIONS ?? '').filter((o) => !HOOK.test(o)), '--max-old-space-size=96'],
      "the parent's options but the hook, and the one added",
    )
    // V8's heap limit is the old space asked for plus a young generation whose size differs between
    // Node versions (Node 20: 96 MiB asked → 144 in all; Node 24: 288). The old space alone is the
    // difference between two limits.
    t.ok(
      larger.heapLimitMiB - seen.heapLimitMiB >= 1024 - 96,
      `the heap limit follows the size asked for (96 MiB → ${seen.heapLimitMiB}, 1024 MiB → ${larger.heapLimitMiB})`,
    )
  }),
)

t.test('coverage off: child.pid is the command itself; a signal sent to it reaches it', (t) =>
  coverage(false, async () => {
    const handled = await start(t, { onTerm: true })
    t.equal(handled.seen.pid, handled.child.pid, 'the command reports the PID the parent holds')
    process.kill(handled.child.pid as number, 'SIGTERM')
    t.same(await handled.exited, [3, null], "its own SIGTERM handler's exit code")
    t.match(handled.output(), /SIGTERM handled/)

    const plain = await start(t)
    t.equal(plain.seen.pid, plain.child.pid)
    plain.child.kill('SIGTERM')
    t.same(await plain.exited, [null, 'SIGTERM'], 'killed by the signal, as a direct child would be')
  }),
)

t.test('coverage on: the command runs as given, and the child gets the hook', (t) =>
  coverage(true, async () => {
    t.same(withoutTapHook(process.execPath, ['-e', '1']), [process.execPath, ['-e', '1']])
    const { seen, child } = await start(t, { env: { EXIT: '1' } })
    t.equal(seen.pid, child.pid)
    t.match(seen.nodeOptions, HOOK, 'tap adds its hook, so coverage counts the child')
  }),
)
