import http, { type IncomingMessage, ServerResponse } from 'node:http'
import https from 'node:https'
import type { Socket } from 'node:net'
import { Readable } from 'node:stream'
import type { Headers } from '@gatehousejs/sdk'
import { RequestUpgradeUnsupported, UpstreamUnavailable } from '../errors.js'
import type { Runtime, Sender } from '../model.js'
import type { Context } from '../request/context.js'
import { downstreamHeaders, requestIdFor } from '../request/forwarding.js'
import { handleRequest, hasBody } from '../request/lifecycle.js'
import { Response } from '../request/response.js'
import { upstreamError } from '../upstream/send.js'
import type { Target } from '../upstream/target.js'

/**
 * WebSocket proxying (docs/protocols.md). An upgrade request goes through the lifecycle like any
 * other: `rewrite`, route match, `access` (so auth, rate limits and IP rules apply before the
 * upgrade); a short-circuit or an error is an ordinary HTTP response written on the socket. Then,
 * instead of the upstream request, the tunnel opens: the upgrade goes to the upstream with the headers
 * `access` left, its 101 goes back, and bytes flow both ways until either side closes or the route's
 * read timeout passes with no traffic. `log` runs when the tunnel is closed. `response` handlers do
 * not run on a 101: there is no response to change, only a stream of frames.
 */

/** Open tunnels, closed by the gateway on shutdown. */
export type Tunnels = Set<Socket>

/** The server's `upgrade` listener. */
export function handleUpgrade(
  rt: Runtime,
  tunnels: Tunnels,
  req: IncomingMessage,
  socket: Socket,
  head: Buffer,
): void {
  // Nothing reads the socket until the tunnel is up; bytes that come early wait in it.
  socket.pause()
  socket.on('error', noop)
  const res = new ServerResponse(req)
  res.shouldKeepAlive = false
  res.assignSocket(socket)
  // What http's server does for its own responses: a finished answer ends the connection.
  res.once('finish', () => socket.end())
  const gen = rt.current
  const requestId = requestIdFor(req, gen.requestId.header, gen.requestId.trustIncoming, gen.trust)
  const websocket = isWebSocket(req)
  const ex = {
    raw: req,
    res,
    requestId,
    reply: res,
    sender: sendOnSocket,
    tunnel: websocket
      ? (ctx: Context) => openTunnel(ctx, res, socket, head, tunnels)
      : // Another protocol (h2c, TLS) is not switched to: the request is answered as HTTP/1.1,
        // which RFC 9110 §7.8 allows. Its body, if any, is past the parser and cannot be read.
        hasBody(req)
        ? () => Promise.reject(RequestUpgradeUnsupported())
        : undefined,
  }
  void handleRequest(rt, ex)
}

function isWebSocket(req: IncomingMessage): boolean {
  const upgrade = req.headers.upgrade
  return req.method === 'GET' && typeof upgrade === 'string' && /\bwebsocket\b/i.test(upgrade)
}

/** The lifecycle's sender for a request that arrived as an upgrade: a plain HTTP/1.1 answer, then close. */
const sendOnSocket: Sender = function sendOnSocket(reply, status, headers, body) {
  const res = reply as ServerResponse
  res.statusCode = status
  for (const k in headers) {
    const v = headers[k]
    if (v !== undefined) res.setHeader(k, v)
  }
  res.setHeader('connection', 'close')
  if (body instanceof Readable) {
    body.on('error', () => res.destroy())
    body.pipe(res)
  } else res.end(body)
}

