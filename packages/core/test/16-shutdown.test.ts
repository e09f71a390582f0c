import { setTimeout as sleep } from 'node:timers/promises'
import { createGateway } from '@gatehousejs/core'
import { definePlugin, type GatewayConfig, Type } from '@gatehousejs/sdk'
import { request, startUpstream, type TestLike } from '@gatehousejs/sdk/testing'
import t from 'tap'

/**
 * Graceful shutdown: `close()` stops accepting connections at once, lets in-flight requests finish
 * (their `log` handlers included), then closes each plugin instance exactly once. It is idempotent.
 */

/** Polls until `check` holds, bounded to ~3 s. */
async function eventually(check: () => boolean): Promise<boolean> {
  for (let i = 0; i < 150; i++) {
    if (check()) return true
    await sleep(20)
  }
  return check()
}

function tracked(events: string[]) {
  return definePlugin({
    name: 'tracked',
    version: '1.0.0',
    priority: 100,
    schema: Type.Object({ value: Type.String({ default: 'v1' }) }),
    init(config) {
      events.push(`init:${config.value}`)
      return {
        response(ctx) {
          ctx.response.headers['x-tracked'] = config.value
        },
        async log(ctx) {
          await sleep(20)
          events.push(`log:${ctx.request.path}`)
        },
        close() {
          events.push(`close:${config.value}`)
        },
      }
    },
  })
}

async function slowUpstream(t: TestLike) {
  let arrived: () => void = () => {}
  const arrival = new Promise<void>((resolve) => (arrived = resolve))
  let release: () => void = () => {}
  const released = new Promise<void>((resolve) => (release = resolve))
  const upstream = await startUpstream({
    t,
    async handler(req, res) {
      if (req.url?.startsWith('/slow')) {
        arrived()
        await Promise.race([released, sleep(5_000, undefined, { ref: false })]) // bounded: the test releases it
      }
      res.writeHead(200, { 'content-type': 'text/plain' }).end('done')
    },
  })
  return { upstream, arrival, release }
}

function config(url: string, value = 'v1'): GatewayConfig {
  return {
    services: [{ name: 's', url, routes: [{ paths: ['/'] }] }],
    plugins: [{ name: 'tracked', config: { value } }],
  }
}

t.test(
  'close() lets an in-flight request finish, refuses new connections, closes plugins once',
  async (t) => {
    const events: string[] = []
    const { upstream, arrival, release } = await slowUpstream(t)
    const gw = await createGateway(config(upstream.url), {
      plugins: [tracked(events)],
      logger: false,
      handleSignals: false,
      drainTimeout: 5_000,
    })
    const url = await gw.listen({ port: 0, host: '127.0.0.1' })
    t.teardown(() => gw.close())

    const inFlight = request(url, { path: '/slow' })
    await arrival
    const closing = gw.close()
    t.ok(await eventually(() => !gw.server.listening), 'the server stopped listening')

    const refused = await request(url, { path: '/fast', timeout: 2_000 }).then(
      (res) => `answered ${res.status}`,
      (err: NodeJS.ErrnoException) => err.code,
    )
    t.equal(refused, 'ECONNREFUSED', 'a new connection is refused')
    t.notOk(events.includes('close:v1'), 'plugins are not closed while a request is in flight')

    release()
    const res = await inFlight
    t.equal(res.status, 200, 'the in-flight request completed')
    t.equal(res.text, 'done')
    t.equal(res.headers['x-tracked'], 'v1', 'with its response handlers')
    t.equal(res.headers.connection, 'close', 'and told the client the connection closes')

    await closing
    t.same(events, ['init:v1', 'log:/slow', 'close:v1'], 'the log handler ran, then close, once')
    t.equal(upstream.requests.length, 1, 'the refused request never reached the upstream')
  },
)

t.test('close() is idempotent', async (t) => {
  const events: string[] = []
  const { upstream } = await slowUpstream(t)
  const gw = await createGateway(config(upstream.url), {
    plugins: [tracked(events)],
    logger: false,
    handleSignals: false,
  })
  const url = await gw.listen({ port: 0, host: '127.0.0.1' })
  t.equal((await request(url, { path: '/x' })).status, 200)
  const first = gw.close()
  const second = gw.close()
  t.equal(first, second, 'a second call returns the same promise')
  await first
  await gw.close()
  t.equal(events.filter((e) => e.startsWith('close:')).length, 1, 'plugin close() ran once')
})

t.test('after reloads, each instance is closed exactly once, reused or replaced', async (t) => {
  const events: string[] = []
  const { upstream } = await slowUpstream(t)
  const gw = await createGateway(config(upstream.url), {
    plugins: [tracked(events)],
    logger: false,
    handleSignals: false,
  })
  const url = await gw.listen({ port: 0, host: '127.0.0.1' })
  await gw.reload(config(upstream.url)) // same config: v1 reused
  await gw.reload(config(upstream.url)) // and again
  t.equal((await request(url, { path: '/x' })).headers['x-tracked'], 'v1')
  await gw.reload(config(upstream.url, 'v2')) // v1 replaced
  t.equal((await request(url, { path: '/y' })).headers['x-tracked'], 'v2')
  await gw.close()
  await gw.close()
  t.same(
    events.filter((e) => !e.startsWith('log:')).sort(),
    ['close:v1', 'close:v2', 'init:v1', 'init:v2'],
    'one init and one close per instance',
  )
  await t.rejects(gw.reload(config(upstream.url, 'v3')), /closing/, 'a closed gateway refuses to reload')
})
