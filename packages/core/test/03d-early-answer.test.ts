/**
 * An upstream that answers before it has read the request body (a 401 or 413 decided on the head,
 * nginx's `return`): the client gets the answer, can finish sending its body, and can send its next
 * request on the same connection. undici gives up the body it was sending once the answer is complete;
 * the gateway then reads the rest of the client's body and drops it. Before, the client's connection
 * stayed paused: its upload stalled, with the answer already received, until the keep-alive timeout
 * (72 s) closed it. The same held when the body passed through a stream of the gateway's (a plugin's
 * `bodyLimit`, a mirror's tee): each is covered, alone and together.
 *
 * The client is a raw socket, so what is asserted is what goes over the wire: every byte of the body
 * is accepted, the answer is the upstream's, and a second request on the same connection is answered.
 */
import { once } from 'node:events'
import http2 from 'node:http2'
import net from 'node:net'
import type { GatewayConfig } from '@gatehousejs/sdk/config'
import { startGateway, startUpstream } from '@gatehousejs/sdk/testing'
import t, { type Test } from 'tap'
import { bodyLimiter } from './helpers/body-limit.js'
import { makeCa, makeServerCert } from './helpers/certs.js'

const MB = 1024 * 1024
/** Far more than the socket buffers and undici's hold on the way: the upload cannot finish unread. */
const SIZE = 16 * MB
const PIECE = Buffer.alloc(64 * 1024, 0x61)

/** The plugin behind {@link Setup.limit}. */
const limiter = bodyLimiter({ bytes: 2 * SIZE })

interface Setup {
  /** A plugin caps the body as it streams (`ctx.upstream.bodyLimit`), above its size. */
  limit?: boolean
  /** The route's traffic is copied to a second service: the body is teed as it streams. */
  mirror?: boolean
  /** A service with targets: its requests go through the balancer's retry path. */
  balanced?: boolean
  /** The upstream reads 1 MiB of a POST's body, then drops the connection (a 502), instead of a 401. */
  fail?: boolean
  /** Served over TLS with HTTP/2 enabled, with this certificate. */
  tls?: { cert: string; key: string }
}

async function setup(t: Test, opts: Setup = {}) {
  const upstream = await startUpstream({
    t,
    streaming: true,
    // POST: refused on its head, the body never read (or failed part-way, with `fail`). GET: answered.
    handler: (req, res) => {
      if (req.method !== 'POST') return void res.end(`ok ${req.url}`)
      if (!opts.fail) {
        res.writeHead(401, { 'content-type': 'application/json' })
        return void res.end('{"error":"who are you?"}')
      }
      let seen = 0
      req.on('data', (chunk: Buffer) => {
        seen += chunk.length
        if (seen >= MB) req.socket.destroy()
      })
    },
  })
  const shadow = opts.mirror ? await startUpstream({ t, streaming: true }) : undefined
  const config: GatewayConfig = {
    services: [
      {
        name: 's',
        ...(opts.balanced ? { targets: [{ url: upstream.url }] } : { url: upstream.url }),
        routes: [{ name: 'r', paths: ['/'] }],
        ...(shadow ? { mirror: [{ service: 'shadow' }] } : {}),
      },
      ...(shadow ? [{ name: 'shadow', url: shadow.url }] : []),
    ],
    ...(opts.limit ? { plugins: [{ name: 'limiter' }] } : {}),
    ...(opts.tls ? { tls: { certificates: [opts.tls] }, http2: true } : {}),
  }
  const gw = await startGateway({ t, config, plugins: opts.limit ? [limiter] : [] })
  return { upstream, gw, shadow }
}

/** A connection that collects what the gateway sends; `waitFor` resolves once the text contains it. */
async function connect(url: string) {
  const socket = net.connect(Number(new URL(url).port), '127.0.0.1')
  await once(socket, 'connect')
  let received = ''
  const waiters: Array<{ text: string; resolve: () => void }> = []
  socket.setEncoding('latin1')
  socket.on('data', (s: string) => {
    received += s
    for (const w of waiters.splice(0)) {
      if (received.includes(w.text)) w.resolve()
      else waiters.push(w)
    }
  })
  const closed = once(socket, 'close')
  return {
    socket,
    closed,
    get received() {
      return received
    },
    waitFor: (text: string) =>
      new Promise<void>((resolve, reject) => {
        if (received.includes(text)) return resolve()
        waiters.push({ text, resolve })
        void closed.then(() => reject(new Error(`connection closed before ${JSON.stringify(text)}`)))
      }),
  }
}

