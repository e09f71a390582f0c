import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Readable } from 'node:stream'
import type { BodyLimit, Headers, Phase, PluginTiming } from '@gatehousejs/sdk'
import { GatehouseError } from '@gatehousejs/sdk/host'
import {
  bufferResponseBody,
  drainIfAbandoned,
  finalResponseBody,
  hasBody,
  LimitedBody,
  limitBody,
  serialiseRequestBody,
} from './body.js'

export { hasBody }

import {
  GatewayClosing,
  InternalError,
  MissingHost,
  PhaseMisuse,
  PluginFailed,
  RequestBodyTooLarge,
  RequestMalformed,
  RequestPathEscapedSlash,
  RequestPathInvalid,
  RouteNotFound,
} from '../errors.js'
import type { Generation, Instance, ResilientService, Runtime, Sender, Step } from '../model.js'
import { REFUSAL_CODES } from '../server/protect.js'
import { sendBalanced } from '../upstream/balanced.js'
import { interimSink } from '../upstream/interim.js'
import { mirrorRequest } from '../upstream/mirror.js'
import { sendUpstream, upstreamError } from '../upstream/send.js'
import { splitService } from '../upstream/split.js'
import { Context, Request, Upstream } from './context.js'
import { matchPinned, pinOf } from './dispatch.js'
import { downstreamHeaders, upstreamHeaders } from './forwarding.js'
import { ESCAPED_SLASH, joinPaths, normalisePath, unsafeUpstreamPath } from './path.js'
import { Response } from './response.js'

/**
 * The request lifecycle (docs/lifecycle.md):
 *   rewrite (global) → route match → [request body, if asked] → access → upstream → [response body,
 *   if asked] → response → send → log (after the last byte)
 * Any phase that throws, and any upstream failure, goes to `error`, then `response`, then send.
 * Handlers run in the order compiled at load; a handler's returned promise is awaited only if it is one.
 */

/** What the HTTP layer hands to the lifecycle: the raw request, its reply, and how to send. */
export interface Exchange {
  raw: IncomingMessage
  res: ServerResponse
  requestId: string
  reply: unknown
  sender: Sender
  /** Replaces the upstream request after `access`: a WebSocket upgrade opens a tunnel (server/upgrade.ts). */
  tunnel?: ((ctx: Context) => Promise<void>) | undefined
}

interface PluginFailure {
  plugin: string
  instance: string
  phase: Phase
}
const failureInfo = new WeakMap<object, PluginFailure>()

