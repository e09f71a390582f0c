import type { IncomingMessage, ServerResponse } from 'node:http'
import { Readable } from 'node:stream'
import type {
  Dispatch,
  DispatchRequest,
  DispatchResponse,
  GatehouseError,
  Headers,
  RouteInfo,
} from '@gatehousejs/sdk'
import { consumersWithInstances, routeChains } from '../config/chains.js'
import { DispatchLoop, DispatchTimeout, InternalError } from '../errors.js'
import type { CompiledRoute, Generation, Sender } from '../model.js'
import { Context } from './context.js'
import { type RouteMatch, Router } from './router.js'

/**
 * `env.dispatch`: a plugin's request through the gateway itself (aggregation). It runs the gateway's
 * own lifecycle (rewrite, access, upstream, response, log) with the target's own plugin chain, so a
 * call cannot skip a route's auth or limits. It is handed to the lifecycle directly, not through the
 * HTTP layer: the request is a {@link DispatchedRequest} (what core reads of an IncomingMessage) and the
 * answer is collected by a {@link Collector} (what core needs of a ServerResponse) through its own
 * sender, with the headers Node and Fastify would have added (Content-Length, Date, …).
 *
 * The request carries a {@link Pin}: the route (or service) to run, replacing route matching, and the
 * nesting depth that bounds recursion. Only dispatch can attach one (a WeakMap keyed by the request
 * object), so a client cannot forge a pinned call; the marker header older versions used is still
 * stripped from every request.
 */

const MARK_HEADER = 'x-gatehouse-dispatch'
/** An aggregate calling a route that aggregates… : deeper than this is a loop (508). */
export const MAX_DISPATCH_DEPTH = 4

export interface Pin {
  readonly route: string | undefined
  readonly service: string | undefined
  readonly depth: number
  /** The calling request's id: a dispatched call logs under it. */
  readonly requestId: string | undefined
}

const pins = new WeakMap<IncomingMessage, Pin>()

/** The pin of a dispatched request, undefined for a client's (whose marker header, if any, is stripped). */
export function pinOf(raw: IncomingMessage): Pin | undefined {
  const known = pins.get(raw)
  if (known !== undefined) return known
  if (raw.headers[MARK_HEADER] !== undefined) delete raw.headers[MARK_HEADER]
  return undefined
}

/** The route a dispatched request runs: the named route (its paths only decide), or the service's chain. */
export function matchPinned(
  gen: Generation,
  pin: Pin,
  method: string,
  path: string,
): RouteMatch<CompiledRoute> | undefined {
  if (pin.route !== undefined) {
    const route = tablesOf(gen).routes.get(pin.route)
    return route === undefined ? undefined : routerOf(route).find(method, path, '', {})
  }
  const route = serviceRoute(gen, pin.service!)
  return route === undefined ? undefined : { route, params: {}, matchedLength: 0 }
}

interface Tables {
  routes: Map<string, CompiledRoute>
  services: Map<string, CompiledRoute>
}
const tables = new WeakMap<Generation, Tables>()
const routers = new WeakMap<CompiledRoute, Router<CompiledRoute>>()

function tablesOf(gen: Generation): Tables {
  let t = tables.get(gen)
  if (t === undefined) {
    t = { routes: new Map(gen.routes.map((r) => [r.name, r])), services: new Map() }
    tables.set(gen, t)
  }
  return t
}

/** Paths and methods only: a call names its route, so host and header conditions do not apply. */
function routerOf(route: CompiledRoute): Router<CompiledRoute> {
  let router = routers.get(route)
  if (router === undefined) {
    router = new Router([
      {
        route,
        paths: [...route.info.paths],
        methods: route.info.methods ? [...route.info.methods] : undefined,
        hosts: undefined,
        headers: undefined,
      },
    ])
    routers.set(route, router)
  }
  return router
}

/**
 * A service call runs the global and service-scoped instances (so a service-level policy applies),
 * with the path appended to the service's URL. Built on first use, once per generation.
 */
