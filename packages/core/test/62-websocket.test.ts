/**
 * WebSocket proxying: the upgrade request runs `rewrite` and `access` (auth refuses before the
 * upgrade, with a JSON answer), then frames pass both ways; either side closing closes the other; an
 * idle tunnel is closed after the route's read timeout; `log` runs once it is over. The `ws` package
 * is the client and the upstream server; the gateway itself does not parse frames.
 */
import { once } from 'node:events'
import http, { type IncomingMessage } from 'node:http'
import type { AddressInfo } from 'node:net'
import { defineError, definePlugin } from '@gatehousejs/sdk'
import type { GatewayConfig } from '@gatehousejs/sdk/config'
import { startGateway, startUpstream } from '@gatehousejs/sdk/testing'
import t, { type Test } from 'tap'
import WebSocket, { WebSocketServer } from 'ws'
import { createGateway } from '../src/index.js'
import { makeCa, makeServerCert } from './helpers/certs.js'
import { rawRequest } from './helpers/http.js'

const Unauthorized = defineError('GH_TEST_UNAUTHORIZED', 401, 'No valid key')

/** What the gateway's plugins saw in `log`, per request. */
const logged: { path: string; status: number | undefined }[] = []

// An inline auth plugin: a key in a header or the query (browsers cannot set headers on WebSocket).
const keyAuth = definePlugin({
  name: 'test-key-auth',
  version: '1.0.0',
  priority: 1000,
  init() {
    return {
      access(ctx) {
        const key = ctx.request.headers['x-api-key'] ?? ctx.request.query.key
        if (key !== 'secret') throw Unauthorized().withHeaders({ 'www-authenticate': 'Key' })
        ctx.upstream.headers['x-consumer'] = 'alice'
      },
      log(ctx) {
        logged.push({ path: ctx.request.path, status: ctx.response?.status })
      },
    }
  },
})

interface EchoServer {
  url: string
  /** The upgrade requests received, in order. */
  upgrades: IncomingMessage[]
  wss: WebSocketServer
  server: http.Server
}

/** A WebSocket echo upstream; a plain HTTP request to it gets 426 (like many WebSocket-only servers). */
async function startEcho(t: Test): Promise<EchoServer> {
  const upgrades: IncomingMessage[] = []
  const server = http.createServer((_req, res) => {
    res.writeHead(426, { 'content-type': 'text/plain' })
    res.end('websocket only')
  })
  const wss = new WebSocketServer({
    server,
    handleProtocols: (protocols) => (protocols.has('chat') ? 'chat' : false),
  })
  wss.on('connection', (ws, req) => {
    upgrades.push(req)
    ws.on('message', (data, isBinary) => {
      if (String(data) === 'close-please') ws.close(4001, 'asked to')
      else ws.send(data, { binary: isBinary })
    })
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  t.teardown(async () => {
    for (const c of wss.clients) c.terminate()
    wss.close()
    server.closeAllConnections()
    await new Promise((r) => server.close(r))
  })
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, upgrades, wss, server }
}

function gatewayConfig(echoUrl: string, read?: number): GatewayConfig {
  return {
    services: [
      {
        name: 'chat',
        url: `${echoUrl}/ws`,
        ...(read !== undefined ? { timeouts: { read } } : {}),
        routes: [{ paths: ['/chat'] }],
      },
    ],
    plugins: [{ name: 'test-key-auth' }],
  }
}

function wsUrl(gatewayUrl: string, path: string): string {
  return gatewayUrl.replace(/^http/, 'ws') + path
}

/** Opens a client; resolves once open, or with the HTTP answer that refused the upgrade. */
function connect(
  url: string,
  options: WebSocket.ClientOptions & { protocols?: string[] } = {},
): Promise<{ ws?: WebSocket; status?: number; body?: string; headers?: http.IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, options.protocols ?? [], options)
    ws.once('open', () => resolve({ ws }))
    ws.once('unexpected-response', (_req, res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (c) => (body += c))
      res.on('end', () => resolve({ status: res.statusCode, body, headers: res.headers }))
    })
    ws.once('error', reject)
  })
}

async function waitFor(done: () => boolean): Promise<void> {
  for (let i = 0; i < 100 && !done(); i++) await new Promise((r) => setTimeout(r, 20))
}

function nextMessage(ws: WebSocket): Promise<{ data: string; binary: boolean }> {
  return new Promise((resolve) =>
    ws.once('message', (data, binary) => resolve({ data: String(data), binary })),
  )
}

