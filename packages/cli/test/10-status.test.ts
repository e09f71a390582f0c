import { readFileSync, writeFileSync } from 'node:fs'
import { request, startRedis, startUpstream } from '@gatehousejs/sdk/testing'
import t, { type Test } from 'tap'
import { start, tempDir, writeFiles } from './helpers/cli.js'
import { pluginSource } from './helpers/plugins.js'

// `--status [host:]port`: /status, /status/ready and /status/live, with no token and nothing secret;
// one listener for the whole process group under --workers; readiness follows required stores and
// turns 503 on SIGTERM before the proxy stops accepting (--drain-delay).

const CORE_VERSION = (
  JSON.parse(readFileSync(new URL('../../core/package.json', import.meta.url), 'utf8')) as { version: string }
).version

function yaml(upstreamUrl: string, value: string): string {
  return `services:
  - name: echo
    url: ${upstreamUrl}
    routes: [{ name: echo, paths: [/] }]
consumers:
  - username: alice
    credentials:
      key-auth: [{ key: "\${ALICE_KEY}" }]
plugins:
  - name: ./stamp.mjs
    config: { value: ${value} }
`
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

async function setup(t: Test) {
  const upstream = await startUpstream({ t })
  const dir = tempDir(t)
  writeFiles(dir, { 'stamp.mjs': pluginSource('stamp', { version: '1.4.2' }) })
  const file = writeFiles(dir, { 'gateway.yaml': yaml(upstream.url, 'v1') })
  return { upstream, dir, file }
}

t.test('a single process: live, ready, and a status body without secrets', async (t) => {
  const { file, upstream } = await setup(t)
  const secret = 'alice-very-secret-key-0123456789'
  const gw = await start(t, [file, '--port', '0', '--host', '127.0.0.1', '--status', '127.0.0.1:0'], {
    env: { ALICE_KEY: secret },
    timeout: 120_000,
  })
  t.match(gw.status, /^http:\/\/127\.0\.0\.1:\d+$/, 'the listening line gives the status address')
  t.equal((gw.output().match(/listening/g) ?? []).length, 1, 'one "listening" line, not two')
  const status = gw.status as string

  const live = await request(status, { path: '/status/live' })
  t.equal(live.status, 200)
  t.same(live.json(), { live: true })
  const ready = await request(status, { path: '/status/ready' })
  t.equal(ready.status, 200)
  t.same(ready.json(), { ready: true, reasons: [] })

  for (let i = 0; i < 3; i++) t.equal((await request(gw.url, { path: `/x${i}` })).status, 200)
  t.equal(upstream.requests.length, 3)
  const body = (await request(status, { path: '/status' })).json()
  t.equal(body.status, 'ready')
  t.equal(body.gatehouse.version, CORE_VERSION, 'the Gatehouse version')
  t.equal(body.config.generation, 1)
  t.match(body.config.hash, /^sha256:[0-9a-f]{64}$/)
  t.equal(body.requests.served, 3, 'requests served')
  t.equal(body.workers.length, 1)
  t.equal(body.workers[0].pid, gw.child.pid)
  t.equal(body.workers[0].state, 'ready')
  t.same(body.workers[0].plugins, [{ name: 'stamp', version: '1.4.2' }], 'the plugin versions it runs')
  t.type(body.uptime, 'number')
  const text = JSON.stringify(body)
  t.notOk(text.includes(secret), 'no secret in /status')
  t.notOk(text.includes('alice'), 'no consumer names either')

  // Read-only, and only three paths.
  const post = await request(status, { method: 'POST', path: '/status' })
  t.equal(post.status, 405)
  t.equal(post.json().code, 'GH_STATUS_METHOD_NOT_ALLOWED')
  t.equal(post.headers.allow, 'GET, HEAD')
  const missing = await request(status, { path: '/config' })
  t.equal(missing.status, 404)
  t.equal(missing.json().code, 'GH_STATUS_NOT_FOUND')

  // A reload: a new generation and a new hash; the same file again hashes the same.
  writeFileSync(file, yaml(upstream.url, 'v2'))
  let after = body
  for (let i = 0; i < 100 && after.config.generation === 1; i++) {
    await sleep(100)
    after = (await request(status, { path: '/status' })).json()
  }
  t.equal(after.config.generation, 2, 'the reload is counted')
  t.not(after.config.hash, body.config.hash, 'a different config hashes differently')
  writeFileSync(file, yaml(upstream.url, 'v1'))
  let back = after
  for (let i = 0; i < 100 && back.config.generation === 2; i++) {
    await sleep(100)
    back = (await request(status, { path: '/status' })).json()
  }
  t.equal(back.config.hash, body.config.hash, 'the same config hashes the same')

  t.equal(await gw.stop('SIGTERM'), null)
})

t.test('a required store: ready only while redis answers', async (t) => {
  const redis = await startRedis({ t })
  const { file } = await setup(t)
  const gw = await start(
    t,
    [file, '--port', '0', '--host', '127.0.0.1', '--status', '0', '--require-store', redis.url],
    { env: { ALICE_KEY: 'k' }, timeout: 120_000 },
  )
  const status = gw.status as string
  async function readyUntil(code: number) {
    let r = await request(status, { path: '/status/ready' })
    for (let i = 0; i < 100 && r.status !== code; i++) {
      await sleep(100)
      r = await request(status, { path: '/status/ready' })
    }
    return r
  }
  t.equal((await readyUntil(200)).status, 200, 'ready while redis answers')
  await redis.stop()
  const down = await readyUntil(503)
  t.equal(down.status, 503, 'not ready once redis is gone')
  t.equal(down.json().ready, false)
  t.match(down.json().reasons[0], `store redis 127.0.0.1:${redis.port} unreachable`)
  t.equal((await request(gw.url, { path: '/still' })).status, 200, 'the proxy itself still serves')
  await redis.start()
  t.equal((await readyUntil(200)).status, 200, 'ready again once redis is back')
})

/**
 * Polls readiness and the proxy side by side while the gateway shuts down, and records the order of
 * what they saw: the first 503 from readiness, and the first refused proxy connection.
 */
async function watchShutdown(gw: Awaited<ReturnType<typeof start>>) {
  const events: string[] = []
  let servedAfter503 = 0
  let stop = false
  const probe = (async () => {
    while (!stop) {
      const r = await request(gw.status as string, { path: '/status/ready' }).catch(() => undefined)
      if (r === undefined) {
        events.push('status refused')
        return
      }
      if (r.status === 503 && !events.includes('ready 503')) events.push('ready 503')
      await sleep(20)
    }
  })()
  const traffic = (async () => {
    while (!stop) {
      const r = await request(gw.url, { path: '/load', headers: { connection: 'close' } }).catch(
        (err: NodeJS.ErrnoException) => err,
      )
      if (r instanceof Error) {
        // Refused once the listener is closed; a connection accepted just as it closes may be reset
        // instead (Node closes connections that have not sent a request yet): both end the watch.
        events.push(r.code === 'ECONNREFUSED' ? 'proxy refused' : `proxy failed ${r.code}`)
        return
      } else if (r.status === 200 && events.includes('ready 503')) servedAfter503++
      await sleep(10)
    }
  })()
  await sleep(200)
  const exited = gw.stop('SIGTERM')
  await Promise.race([Promise.all([probe, traffic]), sleep(20_000)])
  stop = true
  await exited
  return { events, servedAfter503 }
}

t.test('SIGTERM: readiness turns 503 before any connection is refused (--drain-delay)', async (t) => {
  const { file } = await setup(t)
  const gw = await start(
    t,
    [file, '--port', '0', '--host', '127.0.0.1', '--status', '0', '--drain-delay', '3000', '--no-watch'],
    { env: { ALICE_KEY: 'k' }, timeout: 120_000 },
  )
  const { events, servedAfter503 } = await watchShutdown(gw)
  t.equal(events[0], 'ready 503', `readiness turned 503 first (${events})`)
  // Once the proxy stops listening, the status listener follows a few milliseconds later: which of
  // the two pollers notices first is a race, so only the order against readiness is asserted.
  t.ok(
    events.slice(1).some((e) => /^proxy (refused|failed)/.test(e)),
    `then the proxy stopped taking connections (${events})`,
  )
  t.ok(servedAfter503 > 0, `the proxy kept serving during the drain delay (${servedAfter503} requests)`)
})

t.test('--workers: one status listener for the process group', async (t) => {
  const { file } = await setup(t)
  const gw = await start(
    t,
    [file, '--port', '0', '--host', '127.0.0.1', '--workers', '2', '--status', '0', '--drain-delay', '3s'],
    { env: { ALICE_KEY: 'k' }, timeout: 120_000 },
  )
  t.match(gw.output(), /2 workers listening on http:\/\/127\.0\.0\.1:\d+, status on http:/)
  const status = gw.status as string
  for (let i = 0; i < 6; i++) await request(gw.url, { path: `/w${i}`, headers: { connection: 'close' } })
  const body = (await request(status, { path: '/status' })).json()
  t.equal(body.workers.length, 2, 'both workers are listed')
  t.not(body.workers[0].pid, gw.child.pid, 'the workers, not the primary')
  t.equal(body.requests.served, 6, 'requests served, summed over the workers')
  t.ok(
    body.workers.every(
      (w: { state: string; plugins: unknown[] }) => w.state === 'ready' && w.plugins.length === 1,
    ),
    'each worker is ready and says which plugins it runs',
  )
  t.equal((await request(status, { path: '/status/ready' })).status, 200)

  const { events, servedAfter503 } = await watchShutdown(gw)
  t.equal(events[0], 'ready 503', `readiness turned 503 first (${events})`)
  // Once the proxy stops listening, the status listener follows a few milliseconds later: which of
  // the two pollers notices first is a race, so only the order against readiness is asserted.
  t.ok(
    events.slice(1).some((e) => /^proxy (refused|failed)/.test(e)),
    `then the proxy stopped taking connections (${events})`,
  )
  t.ok(servedAfter503 > 0, 'the workers kept serving during the drain delay')
  t.equal(gw.child.exitCode, 0)
})