export async function handleRequest(rt: Runtime, ex: Exchange): Promise<void> {
  const gen = rt.current
  const raw = ex.raw
  gen.hold()
  const url = raw.url ?? '/'
  let rawPath: string
  let querystring = ''
  let hostHeader = raw.headers.host
  if (url.charCodeAt(0) === 47) {
    const q = url.indexOf('?')
    rawPath = q < 0 ? url : url.slice(0, q)
    if (q >= 0) querystring = url.slice(q + 1)
  } else {
    // RFC 9112 §3.2.2: absolute-form; its authority replaces Host. It can only select among
    // configured routes: the upstream always comes from the configuration.
    rawPath = ''
    try {
      const abs = new URL(url)
      if (abs.protocol === 'http:' || abs.protocol === 'https:') {
        rawPath = abs.pathname
        querystring = abs.search.slice(1)
        // The authority replaces Host everywhere (routing, X-Forwarded-Host, preserveHost, plugins).
        hostHeader = abs.host
        raw.headers.host = abs.host
      }
    } catch {}
  }
  const norm = normalisePath(rawPath)
  const request = new Request(
    raw.method ?? 'GET',
    norm.ok ? norm.path : '/',
    querystring,
    raw.headers,
    hostOf(hostHeader),
  )
  const ctx = new Context(gen, raw, request, ex.requestId, rt.logger, performance.now())
  // A plugin's call through the gateway (env.dispatch) names its route: it is not matched.
  const pin = pinOf(raw)
  ;(ex.res as ResWithContext)[kContext] = ctx
  ex.res.on('close', onResponseClose)
  let escaped = norm.ok ? norm.escaped : 0
  const guard = rt.guard
  try {
    if (!norm.ok) throw RequestPathInvalid(norm.reason)
    // RFC 9112 §3.2: an HTTP/1.1 request without Host is a 400.
    if (hostHeader === undefined && raw.httpVersionMajor === 1 && raw.httpVersionMinor === 1)
      throw MissingHost()
    // RFC 9112 §3.2: so is more than one Host, or one that is not a valid authority.
    if (raw.headers.host !== undefined && !validHost(raw)) throw RequestMalformed()
    if (rt.refusing) throw GatewayClosing().withHeaders({ connection: 'close' })
    // Refused at once (503 + Retry-After) rather than queued: connection cap, shedding, in-flight cap.
    // A call a plugin makes through the gateway (env.dispatch) belongs to a request already admitted.
    if (pin === undefined) {
      const refusal = guard.admit(raw.socket)
      if (refusal !== undefined) throw refusal
      guard.inflight++
      ctx.guard = guard
    }
    if (gen.globalChain.rewrite.length > 0) {
      await runSteps(ctx, 'rewrite', gen.globalChain.rewrite)
      if (ctx.responded) return await respondEarly(ctx, ex)
      const again = normalisePath(request.path)
      if (!again.ok) throw RequestPathInvalid(again.reason)
      request.path = again.path
      request.host = hostOf(request.headers.host as string | undefined)
      escaped = again.escaped
    }
    let match = findRoute(gen, pin, request)
    if (escaped !== 0) match = escapedSlashPolicy(gen, pin, request, match, escaped)
    if (match === undefined) throw RouteNotFound()
    const route = match.route
    ctx.compiledRoute = route
    if (route.maxInflight > 0) {
      if (route.inflight >= route.maxInflight) throw guard.refuseRoute()
      route.inflight++
      ctx.routeCounted = true
    }
    ctx.route = route.info
    const service = route.service.split === undefined ? route.service : splitService(route.service, request)
    ctx.upstreamService = service
    ctx.service = service.info
    ctx.chain = route.chain
    // Once a request body is streamed upstream the peer address may be gone: `log` reads it from here.
    if (route.chain.log.length > 0) void ctx.client
    request.params = match.params
    const rest = route.rewrite
      ? joinPaths(route.rewrite(match.params), request.path.slice(match.matchedLength))
      : route.stripPath
        ? request.path.slice(match.matchedLength)
        : request.path
    const upstreamHost = route.preserveHost ? (request.headers.host as string | undefined) : undefined
    ctx.upstream = new Upstream(
      request.method,
      joinPaths(service.basePath, rest),
      request.querystring,
      upstreamHeaders(raw, gen.trust, upstreamHost, request.headers),
      service,
      route.timeouts,
    )
    ctx.upstream.headers[gen.requestId.header] = ctx.requestId
    if (ctx.chain.needsRequestBody && hasBody(raw)) await readBodyFor(ctx)
    if (ctx.chain.access.length > 0) {
      const planned = ctx.upstream.path
      await runSteps(ctx, 'access', ctx.chain.access)
      if (ctx.responded) return await respondEarly(ctx, ex)
      // A plugin may build the path from client input: it must not hide a dot segment either.
      if (ctx.upstream.path !== planned) {
        const unsafe = unsafeUpstreamPath(ctx.upstream.path)
        if (unsafe !== undefined) throw RequestPathInvalid(unsafe)
      }
    }
    await (ex.tunnel === undefined ? proxy(rt, ctx, ex) : ex.tunnel(ctx))
  } catch (err) {
    await handleError(ctx, ex, err)
  }
}

type Pin = ReturnType<typeof pinOf>

function findRoute(gen: Generation, pin: Pin, request: Request) {
  return pin === undefined
    ? gen.router.find(request.method, request.path, request.host, request.headers)
    : matchPinned(gen, pin, request.method, request.path)
}

type Match = ReturnType<typeof findRoute>

/**
 * The rare path that holds `%2F`/`%5C` (or `%252F`) was matched with them encoded; the matched route's
 * `escapedSlashes` policy (the global one when no route matched) now applies. `decode` decodes them,
 * normalises again and matches again: the request goes where its decoded path leads. A dot segment
 * hidden behind an encoded slash was already refused by `normalisePath`, whatever the policy.
 */
