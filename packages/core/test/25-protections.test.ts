/**
 * The server edge's protections (docs/reliability.md), over real sockets: slow clients are cut (408)
 * while others are served, idle and over-used connections are closed, the connection cap and the
 * in-flight caps answer 503 with Retry-After at once, and a CPU hog turns overload shedding on, then
 * off again by itself. No timing is asserted beyond generous bounds.
 */
import type http from 'node:http'
import net from 'node:net'
import { Writable } from 'node:stream'
import { definePlugin, Type } from '@gatehousejs/sdk'
import type { GatewayConfig } from '@gatehousejs/sdk/config'
import { request, startGateway, startUpstream, type TestGateway } from '@gatehousejs/sdk/testing'
import { pino } from 'pino'
import t, { type Test } from 'tap'
import { ERROR_BODY_KEYS, eventWithin, parseRawResponse, rawRequest, waitUntil } from './helpers/http.js'

function assertRefusal(
  tt: Test,
  res: { status: number; headers: Record<string, unknown>; body: string },
  status: number,
  code: string,
  label: string,
) {
  tt.equal(res.status, status, `${label}: ${status}`)
  tt.match(String(res.headers['content-type']), /^application\/json/, `${label}: JSON`)
  const body = JSON.parse(res.body) as Record<string, unknown>
  tt.same(Object.keys(body).sort(), ERROR_BODY_KEYS, `${label}: an error body`)
  tt.equal(body.code, code, `${label}: ${code}`)
}

/** An upstream that holds every request on `/hold` until `release()`; others are answered at once. */
async function holdingUpstream(tt: Test) {
  const held: http.ServerResponse[] = []
  const up = await startUpstream({
    t: tt,
    handler(req, res) {
      if (req.url?.startsWith('/hold')) {
        held.push(res)
        return
      }
      res.end('ok')
    },
  })
  return {
    up,
    held,
    release() {
      for (const res of held.splice(0)) res.end('released')
    },
  }
}

/** Opens a socket and resolves once it is connected. */
function connect(url: string): Promise<net.Socket> {
  const { hostname, port } = new URL(url)
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: hostname, port: Number(port) }, () => resolve(socket))
    socket.once('error', reject)
  })
}

/** Sends one keep-alive GET on `socket` and resolves with the answer (the socket stays open). */
function getOn(socket: net.Socket, path: string): Promise<ReturnType<typeof parseRawResponse>> {
  return new Promise((resolve, reject) => {
    let text = ''
    const timer = setTimeout(() => reject(new Error('no answer within 5 s')), 5_000)
    const onData = (c: Buffer) => {
      text += c.toString('latin1')
      const res = parseRawResponse(text)
      const length = Number(res.headers['content-length'] ?? -1)
      if (res.status !== 0 && Buffer.byteLength(res.body, 'latin1') >= length) {
        clearTimeout(timer)
        socket.off('data', onData)
        resolve(res)
      }
    }
    socket.on('data', onData)
    socket.write(`GET ${path} HTTP/1.1\r\nHost: gw.test\r\n\r\n`)
  })
}

function simpleConfig(url: string, extra: Partial<GatewayConfig> = {}): GatewayConfig {
  return { services: [{ name: 'api', url, routes: [{ paths: ['/api'] }] }], ...extra }
}

