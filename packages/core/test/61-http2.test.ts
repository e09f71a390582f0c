/**
 * HTTP/2 towards clients: with `http2: true` the TLS port speaks h2 (ALPN) and still HTTP/1.1; an
 * HTTP/2 client reaches an HTTP/1.1 upstream through the gateway, routing on `:authority`, with
 * plugins unchanged and no connection-specific header on an h2 response (RFC 9113 §8.2.2).
 */
import http2 from 'node:http2'
import https from 'node:https'
import type { TLSSocket } from 'node:tls'
import { definePlugin } from '@gatehousejs/sdk'
import { startGateway, startUpstream } from '@gatehousejs/sdk/testing'
import t from 'tap'
import { createGateway } from '../src/index.js'
import { makeCa, makeServerCert } from './helpers/certs.js'

interface H2Answer {
  status: number
  headers: http2.IncomingHttpHeaders
  body: string
}

/** A request on `session`; `:authority` defaults to api.test. */
function h2Request(
  session: http2.ClientHttp2Session,
  headers: http2.OutgoingHttpHeaders,
  body?: string,
): Promise<H2Answer> {
  return new Promise((resolve, reject) => {
    const stream = session.request({ ':authority': 'api.test', ...headers })
    let answer: http2.IncomingHttpHeaders = {}
    let text = ''
    stream.setEncoding('utf8')
    stream.on('response', (h) => (answer = h))
    stream.on('data', (c) => (text += c))
    stream.on('end', () => resolve({ status: Number(answer[':status']), headers: answer, body: text }))
    stream.on('error', reject)
    stream.end(body)
  })
}

/** What the `log` handler saw, per request. */
const logged: { ip: string; protocol: string; status: number | undefined }[] = []

// A response-phase plugin written with no thought of HTTP/2: it adds a header, and one that HTTP/2
// forbids, which the gateway must drop rather than fail on.
const stamp = definePlugin({
  name: 'stamp',
  version: '1.0.0',
  priority: 1000,
  init() {
    return {
      access(ctx) {
        ctx.upstream.headers['x-stamped'] = 'yes'
      },
      response(ctx) {
        ctx.response.headers['x-served-by'] = 'gatehouse'
        ctx.response.headers.connection = 'keep-alive'
      },
      log(ctx) {
        logged.push({ ip: ctx.client.ip, protocol: ctx.client.protocol, status: ctx.response?.status })
      },
    }
  },
})

t.test('an HTTP/2 client reaches an HTTP/1.1 upstream; HTTP/1.1 works on the same port', async (t) => {
  const ca = await makeCa()
  const cert = await makeServerCert(ca, ['api.test', 'other.test'])
  const upstream = await startUpstream({ t })
  const other = await startUpstream({ t })
  const gw = await startGateway({
    t,
    createGateway,
    plugins: [stamp],
    config: {
      tls: { certificates: [{ cert: cert.cert, key: cert.key }] },
      http2: true,
      services: [
        { name: 'api', url: upstream.url, routes: [{ paths: ['/'], hosts: ['api.test'] }] },
        { name: 'other', url: other.url, routes: [{ paths: ['/'], hosts: ['other.test'] }] },
      ],
      plugins: [{ name: 'stamp' }],
    },
  })
  const { port } = new URL(gw.url)
  const session = http2.connect(gw.url, { ca: ca.cert, servername: 'api.test' })
  t.teardown(() => session.close())
  session.on('error', () => {})

  const get = await h2Request(session, { ':method': 'GET', ':path': '/items?x=1', 'x-trace': 'abc' })
  t.equal(get.status, 200, get.body)
  t.equal(get.headers['x-served-by'], 'gatehouse', 'a response plugin works unchanged over h2')
  t.notOk('connection' in get.headers, 'no Connection header on an h2 response')
  t.notOk('keep-alive' in get.headers)
  t.notOk('transfer-encoding' in get.headers)
  t.equal((session.socket as TLSSocket).alpnProtocol, 'h2', 'ALPN chose h2')
  const seen = upstream.last()!
  t.equal(seen.url, '/items?x=1')
  t.equal(seen.headers['x-trace'], 'abc', 'request headers reach the upstream')
  t.equal(seen.headers['x-stamped'], 'yes', 'an access plugin works unchanged over h2')
  t.equal(seen.headers['x-forwarded-proto'], 'https')
  t.equal(seen.headers['x-forwarded-host'], 'api.test', ':authority is the forwarded host')
  t.notOk(
    Object.keys(seen.headers).some((h) => h.startsWith(':')),
    'no HTTP/2 pseudo-header is sent to an HTTP/1.1 upstream',
  )

  const post = await h2Request(
    session,
    { ':method': 'POST', ':path': '/things', 'content-type': 'application/json' },
    JSON.stringify({ n: 1 }),
  )
  t.equal(post.status, 200)
  t.same(upstream.last()!.json, { n: 1 }, 'an h2 request body streams to the upstream')

  const routed = await h2Request(session, { ':method': 'GET', ':path': '/', ':authority': 'other.test' })
  t.equal(routed.status, 200)
  t.equal(other.requests.length, 1, 'routing on hosts uses :authority')

  const missing = await h2Request(session, { ':method': 'GET', ':path': '/', ':authority': 'nobody.test' })
  t.equal(missing.status, 404)
  t.equal(JSON.parse(missing.body).code, 'GH_ROUTE_NOT_FOUND', 'errors are the same JSON over h2')

  const h1 = await new Promise<{ status: number; alpn: string | false | null; served: unknown }>(
    (resolve, reject) => {
      const req = https.request(
        {
          host: '127.0.0.1',
          port: Number(port),
          path: '/h1',
          servername: 'api.test',
          headers: { host: 'api.test' },
          ca: ca.cert,
          agent: false,
        },
        (res) => {
          res.resume()
          res.on('end', () =>
            resolve({
              status: res.statusCode ?? 0,
              alpn: (res.socket as TLSSocket).alpnProtocol,
              served: res.headers['x-served-by'],
            }),
          )
        },
      )
      req.on('error', reject)
      req.end()
    },
  )
  t.same(h1, { status: 200, alpn: false, served: 'gatehouse' }, 'an HTTP/1.1 client on the same port')
  for (let i = 0; i < 100 && logged.length < 5; i++) await new Promise((r) => setTimeout(r, 20))
  t.same(
    logged.slice(0, 4),
    [200, 200, 200, 404].map((status) => ({ ip: '127.0.0.1', protocol: 'https', status })),
    'log handlers see the client and the status of h2 requests',
  )
  t.equal(upstream.last()!.url, '/h1')
})

t.test('closing the gateway ends idle HTTP/2 sessions', async (t) => {
  const ca = await makeCa()
  const cert = await makeServerCert(ca, ['api.test'])
  const upstream = await startUpstream({ t })
  const gw = await startGateway({
    t,
    createGateway,
    config: {
      tls: { certificates: [{ cert: cert.cert, key: cert.key }] },
      http2: true,
      services: [{ name: 'api', url: upstream.url, routes: [{ paths: ['/'] }] }],
    },
  })
  const session = http2.connect(gw.url, { ca: ca.cert, servername: 'api.test' })
  session.on('error', () => {})
  const ok = await h2Request(session, { ':method': 'GET', ':path': '/' })
  t.equal(ok.status, 200)
  const closed = new Promise<void>((resolve) => session.once('close', () => resolve()))
  await gw.close()
  await closed
  t.pass('the session was told to go away and closed')
})
