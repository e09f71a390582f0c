/**
 * When the upstream fails the client gets a stable 5xx code and a body that says nothing about our
 * network (docs/errors.md); when the client goes away, the upstream hears about it.
 */
import { spawn } from 'node:child_process'
import http from 'node:http'
import net from 'node:net'
import type { GatewayConfig } from '@gatehousejs/sdk/config'
import { startGateway, startUpstream, type TestResponse, withoutTapHook } from '@gatehousejs/sdk/testing'
import t, { type Test } from 'tap'
import { ERROR_BODY_KEYS, eventWithin, startRawUpstream, unusedPort, waitUntil } from './helpers/http.js'

function gatewayTo(tt: Test, url: string, timeouts?: { connect?: string; read?: string }) {
  const config: GatewayConfig = { services: [{ name: 'up', url, timeouts, routes: [{ paths: ['/'] }] }] }
  return startGateway({ t: tt, config })
}

/** The client-facing error: its status, code and a body that leaks nothing about the upstream. */
function assertSafeError(tt: Test, res: TestResponse, status: number, code: string, upstreamPort: number) {
  tt.equal(res.status, status, `status ${status}`)
  tt.match(res.headers['content-type'], /^application\/json/)
  const body = res.json()
  tt.same(Object.keys(body).sort(), ERROR_BODY_KEYS, 'only the documented keys')
  tt.equal(body.code, code)
  tt.equal(body.statusCode, status)
  tt.equal(body.requestId, res.headers['x-request-id'])
  for (const secret of [
    '127.0.0.1',
    String(upstreamPort),
    'ECONN',
    'UND_ERR',
    'undici',
    '    at ',
    'Error:',
  ]) {
    tt.notOk(res.text.includes(secret), `the body does not mention ${JSON.stringify(secret)}`)
  }
}

t.test('connection refused → 502 GH_UPSTREAM_UNREACHABLE', async (t) => {
  const port = await unusedPort()
  const gw = await gatewayTo(t, `http://127.0.0.1:${port}/base`)
  const res = await gw.request({ path: '/x' })
  assertSafeError(t, res, 502, 'GH_UPSTREAM_UNREACHABLE', port)
})

t.test('the upstream resets the connection before answering → 502', async (t) => {
  const raw = await startRawUpstream(t, (socket) => socket.resetAndDestroy())
  const gw = await gatewayTo(t, raw.url)
  const res = await gw.request({ path: '/x' })
  assertSafeError(t, res, 502, 'GH_UPSTREAM_UNREACHABLE', raw.port)
  t.ok(raw.heads.length >= 1, 'the request did reach the upstream')
})

t.test('the upstream answers with garbage → 502 GH_UPSTREAM_BAD_RESPONSE', async (t) => {
  const raw = await startRawUpstream(t, (socket) => socket.end('SMTP ready\r\n\r\n'))
  const gw = await gatewayTo(t, raw.url)
  const res = await gw.request({ path: '/x' })
  assertSafeError(t, res, 502, 'GH_UPSTREAM_BAD_RESPONSE', raw.port)
})

t.test('the upstream resets mid-body → the client sees a broken response, not a short one', async (t) => {
  const raw = await startRawUpstream(t, (socket) => {
    socket.write('HTTP/1.1 200 OK\r\ncontent-length: 1000\r\n\r\npartial')
    setTimeout(() => socket.resetAndDestroy(), 50)
  })
  const gw = await gatewayTo(t, raw.url)
  const err = await gw.request({ path: '/x', timeout: 5_000 }).then(
    (res) => new Error(`got a complete response: ${res.status} ${res.text}`),
    (e: Error) => e,
  )
  t.match(
    err.message,
    /aborted|socket hang up|ECONNRESET|terminated/i,
    `the client's request failed: ${err.message}`,
  )
})

t.test('the upstream is slower than timeouts.read → 504 GH_UPSTREAM_TIMEOUT', async (t) => {
  const upstream = await startUpstream({
    t,
    handler: (_req, res) => {
      const timer = setTimeout(() => res.end('late'), 2_000)
      res.on('close', () => clearTimeout(timer))
    },
  })
  const gw = await gatewayTo(t, upstream.url, { read: '200ms' })
  const res = await gw.request({ path: '/slow', timeout: 5_000 })
  assertSafeError(t, res, 504, 'GH_UPSTREAM_TIMEOUT', upstream.port)
})