t.test('slowloris: a client trickling its headers is cut with 408 while others are served', async (t) => {
  const up = await startUpstream({ t })
  const gw = await startGateway({ t, config: simpleConfig(up.url, { server: { headersTimeout: '500ms' } }) })
  const socket = await connect(gw.url)
  t.teardown(() => socket.destroy())
  let received = ''
  socket.on('data', (c: Buffer) => {
    received += c.toString('latin1')
  })
  const closed = eventWithin(socket, 'close', 15_000)
  socket.write('GET /api/slow HTTP/1.1\r\nHost: gw.test\r\n')
  // One header line every 100 ms, at most 100 of them (10 s): far beyond the 500 ms allowed.
  let lines = 0
  const trickle = setInterval(() => {
    if (socket.destroyed || ++lines > 100) return clearInterval(trickle)
    socket.write(`X-Slow-${lines}: x\r\n`)
  }, 100)
  t.teardown(() => clearInterval(trickle))
  // Meanwhile, normal clients are served.
  const normal = await Promise.all([1, 2, 3].map(() => gw.request({ path: '/api/normal' })))
  t.same(
    normal.map((r) => r.status),
    [200, 200, 200],
    'normal clients are served during the attack',
  )
  await closed
  clearInterval(trickle)
  t.ok(lines < 100, `the connection was cut before the client finished (after ${lines} header lines)`)
  assertRefusal(t, parseRawResponse(received), 408, 'GH_REQUEST_TIMEOUT', 'slowloris')
  t.notOk(
    up.requests.some((r) => r.url.includes('slow')),
    'the incomplete request never reached the upstream',
  )
})

t.test('slow clients are logged once per client address, not once per connection', async (t) => {
  const lines: Record<string, unknown>[] = []
  const stream = new Writable({
    write(chunk, _enc, done) {
      for (const l of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(l))
      done()
    },
  })
  const up = await startUpstream({ t })
  const gw = await startGateway({
    t,
    logger: pino({ level: 'info' }, stream) as never,
    config: simpleConfig(up.url, { server: { headersTimeout: '500ms' } }),
  })
  // Four slowloris connections from the same address (127.0.0.1): each sends half a head, then waits.
  const sockets = await Promise.all([1, 2, 3, 4].map(() => connect(gw.url)))
  t.teardown(() => {
    for (const s of sockets) s.destroy()
  })
  const answers = sockets.map((socket) => {
    let received = ''
    socket.on('data', (c: Buffer) => {
      received += c.toString('latin1')
    })
    const closed = eventWithin(socket, 'close', 15_000)
    socket.write('GET /api/slow HTTP/1.1\r\nHost: gw.test\r\n')
    return closed.then(() => parseRawResponse(received))
  })
  for (const [i, res] of (await Promise.all(answers)).entries())
    assertRefusal(t, res, 408, 'GH_REQUEST_TIMEOUT', `slow connection ${i + 1}`)
  const slowLines = lines.filter((l) => String(l.msg).startsWith('client too slow'))
  t.equal(slowLines.length, 1, 'one info line for the client, not one per connection')
  t.equal(slowLines[0]?.client, '127.0.0.1', 'it names the client address')
  const counted = lines
    .map((l) => (l.refused as Record<string, number> | undefined)?.GH_REQUEST_TIMEOUT ?? 0)
    .reduce((a, b) => a + b, 0)
  t.ok(
    counted <= 3,
    `the other cuts are counted in the throttled summary (${counted} so far), not logged each`,
  )
  const about = lines.filter(
    (l) =>
      l.code === 'GH_REQUEST_TIMEOUT' ||
      (l.refused as Record<string, number> | undefined)?.GH_REQUEST_TIMEOUT,
  )
  t.ok(about.length < 4, `fewer log lines about slow clients (${about.length}) than connections cut (4)`)
})

t.test('slow POST: a body trickling past requestTimeout gets 408', async (t) => {
  const up = await startUpstream({ t })
  const gw = await startGateway({ t, config: simpleConfig(up.url, { server: { requestTimeout: '1s' } }) })
  const socket = await connect(gw.url)
  t.teardown(() => socket.destroy())
  let received = ''
  socket.on('data', (c: Buffer) => {
    received += c.toString('latin1')
  })
  const closed = eventWithin(socket, 'close', 15_000)
  socket.write('POST /api/upload HTTP/1.1\r\nHost: gw.test\r\nContent-Length: 100\r\n\r\n')
  let sent = 0
  const trickle = setInterval(() => {
    if (socket.destroyed || ++sent > 99) return clearInterval(trickle)
    socket.write('x')
  }, 100)
  t.teardown(() => clearInterval(trickle))
  await closed
  clearInterval(trickle)
  t.ok(sent < 99, `cut before the body was complete (${sent} of 100 bytes sent)`)
  assertRefusal(t, parseRawResponse(received), 408, 'GH_REQUEST_TIMEOUT', 'slow POST')
  t.equal((await gw.request({ path: '/api/after' })).status, 200, 'the gateway still serves')
})