function escapedSlashPolicy(
  gen: Generation,
  pin: Pin,
  request: Request,
  match: Match,
  escaped: number,
): Match {
  const policy = match?.route.escapedSlashes ?? gen.escapedSlashes
  if (policy === 'keep') return match
  if (policy === 'reject') throw RequestPathEscapedSlash()
  // `decode` removes one layer: `%252F` becomes `%2F`, which is data to an upstream that decodes once.
  if ((escaped & ESCAPED_SLASH) === 0) return match
  const decoded = normalisePath(request.path, true)
  if (!decoded.ok) throw RequestPathInvalid(decoded.reason)
  request.path = decoded.path
  const again = findRoute(gen, pin, request)
  if (decoded.escaped !== 0 && again?.route.escapedSlashes === 'reject') throw RequestPathEscapedSlash()
  return again
}

async function readBodyFor(ctx: Context): Promise<void> {
  await ctx.bufferBody()
}

async function proxy(rt: Runtime, ctx: Context, ex: Exchange): Promise<void> {
  const up = ctx.upstream!
  const raw = ctx.raw
  let body: Readable | Buffer | undefined
  if (up.body !== undefined) {
    body = serialiseRequestBody(up.body, up.headers)
    up.headers['content-length'] = String(body.length)
    delete up.headers['content-encoding']
    delete up.headers['transfer-encoding']
  } else if (ctx.request.rawBody !== undefined) {
    body = ctx.request.rawBody
    if (up.bodyLimit !== undefined && body.length > up.bodyLimit.bytes) throw bodyTooLarge(up.bodyLimit)
    up.headers['content-length'] = String(body.length)
  } else if (hasBody(raw)) {
    if (up.bodyLimit !== undefined) body = limitedClientBody(raw, up.bodyLimit)
    else {
      body = raw
      drainIfAbandoned(raw)
    }
  }
  // Shadow traffic (upstream/mirror.ts): started here, never awaited; a streamed body is teed for the copies.
  const mirrors = ctx.gen.mirrors.size === 0 ? undefined : ctx.gen.mirrors.get(ctx.compiledRoute!.name)
  const outgoing = mirrors === undefined ? body : mirrorRequest(rt.pools, ctx, mirrors, body)
  const signal = new AbortHook()
  ctx.upstreamAbort = signal
  ctx.upstreamStartedAt = performance.now()
  let res: Awaited<ReturnType<typeof sendUpstream>>
  const service = ctx.upstreamService!
  const path = up.querystring === '' ? up.path : `${up.path}?${up.querystring}`
  const interim = interimSink(ctx.gen.interimResponses, raw, ex.res)
  try {
    res =
      service.group === undefined
        ? await sendUpstream(rt.pools.get(up.target, up.timeouts.connect, service.pool), {
            method: up.method,
            path,
            headers: up.headers,
            body: outgoing,
            readTimeout: up.timeouts.read,
            signal,
            interim,
          })
        : await sendBalanced(
            rt.pools,
            ctx,
            service as ResilientService,
            path,
            outgoing,
            signal,
            ctx.compiledRoute!.timeouts.total,
            interim,
          )
  } catch (err) {
    if (ctx.aborted) return
    if (body instanceof LimitedBody && body.exceeded) throw bodyTooLarge(up.bodyLimit!)
    throw err instanceof GatehouseError ? err : upstreamError(err)
  }
  ctx.upstreamHeadersAt = performance.now()
  const response = new Response(res.statusCode, downstreamHeaders(res.headers), undefined, 'upstream')
  ctx.response = response
  if (ctx.aborted) {
    discard(res.body)
    return
  }
  const chain = ctx.chain
  if (chain.response.length > 0) {
    if (chain.needsResponseBody) {
      try {
        await bufferResponseBody(response, res.body, ctx.request.method, ctx.gen.limits.responseBody)
      } catch (err) {
        discard(res.body)
        if (ctx.aborted) return
        throw upstreamError(err)
      }
      if (response.bodySkipped !== undefined) {
        ctx.requestLog.debug(
          { reason: response.bodySkipped },
          'response body not buffered for plugins; streamed unchanged',
        )
      }
    } else {
      response.stream = res.body
    }
    await runSteps(ctx, 'response', chain.response)
    // A `response` plugin may give a bodiless upstream answer a body of its own (a cache answering
    // the 304 to its revalidation with the stored response): the empty upstream stream is dropped.
    if (response.bodySkipped === 'no-body' && response.body !== undefined && response.stream !== undefined) {
      discard(response.stream)
      response.stream = undefined
    }
  } else {
    response.stream = res.body
  }
  send(ctx, ex)
}

