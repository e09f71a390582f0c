/**
 * What the gateway tells the upstream about the client (X-Forwarded-*, Forwarded, X-Real-IP), which
 * client claims it believes (trustProxy), which headers it drops in each direction (RFC 9110 §7.6.1)
 * and the request id it sends both ways.
 */
import type { IncomingHttpHeaders } from 'node:http'
import type { GatewayConfig } from '@gatehousejs/sdk/config'
import { startGateway, startUpstream } from '@gatehousejs/sdk/testing'
import t, { type Test } from 'tap'
import { rawRequest, startRawUpstream } from './helpers/http.js'

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/
const upstream = await startUpstream({ t })

async function gatewayWith(tt: Test, extra: Partial<GatewayConfig> = {}) {
  const gw = await startGateway({
    t: tt,
    config: { services: [{ name: 'echo', url: upstream.url, routes: [{ paths: ['/'] }] }], ...extra },
  })
  return { gw, port: new URL(gw.url).port }
}

/** Sends a GET through `gw` and returns the headers the upstream received. */
async function seenUpstream(
  gw: Awaited<ReturnType<typeof gatewayWith>>['gw'],
  headers: Record<string, string | string[]>,
): Promise<IncomingHttpHeaders> {
  const res = await gw.request({ path: '/fwd', headers })
  if (res.status !== 200) throw new Error(`expected 200, got ${res.status}: ${res.text}`)
  return upstream.last()!.headers
}

const CLIENT_CLAIMS = {
  host: 'gw.example:8080',
  'x-forwarded-for': '203.0.113.9, 198.51.100.7',
  forwarded: 'for=198.51.100.7;proto=https',
  'x-real-ip': '198.51.100.7',
  'x-forwarded-proto': 'https',
  'x-forwarded-host': 'evil.example',
  'x-forwarded-port': '1',
}

t.test('without claims, the gateway describes the connection it saw', async (t) => {
  const { gw, port } = await gatewayWith(t)
  const h = await seenUpstream(gw, { host: 'gw.example:8080' })
  t.equal(h['x-forwarded-for'], '127.0.0.1')
  t.equal(h['x-real-ip'], '127.0.0.1')
  t.equal(h['x-forwarded-proto'], 'http')
  t.equal(h['x-forwarded-host'], 'gw.example:8080')
  t.equal(h['x-forwarded-port'], port)
  t.equal(h.forwarded, 'for=127.0.0.1;host="gw.example:8080";proto=http', 'RFC 7239, host quoted')
})

t.test('trustProxy false (the default): client claims are replaced, not believed', async (t) => {
  for (const extra of [
    {},
    { trustProxy: false },
    { trustProxy: ['10.0.0.0/8'] },
  ] as Partial<GatewayConfig>[]) {
    const { gw, port } = await gatewayWith(t, extra)
    const h = await seenUpstream(gw, CLIENT_CLAIMS)
    const label = JSON.stringify(extra)
    t.equal(h['x-forwarded-for'], '127.0.0.1', `${label}: X-Forwarded-For`)
    t.equal(h['x-real-ip'], '127.0.0.1', `${label}: X-Real-IP`)
    t.equal(h['x-forwarded-proto'], 'http', `${label}: X-Forwarded-Proto`)
    t.equal(h['x-forwarded-host'], 'gw.example:8080', `${label}: X-Forwarded-Host is the Host`)
    t.equal(h['x-forwarded-port'], port, `${label}: X-Forwarded-Port`)
    t.equal(h.forwarded, 'for=127.0.0.1;host="gw.example:8080";proto=http', `${label}: Forwarded`)
  }
})

t.test('a trusted peer’s claims are kept and the gateway appends its own hop', async (t) => {
  for (const [trustProxy, realIp] of [
    // Trust everyone: the client is the first address in the chain.
    [true, '203.0.113.9'],
    // Trust only the loopback peer: the client is the first untrusted address from the right.
    [['127.0.0.1'], '198.51.100.7'],
  ] as const) {
    const { gw } = await gatewayWith(t, { trustProxy: trustProxy as GatewayConfig['trustProxy'] })
    const h = await seenUpstream(gw, CLIENT_CLAIMS)
    const label = JSON.stringify(trustProxy)
    t.equal(h['x-forwarded-for'], '203.0.113.9, 198.51.100.7, 127.0.0.1', `${label}: appended`)
    t.equal(
      h.forwarded,
      'for=198.51.100.7;proto=https, for=127.0.0.1;host="gw.example:8080";proto=http',
      `${label}: Forwarded appended`,
    )
    t.equal(h['x-real-ip'], realIp, `${label}: X-Real-IP`)
    t.equal(h['x-forwarded-proto'], 'https', `${label}: X-Forwarded-Proto kept`)
    t.equal(h['x-forwarded-host'], 'evil.example', `${label}: X-Forwarded-Host kept`)
    t.equal(h['x-forwarded-port'], '1', `${label}: X-Forwarded-Port kept`)
  }
})