t.test('an idle keep-alive connection is closed after keepAliveTimeout', async (t) => {
  const up = await startUpstream({ t })
  const gw = await startGateway({ t, config: simpleConfig(up.url), options: { keepAliveTimeout: 300 } })
  const socket = await connect(gw.url)
  t.teardown(() => socket.destroy())
  const res = await getOn(socket, '/api/one')
  t.equal(res.status, 200)
  t.not(res.headers.connection, 'close', 'the connection was kept alive')
  await eventWithin(socket, 'close', 10_000)
  t.pass('the gateway closed the idle connection')
})

t.test('maxRequestsPerConnection: the last request allowed is answered with Connection: close', async (t) => {
  const up = await startUpstream({ t })
  const gw = await startGateway({
    t,
    config: simpleConfig(up.url, { server: { maxRequestsPerConnection: 2 } }),
  })
  const socket = await connect(gw.url)
  t.teardown(() => socket.destroy())
  const closed = eventWithin(socket, 'close', 10_000)
  const first = await getOn(socket, '/api/1')
  const second = await getOn(socket, '/api/2')
  t.equal(first.status, 200)
  t.not(first.headers.connection, 'close', 'the first keeps the connection')
  t.equal(second.status, 200)
  t.equal(second.headers.connection, 'close', 'the second closes it')
  await closed
  t.equal(up.requests.length, 2, 'both were proxied')
})

t.test('maxConnections: a connection beyond the cap gets 503 with Retry-After and is closed', async (t) => {
  const up = await startUpstream({ t })
  const gw = await startGateway({ t, config: simpleConfig(up.url, { server: { maxConnections: 2 } }) })
  const held = [await connect(gw.url), await connect(gw.url)]
  t.teardown(() => {
    for (const s of held) s.destroy()
  })
  // Both are served: the cap counts them.
  for (const s of held) t.equal((await getOn(s, '/api/held')).status, 200, 'a connection within the cap')
  const res = await rawRequest(gw.url, 'GET /api/third HTTP/1.1\r\nHost: gw.test\r\n\r\n')
  assertRefusal(t, res, 503, 'GH_GATEWAY_CONNECTION_LIMIT', 'third connection')
  t.equal(res.headers['retry-after'], '1', 'Retry-After')
  t.equal(res.headers.connection, 'close', 'the connection is closed')
  t.notOk(
    up.requests.some((r) => r.url.includes('third')),
    'the refused request never reached the upstream',
  )
  // Still open connections keep working; once one closes, a new one is served again.
  t.equal((await getOn(held[0]!, '/api/again')).status, 200, 'a held connection still serves')
  held[1]!.destroy()
  // The gateway counts the closed one out when it sees the close: polled, at most 100 tries.
  let status = 0
  for (let i = 0; i < 100 && status !== 200; i++) {
    const r = await rawRequest(
      gw.url,
      'GET /api/later HTTP/1.1\r\nHost: gw.test\r\nConnection: close\r\n\r\n',
    )
    status = r.status
    if (status !== 200) await new Promise((resolve) => setTimeout(resolve, 50))
  }
  t.equal(status, 200, 'a new connection is served once one closed')
})