/**
 * `ctx.upstream.bodyLimit`: a declared length over the limit is refused before anything is sent; a
 * body without one (chunked) is counted as it streams and cut off past the limit.
 */
function limitedClientBody(raw: IncomingMessage, limit: BodyLimit): Readable {
  const declared = Number(raw.headers['content-length'])
  if (declared > limit.bytes) throw bodyTooLarge(limit)
  return limitBody(raw, limit.bytes)
}

/** The rest of an over-limit body is never read: the connection closes after the answer. */
function bodyTooLarge(limit: BodyLimit): GatehouseError {
  return (limit.error?.() ?? RequestBodyTooLarge(limit.bytes)).withHeaders({ connection: 'close' })
}

async function respondEarly(ctx: Context, ex: Exchange): Promise<void> {
  if (ctx.chain.response.length > 0) await runSteps(ctx, 'response', ctx.chain.response)
  send(ctx, ex)
}

function send(ctx: Context, ex: Exchange): void {
  const res = ctx.response!
  const h = res.headers
  const gen = ctx.gen
  if (gen.requestId.responseHeader) h[gen.requestId.header] = ctx.requestId
  if (gen.serverTiming) serverTiming(ctx, h)
  // The socket is detached by the time `log` runs, its address with it: read the client while it is here.
  if (ctx.chain.log.length > 0 && ctx.raw.socket !== null) void ctx.client
  let payload: Buffer | string | Readable | undefined
  if (res.stream !== undefined) payload = res.stream as Readable
  else if (res.source === 'upstream') payload = finalResponseBody(res, ctx.request.headers['accept-encoding'])
  else payload = serialisePluginBody(res.body, h)
  ex.sender(ex.reply, res.status, h, payload)
}

function serialisePluginBody(body: unknown, h: Headers): Buffer | string | undefined {
  if (body === undefined || body === null) return undefined
  if (Buffer.isBuffer(body)) return body
  if (typeof body === 'string') {
    h['content-type'] ??= 'text/plain; charset=utf-8'
    return body
  }
  h['content-type'] ??= 'application/json; charset=utf-8'
  return JSON.stringify(body)
}

/**
 * Runs one phase's handlers in their compiled order. A handler's result is awaited only when it is a
 * promise. In `access`, `setConsumer` may switch to the consumer's chain: the loop then goes on in
 * that chain after the current handler's rank (reading the body first if the new chain needs it).
 */
async function runSteps<F extends (ctx: never) => unknown>(
  ctx: Context,
  phase: Phase,
  steps: Step<F>[],
): Promise<void> {
  ctx.phase = phase
  let chain = ctx.chain
  for (let i = 0; i < steps.length; i++) {
    const step = steps[i]!
    if (step.when !== undefined && !step.when(ctx.request)) continue
    ctx.current = step.instance
    const timings = ctx.pluginTimings
    const began = timings === undefined ? 0 : performance.now()
    try {
      const r = step.fn(ctx as never) as Promise<void> | undefined
      if (r !== undefined && typeof r.then === 'function') await r
    } catch (err) {
      if (timings !== undefined) recordTiming(ctx, timings, step.instance, phase, began)
      throw pluginError(err, step.instance, phase)
    }
    if (timings !== undefined) recordTiming(ctx, timings, step.instance, phase, began)
    // `response` handlers all run, even after a short-circuit; other phases stop at a response.
    if (ctx.responded && phase !== 'response') break
    if (phase === 'access' && ctx.chain !== chain) {
      chain = ctx.chain
      steps = chain.access as unknown as Step<F>[]
      if (chain.needsRequestBody && ctx.request.rawBody === undefined && hasBody(ctx.raw)) {
        await readBodyFor(ctx)
      }
      const rank = step.instance.rank
      i = steps.findIndex((s) => s.instance.rank > rank) - 1
      if (i === -2) break
    }
  }
  ctx.current = undefined
}

function recordTiming(
  ctx: Context,
  timings: PluginTiming[],
  instance: Instance,
  phase: Phase,
  began: number,
): void {
  const start = began - ctx.startedAt
  timings.push({
    plugin: instance.def.name,
    instance: instance.id,
    phase,
    start,
    duration: performance.now() - began,
  })
}

