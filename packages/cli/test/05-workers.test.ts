import { readFileSync, writeFileSync } from 'node:fs'
import { availableParallelism } from 'node:os'
import { request, startUpstream } from '@gatehousejs/sdk/testing'
import t from 'tap'
import { workerExecArgv } from '../src/workers.js'
import { start, tempDir, writeFiles } from './helpers/cli.js'
import { pluginSource } from './helpers/plugins.js'

// `--workers N`: N processes share the port; a killed worker is replaced while the others serve;
// a file change reloads every worker; SIGTERM stops them all.

function yaml(upstreamUrl: string, value: string): string {
  return `services:
  - name: echo
    url: ${upstreamUrl}
    routes: [{ name: echo, paths: [/] }]
plugins:
  - name: ./stamp.mjs
    config: { value: ${value} }
`
}

t.test('workers collect garbage on their own thread when there are as many workers as CPUs', async (t) => {
  t.same(workerExecArgv(2, [], '', 2), ['--single-threaded-gc'], 'two workers, two CPUs')
  t.same(
    workerExecArgv(4, ['--max-old-space-size=512'], '', 2),
    ['--max-old-space-size=512', '--single-threaded-gc'],
    "more workers than CPUs; the primary's flags kept",
  )
  t.same(workerExecArgv(1, [], '', 1), ['--single-threaded-gc'], 'one supervised worker on one CPU')
  t.same(workerExecArgv(2, [], '', 8), [], 'fewer workers than CPUs: V8 decides')
  for (const [argv, env, given] of [
    [['--no-single-threaded-gc'], '', 'on the command line'],
    [[], '--no_single_threaded_gc', "in NODE_OPTIONS, with V8's underscores"],
    [[], '--max-old-space-size=512 --parallel-scavenge', 'in NODE_OPTIONS, another GC threading flag'],
    [['--concurrent-marking=false'], '', 'with a value'],
  ] as const) {
    t.same(workerExecArgv(2, argv, env, 2), argv, `the operator's choice ${given} is kept`)
  }
  t.same(
    workerExecArgv(2, ['--import=/opt/gc_tools/x.mjs'], '', 2),
    ['--import=/opt/gc_tools/x.mjs', '--single-threaded-gc'],
    'a path is not a flag',
  )
})

async function pids(url: string, n: number): Promise<Map<string, number>> {
  const seen = new Map<string, number>()
  for (let i = 0; i < n; i++) {
    const r = await request(url, { path: '/p', headers: { connection: 'close' } })
    const pid = String(r.headers['x-worker-pid'])
    seen.set(pid, (seen.get(pid) ?? 0) + 1)
  }
  return seen
}

