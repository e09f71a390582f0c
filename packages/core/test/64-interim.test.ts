/**
 * Interim (1xx) responses (RFC 9110 §15.2, RFC 8297): an upstream's 103 Early Hints reaches HTTP/1.1
 * and HTTP/2 clients with its Link fields and without hop-by-hop ones; 102 reaches both; another 1xx
 * reaches HTTP/2 clients only (Node's HTTP/1.1 server cannot write it); nothing reaches an HTTP/1.0
 * client; `interimResponses: http2 | drop` narrow this; a request a plugin blocks gets no hint.
 */
import http, { type IncomingHttpHeaders } from 'node:http'
import http2 from 'node:http2'
import https from 'node:https'
import type net from 'node:net'
import { definePlugin } from '@gatehousejs/sdk'
import { startGateway, startUpstream } from '@gatehousejs/sdk/testing'
import t, { type Test } from 'tap'
import { Agent, request as undiciRequest } from 'undici'
import { createGateway } from '../src/index.js'
import { makeCa, makeServerCert } from './helpers/certs.js'
import { rawRequest, startRawUpstream } from './helpers/http.js'

interface Interim {
  status: number
  headers: Record<string, unknown>
}
interface Answer {
  status: number
  interim: Interim[]
  body: string
}

const LINKS = ['</style.css>; rel=preload; as=style', '</app.js>; rel=preload; as=script']

/** A node:http upstream that sends 103 (with hop-by-hop fields it must not pass on) then 200. */
async function hintingUpstream(t: Test) {
  return startUpstream({
    t,
    handler(_req, res) {
      res.writeEarlyHints({
        link: LINKS,
        'x-hint': 'early',
        connection: 'x-secret',
        'x-secret': 'hop-by-hop',
        'keep-alive': 'timeout=5',
      })
      res.writeHead(200, { 'content-type': 'text/plain', link: LINKS[0] })
      res.end('final')
    },
  })
}

/** node:http: interim responses arrive as 'information' events. */
function h1Get(url: string, path: string, headers: Record<string, string> = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const interim: Interim[] = []
    const req = http.get(`${url}${path}`, { headers, agent: false }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (c) => (body += c))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, interim, body }))
    })
    req.on('information', (info) => interim.push({ status: info.statusCode, headers: info.headers }))
    req.on('error', reject)
  })
}

/** node:http2: interim responses arrive as 'headers' events before 'response'. */
function h2Get(session: http2.ClientHttp2Session, path: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const interim: Interim[] = []
    const stream = session.request({ ':method': 'GET', ':path': path, ':authority': 'api.test' })
    let status = 0
    let body = ''
    stream.setEncoding('utf8')
    stream.on('headers', (h: IncomingHttpHeaders & { ':status'?: number }) => {
      const { ':status': s, ...rest } = h
      interim.push({ status: Number(s), headers: rest })
    })
    stream.on('response', (h) => (status = Number(h[':status'])))
    stream.on('data', (c) => (body += c))
    stream.on('end', () => resolve({ status, interim, body }))
    stream.on('error', reject)
    stream.end()
  })
}

t.test('103 Early Hints reaches an HTTP/1.1 client, hop-by-hop fields removed', async (t) => {
  const upstream = await hintingUpstream(t)
  const gw = await startGateway({
    t,
    createGateway,
    config: { services: [{ name: 'api', url: upstream.url, routes: [{ paths: ['/'] }] }] },
  })

  const node = await h1Get(gw.url, '/page')
  t.equal(node.status, 200)
  t.equal(node.body, 'final')
  t.equal(node.interim.length, 1, 'one interim response')
  const hint = node.interim[0]!
  t.equal(hint.status, 103)
  t.equal(hint.headers.link, LINKS.join(', '), 'both Link values, as the upstream sent them')
  t.equal(hint.headers['x-hint'], 'early', 'an end-to-end field is kept')
  t.notOk('x-secret' in hint.headers, 'a field named by Connection is removed')
  t.notOk('keep-alive' in hint.headers, 'a hop-by-hop field is removed')
  t.not(hint.headers.connection, 'x-secret', "the upstream's Connection is not passed on")
  t.equal(upstream.last()!.url, '/page')

  // undici, the client most Node services use, sees the same through `onInfo`.
  const seen: Interim[] = []
  const res = await undiciRequest(`${gw.url}/page`, {
    onInfo: (info) => seen.push({ status: info.statusCode, headers: info.headers }),
  })
  t.equal(res.statusCode, 200)
  t.equal(await res.body.text(), 'final')
  t.equal(seen.length, 1)
  t.equal(seen[0]!.status, 103)
  t.equal(seen[0]!.headers.link, LINKS.join(', '))
})