t.test('a route maxInflight answers 503 beyond it; other routes are served', async (t) => {
  const h = await holdingUpstream(t)
  const gw = await startGateway({
    t,
    config: {
      services: [
        {
          name: 'api',
          url: h.up.url,
          routes: [
            { name: 'slow', paths: ['/hold'], stripPath: false, maxInflight: 2 },
            { name: 'other', paths: ['/other'] },
          ],
        },
      ],
    },
  })
  const pending = [gw.request({ path: '/hold/1' }), gw.request({ path: '/hold/2' })]
  await waitUntil(() => h.held.length === 2, 10_000, 'two requests held upstream')
  const third = await gw.request({ path: '/hold/3' })
  assertRefusal(t, { ...third, body: third.text }, 503, 'GH_ROUTE_CONCURRENCY_LIMIT', 'third on the route')
  t.equal(third.headers['retry-after'], '1', 'Retry-After')
  t.equal((await gw.request({ path: '/other' })).status, 200, 'another route is served')
  h.release()
  t.same(
    (await Promise.all(pending)).map((r) => r.status),
    [200, 200],
    'the held requests finish',
  )
  const fourth = gw.request({ path: '/hold/4' })
  await waitUntil(() => h.held.length === 1, 10_000, 'the fourth request held upstream')
  h.release()
  t.equal((await fourth).status, 200, 'the route serves again once below its cap')
  t.equal(h.up.requests.filter((r) => r.url === '/hold/3').length, 0, 'the refused request was not proxied')
})

t.test(
  'server maxInflight (set by a reload) answers 503 GH_GATEWAY_CONCURRENCY_LIMIT beyond it',
  async (t) => {
    const h = await holdingUpstream(t)
    const services = [{ name: 'api', url: h.up.url, routes: [{ paths: ['/'], stripPath: false }] }]
    const gw = await startGateway({ t, config: { services } })
    // A reload changes the server limits of the running gateway.
    await gw.gateway.reload({ server: { maxInflight: 1 }, services })
    const first = gw.request({ path: '/hold/1' })
    await waitUntil(() => h.held.length === 1, 10_000, 'one request held upstream')
    const second = await gw.request({ path: '/fast' })
    assertRefusal(t, { ...second, body: second.text }, 503, 'GH_GATEWAY_CONCURRENCY_LIMIT', 'second request')
    t.equal(second.headers['retry-after'], '1', 'Retry-After')
    h.release()
    t.equal((await first).status, 200, 'the first finishes')
    t.equal((await gw.request({ path: '/fast' })).status, 200, 'served again below the cap')
  },
)

/** Burns the CPU for `ms` in the access phase: the gateway's event loop stalls. */
const hog = definePlugin({
  name: 'hog',
  version: '1.0.0',
  priority: 1000,
  schema: Type.Object({ ms: Type.Integer() }),
  init: (config) => ({
    access() {
      const end = performance.now() + config.ms
      while (performance.now() < end) {}
    },
  }),
})

t.test('overload: a CPU hog turns shedding on (503, status exempt), and it turns off after', async (t) => {
  const up = await startUpstream({ t })
  const gw: TestGateway = await startGateway({
    t,
    plugins: [hog],
    options: { status: { port: 0 } },
    config: {
      server: { maxEventLoopDelay: '100ms' },
      services: [
        {
          name: 'api',
          url: up.url,
          routes: [
            { name: 'hog', paths: ['/hog'], plugins: [{ name: 'hog', config: { ms: 300 } }] },
            { name: 'fast', paths: ['/fast'] },
          ],
        },
      ],
    },
  })
  t.equal((await gw.request({ path: '/fast' })).status, 200, 'served before the hog')
  const statusUrl = (gw.gateway as unknown as { statusUrl: string }).statusUrl
  // Two clients keep the hog busy: at most 40 requests each, until one is shed.
  let shed: Awaited<ReturnType<typeof request>> | undefined
  let statusDuringShedding = 0
  async function client() {
    for (let i = 0; i < 40 && shed === undefined; i++) {
      const res = await gw.request({ path: '/hog' })
      if (res.status === 503 && shed === undefined) {
        shed = res
        statusDuringShedding = (await request(statusUrl, { path: '/status/live' })).status
      }
    }
  }
  await Promise.all([client(), client()])
  t.ok(shed, 'a request was shed while the hog ran')
  if (shed === undefined) return
  assertRefusal(t, { ...shed, body: shed.text }, 503, 'GH_GATEWAY_OVERLOADED', 'shed request')
  t.equal(shed.headers['retry-after'], '1', 'Retry-After')
  t.equal(statusDuringShedding, 200, 'the status listener is not shed')
  // Recovery: with the hog stopped, requests are served again (polled, bounded to 15 s).
  let recovered = 0
  for (let i = 0; i < 75 && recovered !== 200; i++) {
    recovered = (await gw.request({ path: '/fast' })).status
    if (recovered !== 200) await new Promise((r) => setTimeout(r, 200))
  }
  t.equal(recovered, 200, 'shedding turned off by itself')
})

