import type { IncomingMessage } from 'node:http'
import { parse as parseQuery } from 'node:querystring'
import type {
  BodyLimit,
  ClientInfo,
  Consumer,
  Credential,
  GatehouseError,
  Headers,
  Logger,
  Phase,
  PluginTiming,
  RequestView,
  RouteInfo,
  ServiceInfo,
  SetConsumerOptions,
  Timings,
  UpstreamRequest,
} from '@gatehousejs/sdk'
import { GatehouseError as GatehouseErrorClass } from '@gatehousejs/sdk/host'
import { PhaseMisuse } from '../errors.js'
import type { Chain, CompiledRoute, CompiledService, Generation, Instance } from '../model.js'
import type { Guard } from '../server/protect.js'
import { hasBody, readRequestBody } from './body.js'
import { clientAddress, setIdentityHeaders } from './forwarding.js'
import { Response } from './response.js'

export class Request implements RequestView {
  method: string
  path: string
  querystring: string
  headers: Headers
  host: string
  params: Record<string, string> = EMPTY
  body: unknown = undefined
  rawBody: Buffer | undefined = undefined
  private parsedQuery: Record<string, string | string[]> | undefined

  constructor(method: string, path: string, querystring: string, headers: Headers, host: string) {
    this.method = method
    this.path = path
    this.querystring = querystring
    this.headers = headers
    this.host = host
  }

  get query(): Record<string, string | string[]> {
    if (this.parsedQuery === undefined)
      this.parsedQuery = parseQuery(this.querystring) as Record<string, string | string[]>
    return this.parsedQuery
  }
}

export class Upstream implements UpstreamRequest {
  method: string
  path: string
  querystring: string
  headers: Headers
  body: unknown = undefined
  /** The origin sent to: the service's, or with targets the one the balancer picked (set on sending). */
  target: string
  timeouts: { connect: number; read: number }
  bodyLimit: BodyLimit | undefined = undefined

  constructor(
    method: string,
    path: string,
    querystring: string,
    headers: Headers,
    service: CompiledService,
    timeouts: { connect: number; read: number },
  ) {
    this.method = method
    this.path = path
    this.querystring = querystring
    this.headers = headers
    this.target = service.origin
    this.timeouts = { connect: timeouts.connect, read: timeouts.read }
  }
}

const EMPTY: Record<string, string> = Object.freeze({}) as Record<string, string>

/**
 * One object per request; handlers see it through the phase-typed interfaces of the SDK. Functions
 * that cannot work in the current phase throw GH_PLUGIN_PHASE_MISUSE.
 */
export class Context {
  phase: Phase = 'rewrite'
  readonly requestId: string
  readonly gen: Generation
  readonly raw: IncomingMessage
  readonly request: Request
  route: RouteInfo | undefined = undefined
  service: ServiceInfo | undefined = undefined
  compiledRoute: CompiledRoute | undefined = undefined
  /** Set while the request counts against the gateway's in-flight cap (server/protect.ts). */
  guard: Guard | undefined = undefined
  /** Whether the request counts against its route's `maxInflight`. */
  routeCounted = false
  private upstreamRequest: Upstream | undefined = undefined
  private upstreamView: Upstream | undefined = undefined
  /** The service sent to: the route's, or another one chosen by the route's service `split`. */
  upstreamService: CompiledService | undefined = undefined
  response: Response | undefined = undefined
  consumer: Consumer | undefined = undefined
  credential: Credential | undefined = undefined
  anonymous = false
  error: GatehouseError | undefined = undefined
  chain: Chain
  responded = false
  aborted = false
  /** Aborts the upstream request when the client goes away. */
  upstreamAbort: { abort(): void } | undefined = undefined
  /** The instance whose handler is running, for `ctx.log`, `ctx.plugin` and error messages. */
  current: Instance | undefined = undefined
  readonly startedAt: number
  upstreamStartedAt = 0
  upstreamHeadersAt = 0
  finishedAt = 0
  /** Each plugin handler's run, when the generation times plugins (`undefined` otherwise: no cost). */
  readonly pluginTimings: PluginTiming[] | undefined
  private sharedState: Record<string, unknown> | undefined
  private pluginState: Map<Instance, Record<string, unknown>> | undefined
  private clientInfo: ClientInfo | undefined
  private requestLogger: Logger | undefined
  private pluginLoggers: Map<Instance, Logger> | undefined
  private readonly baseLogger: Logger

