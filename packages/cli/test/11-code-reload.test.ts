import { mkdirSync, writeFileSync } from 'node:fs'
import http from 'node:http'
import { join } from 'node:path'
import { request, startRedis, startUpstream } from '@gatehousejs/sdk/testing'
import t, { type Test } from 'tap'
import { run, start, tempDir, writeFiles } from './helpers/cli.js'
import { fleetConfig, KEY, stampOf, waitFor } from './helpers/fleet.js'
import { installPackage } from './helpers/plugins.js'

// A code reload: a plugin package upgraded on disk while a bounded load loop runs, over new connections
// and over keep-alive ones. The supervised gateway replaces its workers one at a time, each new one
// importing the package afresh and serving before the old one stops accepting and drains (core's close
// order: stop accepting, `connection: close` on the next answer of each open connection, then drain):
// no request fails, and the answers switch from the old code to the new.

/** Installs `gatehouse-plugin-stamp-version` at `version` into dir/node_modules, as npm would. */
function installVersion(dir: string, version: string) {
  const root = join(dir, 'node_modules', 'gatehouse-plugin-stamp-version')
  mkdirSync(root, { recursive: true })
  writeFileSync(
    join(root, 'package.json'),
    JSON.stringify({
      name: 'gatehouse-plugin-stamp-version',
      version,
      type: 'module',
      exports: { '.': './index.js' },
    }),
  )
  writeFileSync(
    join(root, 'index.js'),
    `export default {
  name: 'stamp-version', version: ${JSON.stringify(version)}, priority: 500, apiVersion: 1,
  schema: { type: 'object' },
  init() {
    return { response(ctx) { ctx.response.headers['x-plugin-code'] = ${JSON.stringify(`code-${version}`)} } }
  },
}
`,
  )
}

/** GET over `agent`; `reused` says whether the request went over a connection used before. */
function keepAliveGet(agent: http.Agent, url: string) {
  return new Promise<{ status: number; headers: http.IncomingHttpHeaders; text: string; reused: boolean }>(
    (resolve, reject) => {
      const req = http.get(url, { agent, timeout: 30_000 }, (res) => {
        let text = ''
        res.setEncoding('utf8')
        res.on('data', (d) => {
          text += d
        })
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, reused: req.reusedSocket }),
        )
        res.on('error', reject)
      })
      req.on('timeout', () => req.destroy(new Error('no answer in 30 s')))
      req.on('error', reject)
    },
  )
}

const YAML = (upstream: string) => `services:
  - name: echo
    url: ${upstream}
    routes: [{ name: echo, paths: [/] }]
plugins:
  - name: stamp-version
`

/**
 * `gatehouse start` on a loopback port, in a directory of its own with stamp-version 1.0.0 installed,
 * routing everything to a fresh upstream; `args(dir)` follow the file, the port and the host.
 */
async function startVersionOne(t: Test, args: (dir: string) => string[]) {
  const upstream = await startUpstream({ t })
  const dir = tempDir(t)
  installVersion(dir, '1.0.0')
  const file = writeFiles(dir, { 'gateway.yaml': YAML(upstream.url) })
  const gw = await start(t, [file, '--port', '0', '--host', '127.0.0.1', ...args(dir)], { timeout: 120_000 })
  return { dir, gw }
}