t.test('the server section and route maxInflight are validated, each problem named by pointer', async (t) => {
  const { createGateway } = await import('@gatehousejs/core')
  async function pointers(config: unknown): Promise<string[]> {
    try {
      await createGateway(config as GatewayConfig, { logger: false, handleSignals: false })
    } catch (err) {
      return ((err as { issues?: { pointer: string }[] }).issues ?? []).map((i) => i.pointer).sort()
    }
    return []
  }
  t.same(await pointers({ server: { maxConnections: -1, headersTimeout: 'soon' } }), [
    '/server/headersTimeout',
    '/server/maxConnections',
  ])
  t.same(
    await pointers({
      services: [{ name: 'a', url: 'http://127.0.0.1:1', routes: [{ paths: ['/'], maxInflight: 1.5 }] }],
    }),
    ['/services/0/routes/0/maxInflight'],
  )
})

t.test(
  'upstream pool: beyond connections + queue → 503 QUEUE_FULL; a long wait → 503 QUEUE_TIMEOUT',
  async (t) => {
    const h = await holdingUpstream(t)
    // Which requests have passed the access phase: from there to the pool is the same process, with
    // no I/O in between, so a request seen here is in the pool's queue by the next timer.
    const arrived: string[] = []
    const seen = definePlugin({
      name: 'seen',
      version: '1.0.0',
      priority: 1000,
      init: () => ({
        access(ctx) {
          arrived.push(ctx.request.path)
        },
      }),
    })
    const gw = await startGateway({
      t,
      plugins: [seen],
      config: {
        plugins: [{ name: 'seen' }],
        services: [
          {
            name: 'api',
            url: h.up.url,
            // 2 s: the third request must find the second still waiting, however busy the machine.
            pool: { connections: 1, queue: 1, queueTimeout: '2s' },
            routes: [{ paths: ['/'], stripPath: false }],
          },
        ],
      },
    })
    const first = gw.request({ path: '/hold/1' })
    await waitUntil(() => h.held.length === 1, 10_000, 'the one connection busy')
    // The second waits for the connection (the queue holds one); the third finds the queue full.
    const second = gw.request({ path: '/hold/2' })
    await waitUntil(() => arrived.includes('/hold/2'), 10_000, 'the second request queued')
    await new Promise((r) => setTimeout(r, 10))
    const third = await gw.request({ path: '/hold/3' })
    assertRefusal(t, { ...third, body: third.text }, 503, 'GH_UPSTREAM_QUEUE_FULL', 'third request')
    t.equal(third.headers['retry-after'], '1', 'Retry-After')
    const waited = await second
    assertRefusal(t, { ...waited, body: waited.text }, 503, 'GH_UPSTREAM_QUEUE_TIMEOUT', 'second request')
    t.equal(waited.headers['retry-after'], '1', 'Retry-After')
    h.release()
    t.equal((await first).status, 200, 'the first finishes')
    t.equal((await gw.request({ path: '/after' })).status, 200, 'the pool serves again')
    t.same(
      h.up.requests.map((r) => r.url),
      ['/hold/1', '/after'],
      'the refused and the expired requests never reached the upstream',
    )
  },
)

t.test('upstream pool: queue settings without connections are a config error', async (t) => {
  const { createGateway } = await import('@gatehousejs/core')
  const err = await createGateway(
    { services: [{ name: 'a', url: 'http://127.0.0.1:1', pool: { queue: 5 } }] },
    { logger: false, handleSignals: false },
  ).catch((e: unknown) => e)
  t.same(
    ((err as { issues?: { pointer: string }[] }).issues ?? []).map((i) => i.pointer),
    ['/services/0/pool'],
  )
})