function serviceRoute(gen: Generation, name: string): CompiledRoute | undefined {
  const t = tablesOf(gen)
  const known = t.services.get(name)
  if (known !== undefined) return known
  const service = gen.services.get(name)
  if (service === undefined) return undefined
  const info: RouteInfo = Object.freeze({
    name: `service:${name}`,
    service: name,
    paths: Object.freeze(['/']),
    methods: undefined,
    hosts: undefined,
  })
  const route: CompiledRoute = {
    name: info.name,
    service,
    info,
    stripPath: false,
    rewrite: undefined,
    preserveHost: false,
    escapedSlashes:
      gen.config.services?.find((s) => s.name === name)?.escapedSlashes ??
      gen.config.escapedSlashes ??
      'reject',
    timeouts: service.timeouts,
    ...routeChains(gen.instances, name, undefined, consumersWithInstances(gen.instances)),
    maxInflight: 0,
    inflight: 0,
  }
  t.services.set(name, route)
  return route
}

/**
 * Runs one dispatched request through the lifecycle (gateway.ts binds it to the runtime): `res` is
 * the collector, `send` the sender that fills it, `requestId` the caller's (a new one when undefined).
 */
export type Inject = (
  raw: IncomingMessage,
  res: ServerResponse,
  requestId: string | undefined,
  send: Sender,
) => Promise<void>

/** The gateway's `env.dispatch`; `inject` is there once the gateway is built. */
export function createDispatch(getInject: () => Inject | undefined): Dispatch {
  return function dispatch(req: DispatchRequest): Promise<DispatchResponse> {
    const inject = getInject()
    if (inject === undefined)
      return Promise.reject(new Error('env.dispatch works once the gateway is built (not during init)'))
    if ((req.route === undefined) === (req.service === undefined))
      return Promise.reject(new TypeError('env.dispatch needs exactly one of "route" and "service"'))
    const from = req.from
    const parent = from instanceof Context ? pins.get(from.raw) : undefined
    const depth = (parent?.depth ?? 0) + 1
    const requestId = from?.requestId
    if (depth > MAX_DISPATCH_DEPTH) return Promise.resolve(errorAnswer(DispatchLoop(), requestId))
    const signal = req.signal
    if (signal?.aborted) return Promise.reject(signal.reason)
    let call: DispatchedRequest
    try {
      call = new DispatchedRequest(req, from?.request.host, req.clientIp ?? from?.client.ip ?? '127.0.0.1')
    } catch (err) {
      return Promise.reject(err) // a path the URL parser refuses
    }
    const raw = call as unknown as IncomingMessage
    pins.set(raw, { route: req.route, service: req.service, depth, requestId })
    return new Promise<DispatchResponse>((resolve, reject) => {
      const res = new Collector(call.method, requestId, resolve, reject)
      // Past the timeout (or on abort) the collector ends the call: core sees the response closed
      // before it finished, as for a client gone, and aborts the upstream request.
      if (req.timeout !== undefined && req.timeout > 0) res.timer = setTimeout(onTimeout, req.timeout, res)
      if (signal !== undefined) {
        const onAbort = () => res.destroy(signal.reason)
        signal.addEventListener('abort', onAbort, { once: true })
        res.onSettled = () => signal.removeEventListener('abort', onAbort)
      }
      // Only a fault outside the lifecycle's own handling rejects here.
      inject(raw, res as unknown as ServerResponse, requestId, collect).catch(() => res.fail())
    })
  }
}

function onTimeout(res: Collector): void {
  res.destroy(DispatchTimeout())
}

/** The sender of dispatched requests: the reply is the call's collector. */
const collect: Sender = function collectReply(reply, status, headers, body) {
  ;(reply as Collector).send(status, headers, body)
}

/** What IncomingMessage's parser keeps of a repeated header (Node's rules, as light-my-request did). */
const SINGLE_VALUE = new Set([
  'age',
  'authorization',
  'content-length',
  'content-type',
  'etag',
  'expires',
  'from',
  'host',
  'if-modified-since',
  'if-unmodified-since',
  'last-modified',
  'location',
  'max-forwards',
  'proxy-authorization',
  'referer',
  'retry-after',
  'server',
  'user-agent',
])

/**
 * The request of a dispatched call: the parts of an IncomingMessage core reads (method, url, headers,
 * rawHeaders, HTTP version, the socket's peer address) and, when there is a body, the stream of it.
 */
class DispatchedRequest extends Readable {
  readonly method: string
  readonly url: string
  readonly headers: Record<string, string | string[]> = { 'user-agent': 'gatehouse-dispatch' }
  readonly rawHeaders: string[] = []
  readonly httpVersionMajor = 1
  readonly httpVersionMinor = 1
  readonly httpVersion = '1.1'
  readonly aborted = false
  readonly socket: { readonly remoteAddress: string }
  private payload: Buffer | string | undefined