t.test('hop-by-hop request headers, and those named in Connection, are not forwarded', async (t) => {
  const { gw } = await gatewayWith(t)
  const before = upstream.requests.length
  const res = await rawRequest(
    gw.url,
    'POST /hop HTTP/1.1\r\n' +
      'Host: gw.example\r\n' +
      'Connection: keep-alive, X-Secret, x-other\r\n' +
      'Keep-Alive: timeout=5\r\n' +
      'TE: trailers\r\n' +
      'Trailer: x-checksum\r\n' +
      'Upgrade: websocket\r\n' +
      'Proxy-Authorization: Basic Zm9vOmJhcg==\r\n' +
      'Proxy-Connection: keep-alive\r\n' +
      'X-Secret: s3cret\r\n' +
      'X-Other: o\r\n' +
      'X-Keep: yes\r\n' +
      'Authorization: Bearer end-to-end\r\n' +
      'Transfer-Encoding: chunked\r\n' +
      '\r\n' +
      '5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n',
  )
  // undici refuses a request carrying Transfer-Encoding, Connection: x, Keep-Alive or Upgrade, so a 200
  // also proves those were dropped before the upstream request was built.
  t.equal(res.status, 200)
  t.equal(upstream.requests.length, before + 1)
  const got = upstream.last()!
  t.equal(got.body.toString(), 'hello world', 'the chunked body arrives whole, re-framed by the gateway')
  for (const name of [
    'keep-alive',
    'te',
    'trailer',
    'upgrade',
    'proxy-authorization',
    'proxy-connection',
    'x-secret',
    'x-other',
  ]) {
    t.equal(got.headers[name], undefined, `${name} not forwarded`)
  }
  t.notMatch(
    String(got.headers.connection ?? ''),
    /secret|other/i,
    'the client’s Connection list is not forwarded',
  )
  t.equal(got.headers['x-keep'], 'yes', 'end-to-end headers are forwarded')
  t.equal(got.headers.authorization, 'Bearer end-to-end')
})

t.test(
  'hop-by-hop response headers are stripped; status, body and other headers arrive intact',
  async (t) => {
    const raw = await startRawUpstream(t, (socket, head) => {
      const chunked = head.startsWith('GET /chunked ')
      socket.write(
        'HTTP/1.1 201 Created\r\n' +
          'Content-Type: text/plain\r\n' +
          (chunked ? 'Transfer-Encoding: chunked\r\n' : 'Content-Length: 4\r\n') +
          'Connection: keep-alive, X-Up-Secret\r\n' +
          'Keep-Alive: timeout=5\r\n' +
          'X-Up-Secret: s\r\n' +
          'Proxy-Authenticate: Basic realm="x"\r\n' +
          'Proxy-Connection: keep-alive\r\n' +
          'Upgrade: h2c\r\n' +
          'Set-Cookie: a=1; Path=/\r\n' +
          'Set-Cookie: b=2; HttpOnly\r\n' +
          'X-Custom: v\r\n' +
          'Cache-Control: no-store\r\n' +
          '\r\n' +
          (chunked ? '2\r\nbo\r\n2\r\ndy\r\n0\r\n\r\n' : 'body'),
      )
    })
    const gw = await startGateway({
      t,
      config: { services: [{ name: 'raw', url: raw.url, routes: [{ paths: ['/'] }] }] },
    })
    for (const path of ['/fixed', '/chunked']) {
      const res = await gw.request({ path })
      t.equal(res.status, 201, `${path}: status`)
      t.equal(res.text, 'body', `${path}: body`)
      t.same(res.headers['set-cookie'], ['a=1; Path=/', 'b=2; HttpOnly'], `${path}: both cookies`)
      t.equal(res.headers['x-custom'], 'v', `${path}: custom header`)
      t.equal(res.headers['cache-control'], 'no-store', `${path}: cache-control`)
      t.equal(res.headers['content-type'], 'text/plain', `${path}: content-type`)
      for (const name of ['x-up-secret', 'keep-alive', 'proxy-authenticate', 'proxy-connection', 'upgrade']) {
        t.equal(res.headers[name], undefined, `${path}: ${name} stripped`)
      }
      t.notMatch(String(res.headers.connection ?? ''), /x-up-secret/i, `${path}: Connection list not copied`)
    }
  },
)