/**
 * W3C Server Timing: one metric per plugin handler run (`<plugin>;desc="<phase>";dur=<ms>`), then the
 * upstream's time; appended to any `Server-Timing` the upstream sent, which stays first.
 */
function serverTiming(ctx: Context, h: Headers): void {
  const parts: string[] = []
  for (const t of ctx.pluginTimings ?? []) {
    parts.push(`${t.plugin};desc="${t.phase}";dur=${t.duration.toFixed(3)}`)
  }
  if (ctx.upstreamHeadersAt > 0) {
    parts.push(`upstream;dur=${(ctx.upstreamHeadersAt - ctx.upstreamStartedAt).toFixed(3)}`)
  }
  if (parts.length === 0) return
  const existing = h['server-timing']
  const before = existing === undefined ? [] : Array.isArray(existing) ? existing : [existing]
  h['server-timing'] = [...before, ...parts].join(', ')
}

function pluginError(err: unknown, instance: Instance, phase: Phase): GatehouseError {
  const info = { plugin: instance.def.name, instance: instance.id, phase }
  if (err instanceof GatehouseError) {
    if (!failureInfo.has(err)) failureInfo.set(err, info)
    return err
  }
  const wrapped = PluginFailed()
  Object.defineProperty(wrapped, 'cause', { value: err, enumerable: false })
  failureInfo.set(wrapped, info)
  return wrapped
}

async function handleError(ctx: Context, ex: Exchange, err: unknown): Promise<void> {
  discard(ctx.response?.stream)
  if (ctx.aborted) {
    ctx.requestLog.debug({ err }, 'client went away')
    return
  }
  const gerr = err instanceof GatehouseError ? err : wrapInternal(err)
  logOutcome(ctx, gerr, failureInfo.get(gerr))
  if (ex.res.headersSent) {
    ex.res.destroy()
    return
  }
  ctx.error = gerr
  ctx.response = errorResponse(ctx, gerr)
  const chain = ctx.chain
  if (chain.error.length > 0) {
    ctx.responded = false
    try {
      await runSteps(ctx, 'error', chain.error)
    } catch (e) {
      ctx.requestLog.error(
        { err: e, ...failureInfo.get(e as object) },
        'error handler failed; sending the original error',
      )
      ctx.response = errorResponse(ctx, gerr)
    }
  }
  if (chain.response.length > 0) {
    try {
      await runSteps(ctx, 'response', chain.response)
    } catch (e) {
      ctx.requestLog.error(
        { err: e, ...failureInfo.get(e as object) },
        'response handler failed on an error response',
      )
      ctx.response = errorResponse(ctx, gerr)
    }
  }
  send(ctx, ex)
}

/**
 * One log line per error answer, at the level of whose fault it is (docs/observability.md#log-levels):
 *  - `info`, no stack: a 4xx, the client's doing (no credentials, no route, a bad path…);
 *  - `warn`, no stack: a 5xx a plugin chose to answer (a cache `only-if-cached` miss, a store down
 *    with the plugin failing closed): the plugin worked as configured;
 *  - `error`, with the cause's stack: the gateway failed the request (a plugin threw something that
 *    is not a GatehouseError or misused its context, an internal error, an upstream that failed).
 */
/** 5xx codes that mean a plugin is broken (it threw, or misused the context), never a chosen answer. */
const PLUGIN_BUGS = new Set([PluginFailed.code, PhaseMisuse.code])

function logOutcome(ctx: Context, gerr: GatehouseError, info: PluginFailure | undefined): void {
  const fields = { code: gerr.code, statusCode: gerr.statusCode, ...info }
  // A refusal by a limit is summed up in one throttled line by the guard (server/protect.ts).
  if (REFUSAL_CODES.has(gerr.code)) {
    ctx.requestLog.debug(fields, gerr.message)
  } else if (gerr.statusCode < 500) {
    ctx.requestLog.info(fields, gerr.message)
  } else if (info !== undefined && !PLUGIN_BUGS.has(gerr.code)) {
    ctx.requestLog.warn(fields, `plugin "${info.plugin}" answered ${gerr.statusCode} in ${info.phase}`)
  } else {
    const msg = info ? `plugin "${info.plugin}" failed in ${info.phase}` : `request failed: ${gerr.code}`
    ctx.requestLog.error({ err: gerr.cause ?? gerr, ...fields }, msg)
  }
}