/** Writes the body as fast as the connection takes it; resolves once the kernel has taken all of it. */
async function sendBody(socket: net.Socket, pieces: Iterable<Buffer>): Promise<void> {
  for (const piece of pieces) {
    if (!socket.write(piece)) await Promise.race([once(socket, 'drain'), once(socket, 'close')])
    if (socket.destroyed) throw new Error('the gateway closed the connection during the upload')
  }
}

function* plain(size: number): Generator<Buffer> {
  for (let sent = 0; sent < size; sent += PIECE.length)
    yield PIECE.subarray(0, Math.min(PIECE.length, size - sent))
}

/** The same bytes as chunked transfer coding, ending with the last chunk. */
function* chunked(size: number): Generator<Buffer> {
  for (const piece of plain(size))
    yield Buffer.concat([Buffer.from(`${piece.length.toString(16)}\r\n`), piece, Buffer.from('\r\n')])
  yield Buffer.from('0\r\n\r\n')
}

const VARIANTS = [
  { limit: false, mirror: false, balanced: false },
  { limit: true, mirror: false, balanced: false },
  { limit: false, mirror: true, balanced: false },
  { limit: true, mirror: true, balanced: false },
  { limit: false, mirror: false, balanced: true },
  { limit: true, mirror: true, balanced: true },
]

for (const coding of ['content-length', 'chunked'] as const) {
  for (const { limit, mirror, balanced } of VARIANTS) {
    const with_ = [limit && 'a body limit', mirror && 'a mirror', balanced && 'targets']
      .filter(Boolean)
      .join(' and ')
    t.test(
      `answered before the body was read (${coding}${with_ === '' ? '' : `, with ${with_}`})`,
      async (t) => {
        const { upstream, gw, shadow } = await setup(t, { limit, mirror, balanced })
        const c = await connect(gw.url)
        t.teardown(() => c.socket.destroy())
        const framing = coding === 'chunked' ? 'transfer-encoding: chunked' : `content-length: ${SIZE}`
        c.socket.write(
          `POST /upload HTTP/1.1\r\nhost: gw\r\ncontent-type: application/octet-stream\r\n${framing}\r\n\r\n`,
        )
        // The answer comes while the body is still on its way; the upload goes on to its last byte.
        await Promise.all([
          c.waitFor('{"error":"who are you?"}'),
          sendBody(c.socket, coding === 'chunked' ? chunked(SIZE) : plain(SIZE)),
        ])
        t.match(c.received, /^HTTP\/1\.1 401 Unauthorized\r\n/, "the upstream's answer")
        t.notMatch(c.received, /\r\nconnection: close\r\n/i, 'the connection is kept')
        t.equal(upstream.requests[0]?.method, 'POST')

        // The same connection carries the next request: the gateway read through the first body.
        c.socket.write('GET /next HTTP/1.1\r\nhost: gw\r\n\r\n')
        await c.waitFor('ok /next')
        t.equal((c.received.match(/HTTP\/1\.1 /g) ?? []).length, 2, 'two answers on one connection')
        t.equal(upstream.last()?.url, '/next', 'the upstream got the second request')
        // The body was over the mirror's limit: no copy of it; the GET is copied (without waiting for it).
        if (shadow !== undefined)
          t.notOk(
            shadow.requests.some((r) => r.method === 'POST'),
            'no copy of the body',
          )
      },
    )
  }
}