t.test('WebSocket echo through the gateway, with auth required on the upgrade', async (t) => {
  const echo = await startEcho(t)
  const gw = await startGateway({ t, createGateway, plugins: [keyAuth], config: gatewayConfig(echo.url) })

  const refused = await connect(wsUrl(gw.url, '/chat/room'))
  t.equal(refused.status, 401, 'no key: 401 before any upgrade')
  t.equal(JSON.parse(refused.body!).code, 'GH_TEST_UNAUTHORIZED', 'with the JSON error body')
  t.equal(refused.headers!['www-authenticate'], 'Key')
  t.equal(echo.upgrades.length, 0, 'the upstream saw nothing')

  const { ws } = await connect(wsUrl(gw.url, '/chat/room?key=secret'), { protocols: ['chat'] })
  t.ok(ws, 'with a key the upgrade goes through')
  t.equal(ws!.protocol, 'chat', 'the subprotocol the upstream chose comes back')
  const seen = echo.upgrades[0]!
  t.equal(seen.url, '/ws/room?key=secret', 'the route path is stripped and the service path added')
  t.equal(seen.headers['x-consumer'], 'alice', 'headers set in access reach the upstream')
  t.equal(seen.headers['x-forwarded-for'], '127.0.0.1')

  ws!.send('hello')
  t.same(await nextMessage(ws!), { data: 'hello', binary: false }, 'a text frame echoes')
  ws!.send(Buffer.from([0, 1, 2, 255]))
  const bin = await nextMessage(ws!)
  t.equal(bin.binary, true, 'a binary frame echoes')
  const big = 'x'.repeat(256 * 1024)
  ws!.send(big)
  t.equal((await nextMessage(ws!)).data.length, big.length, 'a 256 KiB frame passes whole')

  const headerKey = await connect(wsUrl(gw.url, '/chat/other'), { headers: { 'x-api-key': 'secret' } })
  t.ok(headerKey.ws, 'a key in a header works too')
  headerKey.ws!.close()
  await once(headerKey.ws!, 'close')
  await waitFor(() => logged.some((l) => l.path === '/chat/other'))

  logged.length = 0
  ws!.close(1000, 'bye')
  const [code] = (await once(ws!, 'close')) as [number]
  t.equal(code, 1000, 'the close handshake passes through')
  await waitFor(() => logged.length > 0)
  t.same(logged, [{ path: '/chat/room', status: 101 }], 'log runs once the tunnel is closed')
})

t.test('either side closing closes the other; an idle tunnel is closed', async (t) => {
  const echo = await startEcho(t)
  const gw = await startGateway({
    t,
    createGateway,
    plugins: [keyAuth],
    config: gatewayConfig(echo.url, 1000),
  })

  const { ws } = await connect(wsUrl(gw.url, '/chat?key=secret'))
  ws!.send('close-please')
  const [code, reason] = (await once(ws!, 'close')) as [number, Buffer]
  t.equal(code, 4001, 'the upstream closing reaches the client with its code')
  t.equal(String(reason), 'asked to')

  const second = (await connect(wsUrl(gw.url, '/chat?key=secret'))).ws!
  await new Promise((r) => setTimeout(r, 50))
  const upstreamSide = [...echo.wss.clients].at(-1)!
  const upstreamClosed = once(upstreamSide, 'close')
  second.terminate()
  await upstreamClosed
  t.pass('the client dropping its connection closes the upstream side')

  const idle = (await connect(wsUrl(gw.url, '/chat?key=secret'))).ws!
  const began = Date.now()
  // Traffic keeps it open past the timeout (gaps of 250 ms against 1 s, room for a busy machine)...
  for (let i = 0; i < 6; i++) {
    await new Promise((r) => setTimeout(r, 250))
    idle.send('ping')
    await nextMessage(idle)
  }
  t.equal(idle.readyState, WebSocket.OPEN, 'a tunnel with traffic stays open past the read timeout')
  // ...and silence closes it: 1.5 s of traffic, then at least the 1 s timeout.
  await once(idle, 'close')
  const elapsed = Date.now() - began
  t.ok(elapsed >= 2500 && elapsed < 15_000, `an idle tunnel is closed after the read timeout (${elapsed} ms)`)
})