t.test('two workers serve, survive a killed worker, and reload together', async (t) => {
  const upstream = await startUpstream({ t })
  const dir = tempDir(t)
  writeFiles(dir, { 'stamp.mjs': pluginSource('stamp') })
  const file = writeFiles(dir, { 'gateway.yaml': yaml(upstream.url, 'v1') })
  const gw = await start(t, [file, '--port', '0', '--host', '127.0.0.1', '--workers', '2'], {
    timeout: 60_000,
  })
  t.match(gw.output(), /2 workers listening on http:\/\/127\.0\.0\.1:\d+/)

  const before = await pids(gw.url, 40)
  t.equal(before.size, 2, `both workers answer (${[...before.keys()].join(', ')})`)
  t.notOk(before.has(String(gw.child.pid)), 'the primary does not serve')

  // Two workers on a machine of at most two CPUs: each collects garbage on its own thread.
  const single = availableParallelism() <= 2
  for (const pid of before.keys()) {
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')
    t.equal(
      argv.includes('--single-threaded-gc'),
      single,
      `worker ${pid}: --single-threaded-gc ${single ? 'set' : 'not set'}`,
    )
  }
  t.equal(/each collects garbage on its own thread/.test(gw.output()), single, 'the primary says so')

  // Kill one worker as a crash would; the other keeps serving, and a new one replaces it.
  const victim = [...before.keys()][0] as string
  process.kill(Number(victim), 'SIGKILL')
  // From the moment the primary has seen the exit, no connection is handed to the dead worker.
  const seenExit = new RegExp(`worker ${victim} exited \\(SIGKILL\\); starting a new one`)
  for (let i = 0; i < 100 && !seenExit.test(gw.output()); i++) await new Promise((r) => setTimeout(r, 50))
  t.match(gw.output(), seenExit, 'the primary saw the worker die')
  let failed = 0
  let replaced = false
  const deadline = Date.now() + 20_000
  while (Date.now() < deadline && !replaced) {
    const r = await request(gw.url, { path: '/q', headers: { connection: 'close' } }).catch(() => undefined)
    if (r?.status !== 200) failed++
    const seen = await pids(gw.url, 10)
    replaced = seen.size === 2 && !seen.has(victim)
  }
  t.ok(replaced, 'a new worker replaced the killed one')
  t.equal(failed, 0, 'no request failed once the worker was gone')

  // A file change reaches every worker (the primary watches and tells them).
  writeFileSync(file, yaml(upstream.url, 'v2'))
  const until = Date.now() + 15_000
  let stamps = new Set<string>()
  while (Date.now() < until) {
    stamps = new Set()
    for (let i = 0; i < 20; i++) {
      await request(gw.url, { path: '/r', headers: { connection: 'close' } })
      stamps.add(String(upstream.last()?.headers['x-stamp']))
    }
    if (stamps.size === 1 && stamps.has('v2')) break
    await new Promise((r) => setTimeout(r, 200))
  }
  t.same([...stamps], ['v2'], 'every worker serves the new file')

  await gw.stop('SIGTERM')
  t.equal(gw.child.exitCode, 0, 'the primary exits 0 once its workers have stopped')
})

t.test('prometheus under --workers: a scrape of any worker counts every worker’s requests', async (t) => {
  const upstream = await startUpstream({ t })
  const dir = tempDir(t)
  writeFiles(dir, { 'stamp.mjs': pluginSource('stamp') })
  const file = writeFiles(dir, {
    'gateway.yaml': `services:
  - name: echo
    url: ${upstream.url}
    routes: [{ name: api, paths: [/api] }]
plugins:
  - name: ./stamp.mjs
  - name: prometheus
    config: { workers: aggregate }
`,
  })
  const gw = await start(t, [file, '--port', '0', '--host', '127.0.0.1', '--workers', '2'], {
    timeout: 60_000,
  })
  const REQUESTS = 20
  const served = new Set<string>()
  for (let i = 0; i < REQUESTS; i++) {
    const r = await request(gw.url, { path: '/api/x', headers: { connection: 'close' } })
    t.equal(r.status, 200)
    served.add(String(r.headers['x-worker-pid']))
  }
  t.equal(served.size, 2, 'both workers served requests')
  t.equal(upstream.requests.length, REQUESTS)

  const count = /^gatehouse_http_requests_total\{[^}]*route="api"[^}]*status="200"[^}]*\} (\d+)$/m
  let total = 0
  let scrapes = 0
  // Each worker records in its log phase, just after its response; allow a moment, bounded. Scrapes
  // land on either worker: every one must answer with the sum, none with a 503.
  for (let i = 0; i < 40 && (scrapes < 6 || total !== REQUESTS); i++) {
    const r = await request(gw.url, { path: '/metrics', headers: { connection: 'close' } })
    t.equal(r.status, 200, 'aggregated by the primary')
    total = Number(count.exec(r.text)?.[1] ?? 0)
    if (total === REQUESTS) scrapes++
    else if (scrapes > 0) t.fail(`a later scrape counted ${total}`)
  }
  t.equal(total, REQUESTS, 'a scrape sums both workers')
  t.ok(scrapes >= 6, 'repeated scrapes (on either worker) all sum both workers')
  await gw.stop('SIGTERM')
  t.equal(gw.child.exitCode, 0)
})