async function codeReloadUnderLoad(t: Test, workers: number) {
  const pidFile = (dir: string) => join(dir, 'gatehouse.pid')
  const { dir, gw } = await startVersionOne(t, (dir) => [
    '--workers',
    String(workers),
    '--supervise',
    '--pid-file',
    pidFile(dir),
    '--status',
    '0',
    '--no-watch',
  ])
  t.match(gw.output(), /plugins: stamp-version@1\.0\.0/, 'the log says which plugin version a worker runs')
  const before = (await request(gw.status as string, { path: '/status' })).json()
  const oldPids = before.workers.map((w: { pid: number }) => w.pid)

  // The load, bounded in count and in time: two clients open a new connection per request, two keep
  // one keep-alive connection each for as long as the gateway keeps it open.
  const seen: string[] = []
  const failures: string[] = []
  let upgraded = false
  let newInARow = 0
  let keptAlive = 0
  const deadline = Date.now() + 420_000
  let sent = 0
  const more = () => Date.now() < deadline && sent < 30_000 && newInARow < 200
  function record(status: number, text: string, code: unknown) {
    if (status !== 200) failures.push(`status ${status}: ${text}`)
    seen.push(String(code))
    newInARow = code === 'code-2.0.0' ? newInARow + 1 : 0
  }
  async function newConnections() {
    while (more()) {
      sent++
      try {
        const r = await request(gw.url, { path: `/load/${sent}` })
        record(r.status, r.text, r.headers['x-plugin-code'])
      } catch (err) {
        failures.push(`new connection: ${(err as Error).message}`)
      }
    }
  }
  async function keepAlive() {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 })
    try {
      while (more()) {
        sent++
        try {
          const r = await keepAliveGet(agent, `${gw.url}/load/${sent}`)
          if (r.reused) keptAlive++
          record(r.status, r.text, r.headers['x-plugin-code'])
        } catch (err) {
          failures.push(`keep-alive: ${(err as Error).message}`)
        }
      }
    } finally {
      agent.destroy()
    }
  }
  const load = Promise.all([newConnections(), newConnections(), keepAlive(), keepAlive()])
  // Upgrade the package on disk once the load runs, then ask for a code reload as an operator would.
  while (seen.length < 40 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20))
  installVersion(dir, '2.0.0')
  upgraded = true
  const reload = await run(['reload', '--code', '--pid-file', pidFile(dir)], { timeout: 120_000 })
  t.equal(reload.code, 0, `gatehouse reload --code: ${reload.stderr}`)
  t.match(reload.stdout, /asked process \d+ for a code reload \(SIGUSR2\)/)
  await load

  t.ok(upgraded)
  t.same(failures, [], `no request failed (${sent} sent)`)
  t.ok(keptAlive > 0, `requests went over kept-alive connections too (${keptAlive})`)
  t.equal(seen[0], 'code-1.0.0', 'the old code answered first')
  t.ok(newInARow >= 200, 'then the new code answers every request')
  const firstNew = seen.indexOf('code-2.0.0')
  t.ok(firstNew > 0, `answers switched from old to new (at request ${firstNew} of ${seen.length})`)
  t.match(gw.output(), /plugins: stamp-version@2\.0\.0/, 'the log names the new version')
  for (let i = 0; i < 300 && !/code reload done/.test(gw.output()); i++)
    await new Promise((r) => setTimeout(r, 100))
  t.match(gw.output(), /code reload done/)
  const after = (await request(gw.status as string, { path: '/status' })).json()
  t.equal(after.workers.length, workers, 'as many workers as before')
  t.ok(
    after.workers.every(
      (w: { pid: number; plugins: unknown }) =>
        !oldPids.includes(w.pid) &&
        JSON.stringify(w.plugins) === JSON.stringify([{ name: 'stamp-version', version: '2.0.0' }]),
    ),
    '/status: new worker processes, each running the new plugin version',
  )
  await gw.stop('SIGTERM')
  t.equal(gw.child.exitCode, 0)
}

t.test('--workers 1 --supervise: a plugin upgraded on disk under load', (t) => codeReloadUnderLoad(t, 1))
t.test('--workers 2: the same, one worker at a time', (t) => codeReloadUnderLoad(t, 2))

t.test('code reloads back to back under new-connection load: every connection is answered', async (t) => {
  // Each retiring worker closes its server while the primary may still be handing it connections
  // (round-robin scheduling). A worker that left the cluster as soon as its server closed dropped
  // the connections still in its IPC channel: the primary held them open and nobody answered.
  // Many retirements under load make that window likely; the fix closes it (workers.ts,
  // `leaveCluster`).
  const { gw } = await startVersionOne(t, () => ['--workers', '2', '--supervise', '--no-watch'])
  const reloads = 4
  const failures: string[] = []
  let answered = 0
  let done = false
  const deadline = Date.now() + 300_000
  async function client() {
    for (let i = 0; !done && Date.now() < deadline && i < 20_000; i++) {
      try {
        const r = await request(gw.url, { path: `/n/${i}` })
        if (r.status === 200) answered++
        else failures.push(`status ${r.status}: ${r.text}`)
      } catch (err) {
        failures.push((err as Error).message)
      }
    }
  }
  const load = Promise.all([client(), client(), client(), client()])
  const doneLines = () => gw.output().match(/code reload done/g)?.length ?? 0
  for (let n = 1; n <= reloads && Date.now() < deadline; n++) {
    process.kill(gw.child.pid as number, 'SIGUSR2')
    while (doneLines() < n && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50))
  }
  done = true
  await load
  t.equal(doneLines(), reloads, `${reloads} code reloads, each replacing both workers`)
  t.same(failures, [], `no connection was left unanswered (${answered} answered)`)
  t.ok(answered > 0)
  t.equal(await gw.stop('SIGTERM'), 0)
})

t.test(
  'without supervision, a code reload is refused in the log and the gateway keeps serving',
  async (t) => {
    const { gw } = await startVersionOne(t, () => ['--no-watch'])
    const serving = new RegExp(`process ${gw.child.pid} serving; plugins: stamp-version@1\\.0\\.0`)
    // The line follows the "listening" line, maybe in a later chunk of output.
    for (let i = 0; i < 300 && !serving.test(gw.output()); i++) await new Promise((r) => setTimeout(r, 100))
    t.match(gw.output(), serving, 'the log names the plugin versions this process runs')
    const reload = await run(['reload', '--code', '--pid', String(gw.child.pid)], { timeout: 120_000 })
    t.equal(reload.code, 0)
    for (let i = 0; i < 50 && !/needs a supervised gateway/.test(gw.output()); i++)
      await new Promise((r) => setTimeout(r, 100))
    t.match(gw.output(), /a code reload needs a supervised gateway/)
    t.equal((await request(gw.url, { path: '/' })).headers['x-plugin-code'], 'code-1.0.0')
    const bad = await run(['reload', '--code'], { timeout: 120_000 })
    t.equal(bad.code, 2, 'reload without a process is a usage error')
  },
)

