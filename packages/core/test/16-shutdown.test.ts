import net from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import { createGateway } from '@gatehousejs/core'
import { definePlugin, Type } from '@gatehousejs/sdk'
import type { GatewayConfig } from '@gatehousejs/sdk/config'
import { request, startUpstream, type TestLike } from '@gatehousejs/sdk/testing'
import t from 'tap'
import { parseRawResponse } from './helpers/http.js'
import { eventually } from './helpers/targets.js'

/**
 * Graceful shutdown: `close()` stops accepting connections at once, serves what arrives on connections
 * already open for a grace (each answer with `connection: close`), then refuses, lets in-flight
 * requests finish (their `log` handlers included), then closes each plugin instance exactly once.
 * It is idempotent.
 */

/** Polls until `check` holds, bounded to ~3 s. */
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

/** A raw keep-alive connection: `send` writes bytes and resolves with the next whole response. */
function keepAlive(url: string) {
  const { hostname, port } = new URL(url)
  const socket = net.connect({ host: hostname, port: Number(port) })
  let buffered = ''
  let waiting: ((raw: string) => void) | undefined
  const closed = new Promise<void>((resolve) =>
    socket.once('close', () => {
      // Closed without a (whole) answer: status 0, so a test fails on it instead of waiting.
      waiting?.(buffered)
      resolve()
    }),
  )
  socket.on('error', () => {})
  socket.on('data', (chunk: Buffer) => {
    buffered += chunk.toString('latin1')
    const end = buffered.indexOf('\r\n\r\n')
    if (end < 0) return
    const head = buffered.slice(0, end + 2)
    const length = /\r\ncontent-length:\s*(\d+)/i.exec(head)
    // Bodies here are small: a chunked one is whole at its last chunk.
    const last = /\r\ntransfer-encoding:\s*chunked/i.test(head) ? buffered.indexOf('\r\n0\r\n\r\n', end) : -1
    const size = length !== null ? Number(length[1]) : last >= 0 ? last + 7 - (end + 4) : -1
    if (size < 0 || buffered.length - (end + 4) < size) return
    const raw = buffered.slice(0, end + 4 + size)
    buffered = buffered.slice(raw.length)
    const answer = waiting
    waiting = undefined
    answer?.(raw)
  })
  return {
    closed,
    write: (data: string) => socket.write(data),
    send(data: string) {
      const answer = new Promise<ReturnType<typeof parseRawResponse>>((resolve) => {
        waiting = (raw) => {
          waiting = undefined
          resolve(parseRawResponse(raw))
        }
      })
      socket.write(data)
      return answer
    },
    destroy: () => socket.destroy(),
  }
}

const GET = (path: string) => `GET ${path} HTTP/1.1\r\nhost: gateway.test\r\n\r\n`

t.test(
  'close() stops accepting first: a keep-alive connection opened before is served (connection: close) during the grace; after it idle connections close and a late request is refused',
  async (t) => {
    const events: string[] = []
    const { upstream } = await slowUpstream(t)
    const gw = await createGateway(config(upstream.url), {
      plugins: [tracked(events)],
      logger: false,
      handleSignals: false,
      drainTimeout: 20_000,
      closeGrace: 3_000,
    })
    const url = await gw.listen({ port: 0, host: '127.0.0.1' })
    t.teardown(() => gw.close())

    // Three connections opened before close(): two used once and left idle, one in the middle of
    // sending its request head.
    const reused = keepAlive(url)
    const idle = keepAlive(url)
    const slowClient = keepAlive(url)
    t.teardown(() => {
      reused.destroy()
      idle.destroy()
      slowClient.destroy()
    })
    t.equal((await reused.send(GET('/first'))).status, 200)
    t.equal((await idle.send(GET('/first'))).status, 200)
    slowClient.write('GET /late HTTP/1.1\r\nhost: gateway.test\r\n')
    // The server has the half head once an answer on another connection has come back after it.
    t.equal((await reused.send(GET('/second'))).status, 200)

    const closing = gw.close()
    t.notOk(gw.server.listening, 'close() stops accepting at once')
    const refused = await request(url, { path: '/new', timeout: 2_000 }).then(
      (res) => `answered ${res.status}`,
      (err: NodeJS.ErrnoException) => err.code,
    )
    t.equal(refused, 'ECONNREFUSED', 'a new connection is refused (it goes to another worker or node)')

    const served = await reused.send(GET('/during-grace'))
    t.equal(served.status, 200, 'a request on an open keep-alive connection is served, not refused')
    t.equal(served.headers['x-tracked'], 'v1')
    t.equal(served.headers.connection, 'close', 'and told to take its next request elsewhere')
    await reused.closed

    // The grace ends: the idle connection is closed; a request completed only now is refused.
    await idle.closed
    const late = slowClient.send('\r\n')
    const answer = await late
    t.equal(answer.status, 503, 'a request that arrives after the grace is refused')
    t.equal(JSON.parse(answer.body).code, 'GH_GATEWAY_CLOSING')
    t.equal(answer.headers.connection, 'close')

    await closing
    t.same(
      upstream.requests.map((r) => r.url),
      ['/first', '/first', '/second', '/during-grace'],
      'the refused requests never reached the upstream',
    )
    t.equal(events.at(-1), 'close:v1', 'plugins closed last')
  },
)
