import http from 'node:http'
import http2 from 'node:http2'
import https from 'node:https'
import type { Socket } from 'node:net'
import type { Headers as GatehouseHeaders } from '@gatehousejs/sdk'
import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  LogController,
} from 'fastify'
import type { Logger } from 'pino'
import { ConnectUnsupported, InternalError, RequestMalformed, RequestPathInvalid } from '../errors.js'
import type { Runtime, Sender } from '../model.js'
import { pinOf } from '../request/dispatch.js'
import { requestIdFor } from '../request/forwarding.js'
import { handleRequest } from '../request/lifecycle.js'
import { UpstreamBody } from '../upstream/send.js'
import { sendLastError, writeClientError, writeError } from './client-errors.js'
import { checkingInterval } from './protect.js'
import { serverTlsOptions, type TlsState } from './tls.js'
import { handleUpgrade, type Tunnels } from './upgrade.js'

/**
 * The HTTP server at the edge: which Node server serves the configuration (HTTP/1.1, HTTPS, HTTP/2
 * with HTTP/1.1 on the same TLS port), and how a response leaves through it.
 */

export interface AppOptions {
  rt: Runtime
  logger: Logger
  tlsState: TlsState | undefined
  http2: boolean
  /** Largest request head in bytes; beyond it the client gets 431. */
  maxHeaderSize: number
  /** Open WebSocket (and other upgraded) connections, closed at once by `close()`. */
  tunnels: Tunnels
  /** Called once per client request, as it enters the lifecycle (the status counts them). */
  onRequest: () => void
}

/**
 * Fastify as core uses it: our own Node server (createServer) with the edge's protections, errors
 * before the lifecycle answered in JSON, no body parsing (bodies stream), no request logging.
 * Every request goes to the lifecycle (request/lifecycle.ts); the caller awaits `ready()`.
 */
export function createApp(o: AppOptions): FastifyInstance {
  const { rt, logger, tlsState, tunnels } = o
  const guard = rt.guard
  const app: FastifyInstance = Fastify({
    // Fastify's own info lines ("Server listening at …") would repeat core's: it logs warnings up.
    loggerInstance: (logger.levelVal < 40
      ? logger.child({}, { level: 'warn' })
      : logger) as unknown as FastifyBaseLogger,
    // Core logs what it decides (errors with the request id); an access log is a plugin's job.
    logController: new LogController({ disableRequestLogging: true }),
    // No per-request child logger: the lifecycle makes one lazily, only when something is logged.
    childLoggerFactory: (parent) => parent,
    requestIdHeader: false,
    genReqId: (req) => {
      const gen = rt.current
      // A dispatched call logs under its caller's id; pinOf also strips a client's forged marker.
      const pinned = pinOf(req)?.requestId
      if (pinned !== undefined) return pinned
      return requestIdFor(req, gen.requestId.header, gen.requestId.trustIncoming, gen.trust)
    },
    exposeHeadRoutes: false,
    return503OnClosing: false,
    // Our own server, for maxHeaderSize (431 beyond it). Fastify does not apply its timeouts to a
    // server it did not create, so they are set here.
    serverFactory: (handler) => {
      // An HTTP/2 server serves its HTTP/1.1 connections with http's connection handling, timeouts included.
      const server = createServer(
        handler,
        tlsState,
        o.http2,
        o.maxHeaderSize,
        checkingInterval(guard.limits),
      ) as http.Server
      // Slow clients (headers, body, idle keep-alive, requests per connection): Node's own checks.
      guard.applyTo(server)
      // Connections are counted once they can carry a request: after the TLS handshake with TLS.
      server.on(tlsState === undefined ? 'connection' : 'secureConnection', (socket: Socket) =>
        guard.onConnection(socket),
      )
      // A reverse proxy does not tunnel: CONNECT gets a JSON 405 rather than a silently closed socket.
      server.on('connect', (_req: http.IncomingMessage, socket: Socket) =>
        writeError(ConnectUnsupported(), socket, rt.current),
      )
      // A failed handshake has no request to log: a debug line says why (expired, no shared cipher…).
      server.on('tlsClientError', (err: Error & { code?: string }) =>
        logger.debug({ code: err.code, reason: err.message }, 'TLS handshake failed'),
      )
      // WebSocket upgrades run rewrite and access, then tunnel (server/upgrade.ts).
      server.on('upgrade', (req: http.IncomingMessage, socket: Socket, head: Buffer) =>
        handleUpgrade(rt, tunnels, req, socket, head),
      )
      return server
    },
    clientErrorHandler: (err, socket) => writeClientError(err, socket, rt.current, guard),
    frameworkErrors: (err, req, reply) => {
      const e =
        err.code === 'FST_ERR_BAD_URL' ? RequestPathInvalid('bad percent-encoding') : RequestMalformed()
      sendLastError(reply as FastifyReply, e, String(req.id), rt.current)
    },
  })
  app.removeAllContentTypeParsers()
  // Bodies are not parsed by Fastify: they stream to the upstream, or core reads them for a plugin.
  app.addContentTypeParser('*', function passThrough(_req, _payload, done) {
    done(null)
  })
  app.setErrorHandler(function lastResort(err, req, reply) {
    req.log.error({ err }, 'unhandled error')
    const e = (err as { statusCode?: number }).statusCode === 400 ? RequestMalformed() : InternalError()
    sendLastError(reply, e, req.id, rt.current)
  })
  const sender = createSender(rt)
  async function proxyHandler(this: unknown, req: FastifyRequest, reply: FastifyReply) {
    o.onRequest()
    await handleRequest(rt, { raw: req.raw, res: reply.raw, requestId: req.id, reply, sender })
    return reply
  }
  app.all('*', proxyHandler)
  app.setNotFoundHandler(proxyHandler)
  return app
}