async function openTunnel(
  ctx: Context,
  res: ServerResponse,
  socket: Socket,
  head: Buffer,
  tunnels: Tunnels,
): Promise<void> {
  const up = ctx.upstream!
  const service = ctx.upstreamService!
  let target: Target | undefined
  if (service.group !== undefined) {
    target = service.group.pick(service.hashKey?.(ctx), undefined)
    if (target === undefined) {
      throw UpstreamUnavailable().withHeaders({ 'retry-after': String(service.group.retryAfter()) })
    }
    up.target = target.origin
  }
  const picked = target
  const origin = new URL(up.target)
  const headers: Headers = { ...up.headers, connection: 'upgrade', upgrade: ctx.raw.headers.upgrade }
  const path = up.querystring === '' ? up.path : `${up.path}?${up.querystring}`
  const secure = origin.protocol === 'https:'
  ctx.upstreamStartedAt = performance.now()
  if (target !== undefined) target.active++
  const upReq = (secure ? https : http).request({
    host: origin.hostname.replace(/^\[|\]$/g, ''),
    port: origin.port || (secure ? 443 : 80),
    method: up.method,
    path,
    headers: headers as http.OutgoingHttpHeaders,
    agent: false,
    ...(secure ? { servername: origin.hostname } : {}),
  })
  // One timer for the connect and the 101: an upstream that never answers is a 504.
  upReq.setTimeout(up.timeouts.connect + up.timeouts.read, () => {
    upReq.destroy(Object.assign(new Error('upstream upgrade timed out'), { code: 'ETIMEDOUT' }))
  })
  const released = () => {
    if (target !== undefined) {
      target.active--
      target = undefined
    }
  }
  // The client may leave while the upstream is being reached.
  const onEarlyClose = () => upReq.destroy()
  socket.once('close', onEarlyClose)
  try {
    await new Promise<void>((resolve, reject) => {
      upReq.on('error', reject)
      upReq.on('response', (upRes) => {
        // The upstream refused the upgrade: its answer goes to the client as it is.
        released()
        ctx.upstreamHeadersAt = performance.now()
        const response = new Response(
          upRes.statusCode ?? 502,
          downstreamHeaders(upRes.headers),
          undefined,
          'upstream',
        )
        ctx.response = response
        sendOnSocket(res, response.status, response.headers, upRes)
        resolve()
      })
      upReq.on('upgrade', (upRes, upSocket, upHead) => {
        ctx.upstreamHeadersAt = performance.now()
        if (picked !== undefined) service.group?.reportSuccess(picked)
        socket.off('close', onEarlyClose)
        ctx.response = new Response(101, { ...upRes.headers } as Headers, undefined, 'upstream')
        splice(socket, head, upSocket, upHead, upRes.rawHeaders, up.timeouts.read, tunnels, released)
        resolve()
      })
      upReq.end()
    })
  } catch (err) {
    released()
    socket.off('close', onEarlyClose)
    if (ctx.aborted || socket.destroyed) return
    // Passive health checks learn from tunnels too: an upstream that cannot be reached is a failure.
    if (picked !== undefined) service.group?.reportFailure(picked, (err as { code?: string }).code ?? 'error')
    throw upstreamError(err)
  }
}

/** Writes the upstream's 101 to the client, then pipes both ways until one side closes or idles. */
function splice(
  client: Socket,
  clientHead: Buffer,
  upstream: Socket,
  upstreamHead: Buffer,
  rawHeaders: string[],
  idleTimeout: number,
  tunnels: Tunnels,
  onEnd: () => void,
): void {
  let lines = 'HTTP/1.1 101 Switching Protocols\r\n'
  for (let i = 0; i < rawHeaders.length; i += 2) lines += `${rawHeaders[i]}: ${rawHeaders[i + 1]}\r\n`
  client.write(`${lines}\r\n`)
  if (upstreamHead.length > 0) client.write(upstreamHead)
  if (clientHead.length > 0) upstream.write(clientHead)
  tunnels.add(client)
  let ended = false
  const close = () => {
    if (ended) return
    ended = true
    tunnels.delete(client)
    client.destroy()
    upstream.destroy()
    onEnd()
  }
  upstream.on('error', close)
  client.on('error', close)
  upstream.on('close', close)
  client.on('close', close)
  // Traffic either way resets both sockets' timers: a tunnel closes only when both directions idle.
  // A read timeout of 0 means none (and clears the upgrade request's timer on the upstream socket).
  client.setTimeout(Math.max(idleTimeout, 0), close)
  upstream.setTimeout(Math.max(idleTimeout, 0), close)
  client.setNoDelay(true)
  upstream.setNoDelay(true)
  upstream.pipe(client)
  client.pipe(upstream)
  client.resume()
}

function noop(): void {}