t.test('upstream failures and refusals are HTTP answers; other upgrades are plain requests', async (t) => {
  const echo = await startEcho(t)
  const plain = await startUpstream({ t })
  const gw = await startGateway({
    t,
    createGateway,
    plugins: [keyAuth],
    config: {
      services: [
        { name: 'down', url: 'http://127.0.0.1:1', routes: [{ paths: ['/down'] }] },
        // A plain HTTP server: it does not switch protocols and answers with its own status.
        { name: 'echo-http', url: echo.url, routes: [{ paths: ['/no-ws'] }] },
        { name: 'plain', url: plain.url, routes: [{ paths: ['/plain'] }] },
      ],
    },
  })
  echo.wss.close()
  echo.server.removeAllListeners('upgrade')
  echo.server.on('upgrade', (_req, socket) =>
    socket.end('HTTP/1.1 403 Forbidden\r\ncontent-length: 2\r\n\r\nno'),
  )

  const down = await connect(wsUrl(gw.url, '/down'))
  t.equal(down.status, 502)
  t.equal(JSON.parse(down.body!).code, 'GH_UPSTREAM_UNREACHABLE', 'an unreachable upstream is a JSON 502')

  const refused = await connect(wsUrl(gw.url, '/no-ws'))
  t.equal(refused.status, 403, "the upstream's refusal is relayed")
  t.equal(refused.body, 'no')

  const notFound = await connect(wsUrl(gw.url, '/nowhere'))
  t.equal(notFound.status, 404)
  t.equal(JSON.parse(notFound.body!).code, 'GH_ROUTE_NOT_FOUND')

  // `Upgrade: h2c` (curl --http2 on http://) is not switched to: the request is answered as HTTP/1.1.
  const h2c = await rawRequest(
    gw.url,
    'GET /plain/x HTTP/1.1\r\nHost: a\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n',
  )
  t.equal(h2c.status, 200)
  t.equal(plain.last()?.url, '/x')
  t.equal(plain.last()?.headers.upgrade, undefined, 'Upgrade is hop-by-hop and not forwarded')

  const withBody = await rawRequest(
    gw.url,
    'POST /plain/x HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: h2c\r\nContent-Length: 2\r\n\r\nhi',
  )
  t.equal(withBody.status, 400)
  t.equal(JSON.parse(withBody.body).code, 'GH_REQUEST_UPGRADE_UNSUPPORTED')
})

t.test('a service with targets: the balancer picks the upstream of each tunnel', async (t) => {
  const one = await startEcho(t)
  const two = await startEcho(t)
  const gw = await startGateway({
    t,
    createGateway,
    config: {
      services: [
        {
          name: 'chat',
          targets: [{ url: one.url }, { url: two.url }],
          balancing: { algorithm: 'round-robin' },
          routes: [{ paths: ['/chat'] }],
        },
      ],
    },
  })
  const sockets: WebSocket[] = []
  for (let i = 0; i < 4; i++) {
    const { ws } = await connect(wsUrl(gw.url, '/chat'))
    ws!.send(`n${i}`)
    t.equal((await nextMessage(ws!)).data, `n${i}`)
    sockets.push(ws!)
  }
  t.same([one.upgrades.length, two.upgrades.length], [2, 2], 'round-robin over both targets')
  const snapshot = gw.gateway as unknown as { upstreams(): { targets: { active: number }[] }[] }
  t.same(
    snapshot.upstreams()[0]!.targets.map((x) => x.active),
    [2, 2],
    'an open tunnel counts as a request in flight (least-connections sees it)',
  )
  for (const ws of sockets) {
    ws.close()
    await once(ws, 'close')
  }
  await waitFor(() => snapshot.upstreams()[0]!.targets.every((x) => x.active === 0))
  t.same(
    snapshot.upstreams()[0]!.targets.map((x) => x.active),
    [0, 0],
    'and stops counting once closed',
  )
})

t.test('WebSocket over TLS on an HTTP/2 gateway (HTTP/1.1 upgrade on the same port)', async (t) => {
  const ca = await makeCa()
  const cert = await makeServerCert(ca, ['ws.test'])
  const echo = await startEcho(t)
  const gw = await startGateway({
    t,
    createGateway,
    plugins: [keyAuth],
    config: {
      ...gatewayConfig(echo.url),
      tls: { certificates: [{ cert: cert.cert, key: cert.key }] },
      http2: true,
    },
  })
  const { ws } = await connect(wsUrl(gw.url, '/chat?key=secret'), {
    ca: ca.cert,
    servername: 'ws.test',
  } as WebSocket.ClientOptions)
  t.ok(ws, 'wss:// upgrades')
  t.equal(echo.upgrades[0]?.headers['x-forwarded-proto'], 'https')
  ws!.send('over tls')
  t.equal((await nextMessage(ws!)).data, 'over tls')

  // Closing the gateway closes open tunnels rather than waiting for them.
  const closed = once(ws!, 'close')
  await gw.close()
  await closed
  t.pass('gateway close ends the tunnel')
})