function errorResponse(ctx: Context, err: GatehouseError): Response {
  const headers: Headers = { 'content-type': 'application/json; charset=utf-8' }
  for (const k in err.headers) headers[k.toLowerCase()] = err.headers[k]
  return new Response(err.statusCode, headers, err.toBody(ctx.requestId), 'error')
}

function wrapInternal(err: unknown): GatehouseError {
  const wrapped = InternalError()
  Object.defineProperty(wrapped, 'cause', { value: err, enumerable: false })
  return wrapped
}

/**
 * The smallest abort signal undici accepts (it calls `addEventListener`/`removeEventListener` and
 * reads `aborted`/`reason`): no EventEmitter or EventTarget per request.
 */
class AbortHook {
  aborted = false
  reason: unknown = undefined
  private listener: (() => void) | undefined = undefined
  addEventListener(_type: 'abort', listener: () => void): void {
    this.listener = listener
  }
  removeEventListener(): void {
    this.listener = undefined
  }
  abort(): void {
    if (this.aborted) return
    this.aborted = true
    const listener = this.listener
    this.listener = undefined
    listener?.()
  }
}

const kContext = Symbol('gatehouse.context')
type ResWithContext = ServerResponse & { [kContext]?: Context }

/** One shared listener: the response carries its context, so no closure is made per request. */
function onResponseClose(this: ResWithContext): void {
  const ctx = this[kContext]
  if (ctx !== undefined) onClose(ctx, this)
}

/**
 * Drops an upstream body nobody will read. undici's body emits 'error' (RequestAbortedError) when it
 * is destroyed before its end; with no listener (the body was not piped yet, e.g. a `response` handler
 * threw) that 'error' would be uncaught and crash the process.
 */
function discard(stream: Readable | undefined): void {
  if (stream === undefined || stream.destroyed) return
  stream.on('error', noop)
  stream.destroy()
}

function noop(): void {}

function onClose(ctx: Context, res: ServerResponse): void {
  ctx.finishedAt = performance.now()
  if (ctx.guard !== undefined) {
    ctx.guard.inflight--
    ctx.guard = undefined
  }
  if (ctx.routeCounted) {
    ctx.routeCounted = false
    ctx.compiledRoute!.inflight--
  }
  if (!res.writableFinished) {
    ctx.aborted = true
    ctx.upstreamAbort?.abort()
    discard(ctx.response?.stream)
  }
  const steps = ctx.chain.log
  if (steps.length === 0) ctx.gen.release()
  else setImmediate(runLog, ctx, steps)
}

async function runLog(ctx: Context, steps: Context['chain']['log']): Promise<void> {
  ctx.phase = 'log'
  if (ctx.response) Object.freeze(ctx.response.headers)
  for (const step of steps) {
    if (step.when !== undefined && !step.when(ctx.request)) continue
    ctx.current = step.instance
    try {
      const r = step.fn(ctx as never) as Promise<void> | undefined
      if (r !== undefined && typeof r.then === 'function') await r
    } catch (err) {
      ctx.log.error({ err, phase: 'log' }, `plugin "${step.instance.def.name}" failed in log; ignored`)
    }
  }
  ctx.current = undefined
  ctx.gen.release()
}

const HOST_VALUE = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._~!$&'()*+,;=%-]*)(?::\d*)?$/

/** One Host header (Node keeps only the first of several), holding `host[:port]` (RFC 3986 §3.2.2). */
function validHost(raw: IncomingMessage): boolean {
  if (!HOST_VALUE.test(raw.headers.host!)) return false
  const h = raw.rawHeaders
  let seen = 0
  for (let i = 0; i < h.length; i += 2) {
    if (h[i]!.length === 4 && h[i]!.toLowerCase() === 'host' && ++seen > 1) return false
  }
  return true
}

function hostOf(host: string | undefined): string {
  if (!host) return ''
  if (host.charCodeAt(0) === 91 /* [ */) {
    const end = host.indexOf(']')
    return (end > 0 ? host.slice(0, end + 1) : host).toLowerCase()
  }
  const colon = host.indexOf(':')
  return (colon >= 0 ? host.slice(0, colon) : host).toLowerCase()
}