  constructor(req: DispatchRequest, fromHost: string | undefined, remoteAddress: string) {
    super({ autoDestroy: false })
    this.method = (req.method ?? 'GET').toUpperCase()
    // As an HTTP client would send it: dot segments resolved, unsafe characters percent-encoded.
    const path = req.path
    const url = new URL(path.startsWith('//') ? `http://localhost${path}` : path, 'http://localhost')
    this.url = url.pathname + url.search
    this.socket = { remoteAddress }
    const headers = this.headers
    const given = req.headers
    for (const k in given) {
      const v = given[k]
      if (v === undefined) continue
      const name = k.toLowerCase()
      if (name === MARK_HEADER) continue
      if (!Array.isArray(v)) headers[name] = String(v)
      else if (name === 'set-cookie') headers[name] = v.map(String)
      else if (SINGLE_VALUE.has(name)) headers[name] = String(v[0])
      else headers[name] = v.join(name === 'cookie' ? '; ' : ', ')
    }
    const host = req.host ?? fromHost
    if (host) headers.host = host
    else headers.host ??= 'localhost:80'
    const body = req.body
    if (body !== undefined && body.length > 0) {
      this.payload = body
      headers['content-length'] ??= String(typeof body === 'string' ? Buffer.byteLength(body) : body.length)
    }
    const raw = this.rawHeaders
    for (const name in headers) {
      const v = headers[name]!
      if (Array.isArray(v)) for (const item of v) raw.push(name, item)
      else raw.push(name, v)
    }
  }

  override _read(): void {
    const payload = this.payload
    this.payload = undefined
    if (payload !== undefined) this.push(payload)
    this.push(null)
  }
}

const EMPTY = Buffer.alloc(0)
const kClose = Symbol('close listener')

/**
 * The response of a dispatched call: the parts of a ServerResponse core uses (`on('close')`,
 * `headersSent`, `writableEnded`/`writableFinished`, `destroy`), filled by {@link collect} with the
 * status, headers and body, which settle the call's promise.
 */
class Collector {
  headersSent = false
  writableEnded = false
  writableFinished = false
  destroyed = false
  timer: NodeJS.Timeout | undefined = undefined
  onSettled: (() => void) | undefined = undefined
  private settled = false
  private closed = false
  private [kClose]: ((this: Collector) => void) | undefined = undefined

  constructor(
    private readonly method: string,
    private readonly requestId: string | undefined,
    private readonly resolve: (res: DispatchResponse) => void,
    private readonly reject: (err: unknown) => void,
  ) {}

  /** Core listens for 'close' only (request/lifecycle.ts), once per response. */
  on(event: string, listener: (this: Collector) => void): this {
    if (event === 'close') this[kClose] = listener
    return this
  }

  /** What Fastify's `reply.send` and Node's ServerResponse would make of the answer. */
  send(status: number, given: Headers, body: Buffer | string | Readable | undefined): void {
    if (this.destroyed) {
      // Ended already (timeout, abort): nobody reads this answer.
      if (body !== undefined && typeof body !== 'string' && !Buffer.isBuffer(body)) {
        body.on('error', noop)
        body.destroy()
      }
      return
    }
    this.headersSent = true
    const h: Record<string, string | string[]> = {}
    for (const k in given) {
      const v = given[k]
      if (v === undefined) continue
      const name = k.toLowerCase()
      const value = Array.isArray(v) ? v.map(String) : String(v)
      const prior = h[name]
      h[name] = name === 'set-cookie' && prior !== undefined ? [prior, value].flat() : value
    }
    const head = this.method === 'HEAD'
    const bodiless = status < 200 || status === 204
    if (body === undefined || body === null) {
      if (!bodiless && status !== 304 && !head) h['content-length'] = '0'
      this.finish(status, h, EMPTY)
      return
    }
    if (typeof body !== 'string' && !Buffer.isBuffer(body)) {
      if (bodiless) {
        delete h['content-type']
        delete h['content-length']
        body.on('error', noop)
        body.resume()
        this.finish(status, h, EMPTY)
        return
      }
      this.collectStream(status, h, body, head || status === 304)
      return
    }
    const type = h['content-type']
    if (type === undefined) h['content-type'] = Buffer.isBuffer(body) ? OCTET : PLAIN
    else if (typeof body === 'string' && JSON_TYPE.test(String(type)) && !CHARSET.test(String(type)))
      h['content-type'] = `${String(type).replace(TRAILING_SEMICOLON, '')}; charset=utf-8`
    if (bodiless) {
      delete h['content-type']
      delete h['content-length']
      this.finish(status, h, EMPTY)
      return
    }
    const length = Buffer.byteLength(body)
    const declared = h['content-length']
    if (!declared || (!head && Number(declared) !== length)) h['content-length'] = String(length)
    const bytes = head || status === 304 ? EMPTY : typeof body === 'string' ? Buffer.from(body) : body
    this.finish(status, h, bytes)
  }