  constructor(
    gen: Generation,
    raw: IncomingMessage,
    request: Request,
    requestId: string,
    logger: Logger,
    startedAt: number,
  ) {
    this.gen = gen
    this.raw = raw
    this.request = request
    this.requestId = requestId
    this.baseLogger = logger
    this.chain = gen.globalChain
    this.startedAt = startedAt
    this.pluginTimings = gen.timePlugins ? [] : undefined
  }

  /**
   * The upstream request. In `response` and `log` it was already sent (or never will be): handlers
   * then get a view that reads through and refuses every write with GH_PLUGIN_PHASE_MISUSE naming the
   * plugin and phase, however deep (`ctx.upstream.headers['x'] = 'y'` included).
   */
  get upstream(): Upstream | undefined {
    const up = this.upstreamRequest
    if (up === undefined || (this.phase !== 'response' && this.phase !== 'log')) return up
    if (this.upstreamView === undefined) this.upstreamView = readOnlyView(up, this, 'ctx.upstream')
    return this.upstreamView
  }

  set upstream(up: Upstream | undefined) {
    this.upstreamRequest = up
    this.upstreamView = undefined
  }

  get shared(): Record<string, unknown> {
    if (this.sharedState === undefined) this.sharedState = {}
    return this.sharedState
  }

  get plugin(): Record<string, unknown> {
    const inst = this.current
    if (!inst) return this.shared
    if (this.pluginState === undefined) this.pluginState = new Map()
    let state = this.pluginState.get(inst)
    if (!state) {
      state = {}
      this.pluginState.set(inst, state)
    }
    return state
  }

  get client(): ClientInfo {
    if (this.clientInfo === undefined) this.clientInfo = clientAddress(this.raw, this.gen.trust)
    return this.clientInfo
  }

  /** The request's logger (bound to its id). */
  get requestLog(): Logger {
    if (this.requestLogger === undefined)
      this.requestLogger = this.baseLogger.child({ reqId: this.requestId }) as Logger
    return this.requestLogger
  }

  get log(): Logger {
    const inst = this.current
    if (!inst) return this.requestLog
    if (this.pluginLoggers === undefined) this.pluginLoggers = new Map()
    let log = this.pluginLoggers.get(inst)
    if (!log) {
      log = this.requestLog.child({ plugin: inst.def.name })
      this.pluginLoggers.set(inst, log)
    }
    return log
  }

  respond(
    status: number,
    body?: unknown,
    headers?: Record<string, string>,
    options?: { asUpstream?: boolean },
  ): void {
    if (this.phase !== 'rewrite' && this.phase !== 'access' && this.phase !== 'error') {
      throw misuse(this, `respond() cannot be called in the ${this.phase} phase`)
    }
    if (!Number.isInteger(status) || status < 100 || status > 599) {
      throw misuse(this, `respond() needs an HTTP status from 100 to 599, got ${String(status)}`)
    }
    const h: Headers = {}
    if (headers) for (const k in headers) h[k.toLowerCase()] = headers[k]
    if (options?.asUpstream === true && this.phase !== 'access') {
      throw misuse(this, `respond(..., { asUpstream: true }) works in access only, not in ${this.phase}`)
    }
    // asUpstream: the plugin's answer stands for the upstream's (an aggregation), for the cache and transformers.
    const source = options?.asUpstream === true ? 'upstream' : this.phase === 'error' ? 'error' : 'plugin'
    this.response = new Response(status, h, body, source)
    // A Readable body (gRPC server streaming) is sent as it arrives, never buffered.
    if (typeof (body as { pipe?: unknown } | null)?.pipe === 'function') {
      this.response.body = undefined
      this.response.stream = body as import('node:stream').Readable
    }
    this.responded = true
  }

  /**
   * `access` only: reads the client's body now (once; later calls return the same value), as
   * `needs.requestBody` does for every request, but only for the requests a plugin picks. The body is
   * then sent upstream from the buffer. `undefined` when the request has no body.
   */
  async readBody(): Promise<unknown> {
    if (this.phase !== 'access') throw misuse(this, `readBody() works in access only, not in ${this.phase}`)
    return this.bufferBody()
  }

  /** Core's side of `readBody()` (and of `needs.requestBody`, before `access` starts): no phase check. */
  async bufferBody(): Promise<unknown> {
    if (this.request.rawBody === undefined && hasBody(this.raw)) {
      const body = await readRequestBody(this.raw, this.gen.limits.requestBody)
      this.request.rawBody = body.raw
      this.request.body = body.parsed
    }
    return this.request.body
  }