t.test(
  'a client that stops sending after the answer is cut by requestTimeout, not kept forever',
  async (t) => {
    const upstream = await startUpstream({
      t,
      streaming: true,
      handler: (_req, res) => {
        res.writeHead(401)
        res.end()
      },
    })
    const gw = await startGateway({
      t,
      config: {
        services: [{ name: 's', url: upstream.url, routes: [{ name: 'r', paths: ['/'] }] }],
        server: { requestTimeout: '1s', headersTimeout: '1s' },
      },
    })
    const c = await connect(gw.url)
    t.teardown(() => c.socket.destroy())
    c.socket.write(`POST /upload HTTP/1.1\r\nhost: gw\r\ncontent-length: ${SIZE}\r\n\r\n`)
    await sendBody(c.socket, plain(1 * MB))
    await c.waitFor('HTTP/1.1 401 Unauthorized')
    // The rest of the declared body never comes: the request times out and the connection is closed.
    await c.closed
    t.pass('closed by the gateway')
  },
)

const H2_CASES: Array<{ name: string; opts: Setup }> = [
  { name: 'a 401', opts: {} },
  { name: 'a 401, with a mirror', opts: { mirror: true } },
  { name: 'a 502 mid-upload, with targets', opts: { fail: true, balanced: true } },
]

for (const { name, opts } of H2_CASES)
  t.test(`over HTTP/2, the stream is reset with NO_ERROR after the answer (${name})`, async (t) => {
    const ca = await makeCa()
    const cert = await makeServerCert(ca, ['api.test'])
    const { gw } = await setup(t, { ...opts, tls: { cert: cert.cert, key: cert.key } })
    const session = http2.connect(gw.url, { ca: ca.cert, servername: 'api.test' })
    t.teardown(() => session.destroy())
    session.on('error', () => {})
    const stream = session.request({ ':authority': 'api.test', ':method': 'POST', ':path': '/upload' })
    stream.on('error', () => {})
    let status = 0
    let text = ''
    stream.on('response', (h) => {
      status = Number(h[':status'])
    })
    stream.setEncoding('utf8')
    stream.on('data', (s: string) => {
      text += s
    })
    // RFC 9113 §8.1: the answer is complete before the request; the server then stops the upload.
    const aborted = once(stream, 'aborted')
    for (const piece of plain(SIZE)) {
      if (stream.closed) break
      if (!stream.write(piece)) await Promise.race([once(stream, 'drain'), aborted])
    }
    await aborted
    if (opts.fail) {
      t.equal(status, 502, 'a 502')
      t.match(JSON.parse(text), { statusCode: 502, code: /^GH_UPSTREAM_/ }, 'whole, with its code')
    } else {
      t.equal(status, 401, "the upstream's answer")
      t.equal(text, '{"error":"who are you?"}', 'whole')
    }
    t.equal(stream.rstCode, http2.constants.NGHTTP2_NO_ERROR, 'reset with NO_ERROR')
    stream.destroy()
    const next = session.request({ ':authority': 'api.test', ':path': '/next' })
    next.setEncoding('utf8')
    next.end()
    let body = ''
    for await (const s of next) body += s
    t.equal(body, 'ok /next', 'the next request on the same connection is answered')
  })

/**
 * The upstream fails while the body is on its way (it reads some, then drops the connection): the
 * client gets a 502, gets to send the rest of its body, and its connection serves the next request.
 * With targets, the body goes through the balancer's retry wrapper, which once held the client's
 * stream paused.
 */
for (const balanced of [false, true]) {
  t.test(`the upstream fails during the upload${balanced ? ' (with targets)' : ''}`, async (t) => {
    const { upstream, gw } = await setup(t, { fail: true, balanced })
    const c = await connect(gw.url)
    t.teardown(() => c.socket.destroy())
    c.socket.write(`POST /upload HTTP/1.1\r\nhost: gw\r\ncontent-length: ${SIZE}\r\n\r\n`)
    await Promise.all([c.waitFor('GH_UPSTREAM_'), sendBody(c.socket, plain(SIZE))])
    t.match(c.received, /^HTTP\/1\.1 502 Bad Gateway\r\n/, 'a 502')
    c.socket.write('GET /next HTTP/1.1\r\nhost: gw\r\n\r\n')
    await c.waitFor('ok /next')
    t.equal(upstream.last()?.url, '/next', 'the upstream got the second request')
  })
}