/**
 * The server for the configuration: plain HTTP, HTTPS, or HTTP/2 with HTTP/1.1 on the same TLS port
 * (ALPN picks). Which one is fixed at creation: a reload may change certificates, not the protocol.
 */
export function createServer(
  handler: http.RequestListener,
  tlsState: TlsState | undefined,
  useHttp2: boolean,
  maxHeaderSize: number,
  connectionsCheckingInterval: number,
): http.Server | https.Server | http2.Http2SecureServer {
  const http1 = { maxHeaderSize, requireHostHeader: false, connectionsCheckingInterval }
  if (tlsState === undefined) return http.createServer(http1, handler)
  if (!useHttp2) return https.createServer({ ...http1, ...serverTlsOptions(tlsState) }, handler)
  return http2.createSecureServer(
    {
      ...serverTlsOptions(tlsState),
      allowHTTP1: true,
      settings: { maxHeaderListSize: maxHeaderSize },
    },
    // HTTP/2 has `:authority` instead of Host; routing, forwarding and plugins read `host`.
    function http2Request(req, res) {
      if (
        req.httpVersionMajor === 2 &&
        req.headers.host === undefined &&
        req.headers[':authority'] !== undefined
      )
        req.headers.host = req.headers[':authority']
      ;(handler as unknown as (q: typeof req, s: typeof res) => void)(req, res)
    },
  )
}

/**
 * The gateway's `Sender`: writes a lifecycle's response through Fastify's reply, or straight to Node's
 * response when an unread upstream body can be passed on directly (HTTP/1.x).
 */
export function createSender(rt: Runtime): Sender {
  return function sendReply(reply, status, headers, body) {
    const r = reply as FastifyReply
    // An upstream body nobody read, on HTTP/1.x: headers and body go straight to Node's response,
    // each upstream read one write, the tail with the read before it (upstream/send.ts), without a
    // stream pipe in between.
    if (body instanceof UpstreamBody && body.direct && r.request.raw.httpVersionMajor === 1) {
      r.hijack()
      if (rt.closing || lastOnConnection(r.raw)) headers.connection = 'close'
      r.raw.writeHead(status, rawHeaderList(headers))
      body.sendTo(r.raw)
      return
    }
    r.code(status)
    for (const k in headers) {
      const v = headers[k]
      if (v !== undefined) r.header(k, v)
    }
    // Node only announces the close when maxRequestsPerConnection is reached; naming it makes Node close.
    if (rt.closing || lastOnConnection(r.raw)) r.header('connection', 'close')
    // RFC 9113 §8.2.2: connection-specific headers are malformed in HTTP/2 (Node throws on them).
    if (r.request.raw.httpVersionMajor === 2) for (const h of H2_FORBIDDEN) r.removeHeader(h)
    r.send(body)
  }
}

const H2_FORBIDDEN = ['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade']

/** Headers as Node's `writeHead` takes them without storing a copy: `[name, value, name, value…]`. */
function rawHeaderList(headers: GatehouseHeaders): (string | string[])[] {
  const list: (string | string[])[] = []
  for (const k in headers) {
    const v = headers[k]
    if (v !== undefined) list.push(k, v)
  }
  return list
}

/** Node's flag (not in its types) for the response that reaches `maxRequestsPerSocket`. */
function lastOnConnection(res: http.ServerResponse): boolean {
  return (
    (res as http.ServerResponse & { maxRequestsOnConnectionReached?: boolean })
      .maxRequestsOnConnectionReached === true
  )
}