  /** `response` only: the upstream's own stored representation replaces the response (see the SDK). */
  serveStored(status: number, headers: Readonly<Headers>, body: Buffer): void {
    const res = this.response
    if (this.phase !== 'response' || res === undefined)
      throw misuse(this, `serveStored() works in response only, not in ${this.phase}`)
    if (!Number.isInteger(status) || status < 200 || status > 599 || !Buffer.isBuffer(body))
      throw misuse(this, 'serveStored() needs a final status (200-599) and a Buffer body')
    const h: Headers = {}
    for (const k in headers) if (headers[k] !== undefined) h[k.toLowerCase()] = headers[k]
    delete h['content-encoding']
    res.status = status
    res.headers = h
    // body === original === raw: finalResponseBody sends these bytes as they are, validators intact.
    res.body = body
    res.original = body
    res.raw = body
  }

  setConsumer(consumer: Consumer, credential?: Credential, options?: SetConsumerOptions): void {
    if (this.phase !== 'access')
      throw misuse(this, `setConsumer() cannot be called in the ${this.phase} phase`)
    if (!consumer || typeof consumer.id !== 'string')
      throw misuse(this, 'setConsumer() needs a consumer with an id')
    this.consumer = consumer
    this.credential = credential
    this.anonymous = options?.anonymous === true
    // The identity goes upstream now, replacing any earlier one (an anonymous consumer that a later
    // auth plugin replaced), so a later access handler can still drop a header (acl's hideGroupsHeader).
    if (this.upstream) setIdentityHeaders(this.upstream.headers, consumer, credential, this.anonymous)
    // The consumer's chain, or the route's own when it has none: a real consumer that replaces an
    // anonymous one must not keep the anonymous consumer's instances (e.g. its request-termination).
    const route = this.compiledRoute
    if (route) this.chain = route.consumerChains.get(consumer.id) ?? route.chain
  }

  get timings(): Timings {
    const end = this.finishedAt || performance.now()
    const total = end - this.startedAt
    const upstream = this.upstreamHeadersAt > 0 ? this.upstreamHeadersAt - this.upstreamStartedAt : undefined
    return {
      total,
      upstream,
      gateway: total - (upstream ?? 0),
      upstreamStart: this.upstreamStartedAt > 0 ? this.upstreamStartedAt - this.startedAt : undefined,
      plugins: this.pluginTimings,
    }
  }
}

function misuse(ctx: Context, detail: string): GatehouseError {
  const who = ctx.current ? `plugin "${ctx.current.def.name}": ` : ''
  return new GatehouseErrorClass(PhaseMisuse.code, PhaseMisuse.statusCode, PhaseMisuse().message, {
    cause: new Error(who + detail),
  })
}

/**
 * A view of `target` that reads through (wrapping nested plain objects and arrays the same way) and
 * throws on any write, naming the plugin, the phase and the path written. Buffers, streams and other
 * class instances are handed out as they are.
 */
function readOnlyView<T extends object>(target: T, ctx: Context, path: string): T {
  return new Proxy(target, {
    get(obj, key, receiver) {
      const value = Reflect.get(obj, key, receiver)
      if (value === null || typeof value !== 'object' || typeof key === 'symbol') return value
      const proto = Object.getPrototypeOf(value)
      if (proto !== Object.prototype && proto !== null && !Array.isArray(value)) return value
      // A Proxy must return a non-configurable, read-only property's own value.
      const own = Reflect.getOwnPropertyDescriptor(obj, key)
      if (own !== undefined && !own.configurable && own.writable === false) return value
      return readOnlyView(value as object, ctx, `${path}.${key}`)
    },
    set(_obj, key) {
      throw lateWrite(ctx, `${path}.${String(key)}`)
    },
    deleteProperty(_obj, key) {
      throw lateWrite(ctx, `${path}.${String(key)}`)
    },
    defineProperty(_obj, key) {
      throw lateWrite(ctx, `${path}.${String(key)}`)
    },
    setPrototypeOf() {
      throw lateWrite(ctx, path)
    },
  })
}

function lateWrite(ctx: Context, path: string): GatehouseError {
  return misuse(
    ctx,
    `${path} is read-only in the ${ctx.phase} phase (the upstream request was already sent, or never will be); ` +
      'change it in access',
  )
}