t.test('request id: generated when absent, sent upstream and in the response', async (t) => {
  const { gw } = await gatewayWith(t)
  const a = await gw.request({ path: '/id' })
  const sentA = upstream.last()!.headers['x-request-id']
  const b = await gw.request({ path: '/id' })
  t.match(a.headers['x-request-id'], UUID)
  t.equal(sentA, a.headers['x-request-id'], 'the upstream got the same id')
  t.not(a.headers['x-request-id'], b.headers['x-request-id'], 'a new id per request')
})

t.test('request id: an untrusted incoming id is replaced', async (t) => {
  const { gw } = await gatewayWith(t)
  const res = await gw.request({ path: '/id', headers: { 'x-request-id': 'client-chosen-1' } })
  t.match(res.headers['x-request-id'], UUID)
  t.equal(upstream.last()!.headers['x-request-id'], res.headers['x-request-id'])
})

t.test('request id: kept with trustIncoming, or from a trusted proxy', async (t) => {
  for (const extra of [
    { requestId: { trustIncoming: true } },
    { trustProxy: ['127.0.0.1'] },
    { trustProxy: true },
  ] as Partial<GatewayConfig>[]) {
    const { gw } = await gatewayWith(t, extra)
    const id = 'abc-123_X.y:z@host/+=='
    const res = await gw.request({ path: '/id', headers: { 'x-request-id': id } })
    t.equal(res.headers['x-request-id'], id, `${JSON.stringify(extra)}: kept in the response`)
    t.equal(upstream.last()!.headers['x-request-id'], id, `${JSON.stringify(extra)}: kept upstream`)
  }
})

t.test('request id: a malformed incoming id is replaced even when trusted', async (t) => {
  const { gw } = await gatewayWith(t, { requestId: { trustIncoming: true }, trustProxy: true })
  const bad = ['has space', 'tab\there', 'x'.repeat(201), '<script>', 'quote"d', 'semi;colon', 'a,b']
  for (const id of bad) {
    const res = await gw.request({ path: '/id', headers: { 'x-request-id': id } })
    t.match(res.headers['x-request-id'], UUID, `${JSON.stringify(id.slice(0, 20))} replaced`)
    t.equal(upstream.last()!.headers['x-request-id'], res.headers['x-request-id'])
  }
  t.equal(
    (await gw.request({ path: '/id', headers: { 'x-request-id': 'x'.repeat(200) } })).headers['x-request-id'],
    'x'.repeat(200),
    '200 characters is still accepted',
  )
  // Bytes outside ASCII (sent raw: node:http would refuse to send them) and a repeated header.
  for (const [label, line] of [
    ['latin1 bytes', Buffer.from('X-Request-Id: caf\xe9\r\n', 'latin1')],
    ['two ids', Buffer.from('X-Request-Id: one\r\nX-Request-Id: two\r\n')],
  ] as const) {
    const res = await rawRequest(
      gw.url,
      Buffer.concat([
        Buffer.from('GET /id HTTP/1.1\r\nHost: gw\r\n'),
        line,
        Buffer.from('Connection: close\r\n\r\n'),
      ]),
    )
    t.equal(res.status, 200, `${label}: answered`)
    t.match(res.headers['x-request-id'], UUID, `${label}: replaced`)
  }
})

t.test('request id: the header name is configurable and the response header optional', async (t) => {
  const { gw } = await gatewayWith(t, {
    requestId: { header: 'X-Correlation-Id', trustIncoming: true, responseHeader: false },
  })
  const res = await gw.request({ path: '/id', headers: { 'x-correlation-id': 'corr-1' } })
  t.equal(res.headers['x-correlation-id'], undefined, 'not in the response')
  t.equal(upstream.last()!.headers['x-correlation-id'], 'corr-1', 'sent upstream')
  t.equal(upstream.last()!.headers['x-request-id'], undefined, 'no id under the default name')
})