t.test('an HTTP/1.0 client never gets a 1xx (RFC 9110 §15.2)', async (t) => {
  const upstream = await hintingUpstream(t)
  const gw = await startGateway({
    t,
    createGateway,
    config: { services: [{ name: 'api', url: upstream.url, routes: [{ paths: ['/'] }] }] },
  })
  const res = await rawRequest(gw.url, 'GET /page HTTP/1.0\r\nHost: api.test\r\n\r\n')
  t.equal(res.status, 200, 'the first status line is the final one')
  t.notMatch(res.raw, /HTTP\/1\.1 103/, 'no 103 on the wire')
  t.match(res.body, /final$/)
})

/** A raw upstream: 104 (not one Node can write on HTTP/1.1), 102, a 103 without Link, a 103, then 200. */
async function manyInterimUpstream(t: Test) {
  return startRawUpstream(t, (socket: net.Socket) => {
    socket.write(
      'HTTP/1.1 104 Upload Resumption Supported\r\nupload-draft-interop-version: 6\r\n\r\n' +
        'HTTP/1.1 102 Processing\r\nx-progress: 50\r\n\r\n' +
        'HTTP/1.1 103 Early Hints\r\nx-only: no-link\r\n\r\n' +
        'HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload, <https://cdn.test>; rel=preconnect\r\nContent-Length: 12\r\n\r\n' +
        'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok',
    )
  })
}

t.test('HTTP/1.1 carries 102 and 103; HTTP/2 carries every 1xx with its fields', async (t) => {
  const upstream = await manyInterimUpstream(t)
  const ca = await makeCa()
  const cert = await makeServerCert(ca, ['api.test'])
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
  t.teardown(() => session.close())
  session.on('error', () => {})
  const h2 = await h2Get(session, '/many')
  t.equal(h2.status, 200)
  t.equal(h2.body, 'ok')
  t.same(
    h2.interim.map((i) => i.status),
    [104, 102, 103, 103],
    'every interim response, in order',
  )
  t.equal(h2.interim[0]!.headers['upload-draft-interop-version'], '6', 'a 104 keeps its fields')
  t.equal(h2.interim[1]!.headers['x-progress'], '50', 'a 102 keeps its fields over h2')
  t.equal(h2.interim[3]!.headers.link, '</a.css>; rel=preload, <https://cdn.test>; rel=preconnect')
  t.notOk('content-length' in h2.interim[3]!.headers, 'no Content-Length on a 1xx (RFC 9110 §8.6)')

  // HTTP/1.1 on the same TLS port: Node writes 102 (without fields) and a 103 that has a Link only.
  const h1 = await new Promise<Answer>((resolve, reject) => {
    const interim: Interim[] = []
    const req = https.request(
      {
        host: '127.0.0.1',
        port: Number(new URL(gw.url).port),
        path: '/many',
        servername: 'api.test',
        headers: { host: 'api.test' },
        ca: ca.cert,
        agent: false,
      },
      (res: http.IncomingMessage) => {
        let body = ''
        res.setEncoding('utf8')
        res.on('data', (c) => (body += c))
        res.on('end', () => resolve({ status: res.statusCode ?? 0, interim, body }))
      },
    )
    req.on('information', (info: http.InformationEvent) =>
      interim.push({ status: info.statusCode, headers: info.headers }),
    )
    req.on('error', reject)
    req.end()
  })
  t.equal(h1.status, 200)
  t.equal(h1.body, 'ok')
  t.same(
    h1.interim.map((i) => i.status),
    [102, 103],
    'HTTP/1.1: 102 and the 103 with a Link; the 104 and the Link-less 103 cannot be written',
  )
  t.equal(h1.interim[1]!.headers.link, '</a.css>; rel=preload, <https://cdn.test>; rel=preconnect')
  t.notOk('content-length' in h1.interim[1]!.headers)
})