t.test(
  'a code reload whose new code does not load stops there: the running worker keeps serving',
  async (t) => {
    const { dir, gw } = await startVersionOne(t, () => ['--supervise', '--status', '0', '--no-watch'])
    const before = (await request(gw.status as string, { path: '/status' })).json()
    // Version 3.0.0 is broken on disk: its module does not even parse.
    installVersion(dir, '3.0.0')
    writeFileSync(join(dir, 'node_modules/gatehouse-plugin-stamp-version/index.js'), 'export default {\n')
    const reload = await run(['reload', '--code', '--pid', String(gw.child.pid)], { timeout: 120_000 })
    t.equal(reload.code, 0)
    for (let i = 0; i < 300 && !/the new worker could not start/.test(gw.output()); i++)
      await new Promise((r) => setTimeout(r, 100))
    t.match(gw.output(), /code reload: the new worker could not start; the running workers stay/)
    const res = await request(gw.url, { path: '/after' })
    t.equal(res.status, 200)
    t.equal(res.headers['x-plugin-code'], 'code-1.0.0', 'the old code still answers')
    // The failed worker is killed; /status lists the workers that answer.
    let after = (await request(gw.status as string, { path: '/status' })).json()
    for (let i = 0; i < 50 && after.workers.length !== 1; i++) {
      await new Promise((r) => setTimeout(r, 100))
      after = (await request(gw.status as string, { path: '/status' })).json()
    }
    t.same(
      after.workers.map((w: { pid: number }) => w.pid),
      before.workers.map((w: { pid: number }) => w.pid),
      'the same worker, and no other started in place of the failed one',
    )
    t.notMatch(gw.output(), /starting a new one/, 'the failed new worker is not restarted')
    t.equal(await gw.stop('SIGTERM'), 0)
  },
)

t.test(
  'a fleet node (--store): --supervise is refused; reload signals neither end it nor change its code',
  async (t) => {
    const redis = await startRedis({ t })
    const upstream = await startUpstream({ t })
    const dir = tempDir(t)
    installPackage(dir, 'gatehouse-plugin-stamp', 'stamp')
    const env = { GATEHOUSE_CONFIG_KEY: KEY }
    const common = [
      '--store',
      redis.url,
      '--cache-dir',
      join(dir, 'cache'),
      '--port',
      '0',
      '--host',
      '127.0.0.1',
    ]

    const refused = await run(['start', ...common, '--supervise'], { cwd: dir, env, timeout: 120_000 })
    t.equal(refused.code, 2, 'a usage error, before anything starts')
    t.match(refused.stderr, /--supervise cannot be combined with --store yet/)

    const file = writeFiles(dir, { 'v1.yaml': fleetConfig(upstream.url, 'v1') })
    const applied = await run(['apply', file, '--store', redis.url], { cwd: dir, env, timeout: 120_000 })
    t.equal(applied.code, 0, applied.stderr)
    const pidFile = join(dir, 'node.pid')
    const node = await start(t, [...common, '--pid-file', pidFile, '--node-id', 'edge-1', '--status', '0'], {
      cwd: dir,
      env,
      timeout: 120_000,
    })
    await waitFor('the node to serve v1', async () => (await stampOf(node.url)) === 'v1')
    const status = (await request(node.status as string, { path: '/status' })).json()
    t.equal(status.fleet.node, 'edge-1', '/status names the fleet node')
    t.equal(status.fleet.applied.version, 1, 'and the snapshot it serves')
    t.match(status.fleet.applied.hash, /^sha256:/)
    t.ok(
      status.workers[0].plugins.some(
        (p: { name: string; version: string }) => p.name === 'stamp' && p.version === '1.0.0',
      ),
      'and the plugin code it runs',
    )

    const hup = await run(['reload', '--pid-file', pidFile], { timeout: 120_000 })
    t.equal(hup.code, 0, hup.stderr)
    const code = await run(['reload', '--code', '--pid-file', pidFile], { timeout: 120_000 })
    t.equal(code.code, 0, code.stderr)
    await waitFor('the warning', () => /restart this node to run new plugin code/.test(node.output()))
    t.equal(await stampOf(node.url), 'v1', 'the node still serves its snapshot')
    t.equal(node.child.exitCode, null, 'and is still running')
    await node.stop('SIGTERM')
    t.equal(node.child.signalCode, 'SIGTERM', 'it stops on SIGTERM, by that signal')
  },
)