  /** A streamed answer (the upstream's body): collected here, without a pipe into a fake socket. */
  private collectStream(
    status: number,
    h: Record<string, string | string[]>,
    stream: Readable,
    drop: boolean,
  ): void {
    const chunks: Buffer[] = []
    let size = 0
    stream.on('data', (chunk: Buffer | string) => {
      if (this.settled) return
      const b = typeof chunk === 'string' ? Buffer.from(chunk) : chunk
      size += b.length
      if (!drop) chunks.push(b)
    })
    stream.on('end', () => {
      if (this.settled) return
      // Node's framing: an empty body ended before any write gets Content-Length: 0, else chunked.
      if (h['content-length'] === undefined && h['transfer-encoding'] === undefined && !drop) {
        if (size === 0) h['content-length'] = '0'
        else h['transfer-encoding'] = 'chunked'
      }
      this.finish(status, h, chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size))
    })
    stream.on('error', (err: Error) => {
      if (this.settled) return
      // Before any byte the answer becomes a 500 (Fastify's); after, the call fails like a cut connection.
      if (size === 0) this.fail()
      else this.destroy(err)
    })
    // Closed without its end (destroyed elsewhere): the answer is incomplete.
    stream.on('close', () => this.destroy())
  }

  private finish(status: number, h: Record<string, string | string[]>, body: Buffer): void {
    if (this.settled) return
    h.date ??= httpDate()
    h.connection ??= 'keep-alive'
    this.writableEnded = true
    this.writableFinished = true
    this.settle()
    this.resolve({ status, headers: h, body })
    this.emitClose()
  }

  /** A fault outside the lifecycle's own handling: a 500, as Fastify's last-resort error handler gave. */
  fail(): void {
    if (this.settled) return
    const body = Buffer.from(JSON.stringify(InternalError().toBody(this.requestId ?? '')))
    const h = { 'content-type': 'application/json; charset=utf-8', 'content-length': String(body.length) }
    this.finish(500, h, body)
  }

  /** Ends the call before its answer is complete (timeout, abort, a broken upstream body). */
  destroy(err?: unknown): this {
    if (this.destroyed) return this
    this.destroyed = true
    if (!this.settled) {
      this.settle()
      this.reject(err ?? new Error('the call ended before its answer was complete'))
    }
    this.emitClose()
    return this
  }

  private settle(): void {
    this.settled = true
    if (this.timer !== undefined) clearTimeout(this.timer)
    this.onSettled?.()
  }

  private emitClose(): void {
    if (this.closed) return
    this.closed = true
    this[kClose]?.call(this)
  }
}

const OCTET = 'application/octet-stream'
const PLAIN = 'text/plain; charset=utf-8'
const JSON_TYPE = /^[^;]*json/i
const CHARSET = /;\s*charset\s*=/i
const TRAILING_SEMICOLON = /;\s*$/

function noop(): void {}

/** The HTTP date, computed once per second (as Node's server does). */
let dateSecond = -1
let dateText = ''
function httpDate(): string {
  const second = Math.floor(Date.now() / 1000)
  if (second !== dateSecond) {
    dateSecond = second
    dateText = new Date(second * 1000).toUTCString()
  }
  return dateText
}

function errorAnswer(err: GatehouseError, requestId: string | undefined): DispatchResponse {
  return {
    status: err.statusCode,
    headers: { 'content-type': 'application/json; charset=utf-8' },
    body: Buffer.from(JSON.stringify(err.toBody(requestId ?? ''))),
  }
}