t.test('interimResponses: http2 keeps them from HTTP/1.1 clients; drop from every client', async (t) => {
  const upstream = await hintingUpstream(t)
  const ca = await makeCa()
  const cert = await makeServerCert(ca, ['api.test'])
  for (const policy of ['http2', 'drop'] as const) {
    const gw = await startGateway({
      t,
      createGateway,
      config: {
        interimResponses: policy,
        tls: { certificates: [{ cert: cert.cert, key: cert.key }] },
        http2: true,
        services: [{ name: 'api', url: upstream.url, routes: [{ paths: ['/'] }] }],
      },
    })
    const session = http2.connect(gw.url, { ca: ca.cert, servername: 'api.test' })
    t.teardown(() => session.close())
    session.on('error', () => {})
    const h2 = await h2Get(session, '/page')
    t.equal(h2.status, 200)
    t.equal(h2.body, 'final')
    t.equal(h2.interim.length, policy === 'http2' ? 1 : 0, `${policy}: HTTP/2 client`)
    if (policy === 'http2') t.equal(h2.interim[0]!.headers.link, LINKS.join(', '))

    const seen: Interim[] = []
    const dispatcher = new Agent({ connect: { ca: ca.cert, servername: 'api.test' } })
    t.teardown(() => dispatcher.close())
    const res = await undiciRequest(`${gw.url}/page`, {
      dispatcher,
      onInfo: (info) => seen.push({ status: info.statusCode, headers: info.headers }),
    })
    t.equal(res.statusCode, 200)
    t.equal(await res.body.text(), 'final')
    t.equal(seen.length, 0, `${policy}: no 1xx to an HTTP/1.1 client`)
  }
})

t.test(
  'a request a plugin blocks gets no hint; a plugin rewriting the final answer leaves the hint',
  async (t) => {
    const upstream = await hintingUpstream(t)
    const gate = definePlugin({
      name: 'gate',
      version: '1.0.0',
      priority: 1000,
      init() {
        return {
          access(ctx) {
            if (ctx.request.headers['x-block'] === 'yes') ctx.respond(403, { blocked: true })
          },
          response(ctx) {
            if (ctx.response.source !== 'upstream') return
            ctx.response.status = 203
            delete ctx.response.headers.link
          },
        }
      },
    })
    const gw = await startGateway({
      t,
      createGateway,
      plugins: [gate],
      config: {
        services: [{ name: 'api', url: upstream.url, routes: [{ paths: ['/'] }] }],
        plugins: [{ name: 'gate' }],
      },
    })
    const blocked = await h1Get(gw.url, '/page', { 'x-block': 'yes' })
    t.equal(blocked.status, 403)
    t.equal(blocked.interim.length, 0, 'no hint before a refusal')
    t.equal(upstream.requests.length, 0, 'the upstream was not asked')

    const passed = await h1Get(gw.url, '/page')
    t.equal(passed.status, 203, 'the final answer is what the plugin made of it')
    t.equal(passed.interim.length, 1, 'the hint went out before the response phase')
    t.equal(passed.interim[0]!.headers.link, LINKS.join(', '))
  },
)

t.test(
  'an unsolicited 100 from an upstream: undici 7 calls the response bad, the client gets 502',
  async (t) => {
    // The gateway answers `Expect: 100-continue` itself and never sends `Expect` upstream, so an
    // upstream has no reason to send 100; undici 7's HTTP/1.1 parser closes the connection when one
    // does ("bad response"). docs/security.md documents this; the test shows it is still so.
    const upstream = await startRawUpstream(t, (socket: net.Socket) => {
      socket.write('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok')
    })
    const gw = await startGateway({
      t,
      createGateway,
      config: { services: [{ name: 'api', url: upstream.url, routes: [{ paths: ['/'] }] }] },
    })
    const res = await h1Get(gw.url, '/')
    t.equal(res.status, 502)
    t.equal(JSON.parse(res.body).code, 'GH_UPSTREAM_UNREACHABLE')
    t.equal(res.interim.length, 0)
  },
)