t.test('a per-route read timeout overrides the service’s', async (t) => {
  const upstream = await startUpstream({
    t,
    handler: (_req, res) => {
      const timer = setTimeout(() => res.end('late'), 2_000)
      res.on('close', () => clearTimeout(timer))
    },
  })
  const gw = await startGateway({
    t,
    config: {
      services: [
        {
          name: 'up',
          url: upstream.url,
          timeouts: { read: '30s' },
          routes: [{ paths: ['/'], timeouts: { read: 200 } }],
        },
      ],
    },
  })
  const res = await gw.request({ path: '/slow', timeout: 5_000 })
  assertSafeError(t, res, 504, 'GH_UPSTREAM_TIMEOUT', upstream.port)
})

t.test('an upstream that never accepts the connection → 504 after timeouts.connect', async (t) => {
  // A listener whose process never calls accept(): once its backlog is full the kernel drops new SYNs,
  // so a connect hangs until the gateway's connect timeout. The child blocks its own event loop.
  const child = spawn(
    ...withoutTapHook(process.execPath, [
      '-e',
      `const s = require('net').createServer().listen({ port: 0, host: '127.0.0.1', backlog: 1 }, () => {
         process.stdout.write(String(s.address().port) + '\\n')
         Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 60000)
       })`,
    ]),
    { stdio: ['ignore', 'pipe', 'inherit'] },
  )
  t.teardown(() => {
    child.kill('SIGKILL')
  })
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the listener did not start')), 10_000)
    child.stdout!.once('data', (d: Buffer) => {
      clearTimeout(timer)
      resolve(Number(d.toString().trim()))
    })
  })
  // Fill the accept queue, then prove it is full: a further connect must not complete.
  const fillers: net.Socket[] = []
  t.teardown(() => {
    for (const s of fillers) s.destroy()
  })
  for (let i = 0; i < 4; i++) {
    const s = net.connect({ port, host: '127.0.0.1' })
    s.on('error', () => {})
    fillers.push(s)
  }
  await new Promise((r) => setTimeout(r, 200))
  const probe = net.connect({ port, host: '127.0.0.1' })
  probe.on('error', () => {})
  fillers.push(probe)
  const connected = await eventWithin(probe, 'connect', 500).then(
    () => true,
    () => false,
  )
  t.notOk(connected, 'precondition: the listener’s queue is full, connects hang')

  // A long read timeout: only the connect timeout can answer within the client's 10 s.
  const gw = await gatewayTo(t, `http://127.0.0.1:${port}`, { connect: '200ms', read: '60s' })
  const res = await gw.request({ path: '/x', timeout: 10_000 })
  assertSafeError(t, res, 504, 'GH_UPSTREAM_TIMEOUT', port)
})

t.test('a client that goes away aborts the upstream request', async (t) => {
  let upstreamClosed = 0
  let received = 0
  const upstream = await startUpstream({
    t,
    handler: (req, res) => {
      received++
      if (req.url?.startsWith('/streaming')) {
        res.writeHead(200, { 'content-type': 'text/plain' })
        const timer = setInterval(() => res.write('tick\n'), 20)
        res.on('close', () => clearInterval(timer))
      }
      // Otherwise never answer: the upstream is "still working".
      res.on('close', () => upstreamClosed++)
    },
  })
  const gw = await gatewayTo(t, upstream.url, { read: '60s' })
  const { port } = new URL(gw.url)

  // Before the response headers: the client drops while the upstream is working.
  const before = http.get({ host: '127.0.0.1', port, path: '/working', agent: false })
  before.on('error', () => {})
  await waitUntil(() => received === 1, 5_000, 'the upstream received the first request')
  before.destroy()
  await waitUntil(() => upstreamClosed === 1, 5_000, 'the upstream saw the first request close')
  t.pass('an abort before the response reaches the upstream')

  // During the response body: the client drops while the upstream is still streaming.
  await new Promise<void>((resolve, reject) => {
    const during = http.get({ host: '127.0.0.1', port, path: '/streaming', agent: false }, (res) => {
      res.once('data', () => {
        during.destroy()
        resolve()
      })
    })
    during.on('error', () => {})
    during.setTimeout(5_000, () => reject(new Error('no body chunk within 5 s')))
  })
  await waitUntil(() => upstreamClosed === 2, 5_000, 'the upstream saw the streaming request close')
  t.pass('an abort during the response body reaches the upstream')
})
