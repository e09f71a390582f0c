import type http from 'node:http'
import type { Socket } from 'node:net'
import type { GatehouseError, Logger } from '@gatehousejs/sdk'
import type { ServerConfig } from '@gatehousejs/sdk/config'
import {
  GatewayConcurrencyLimit,
  GatewayConnectionLimit,
  GatewayOverloaded,
  RouteConcurrencyLimit,
} from '../errors.js'

/**
 * The server edge's protections (docs/reliability.md): slow-client timeouts, caps on connections and
 * on requests in flight (global and per route), and overload shedding on event-loop lag. A refusal is
 * a 503 with Retry-After, answered at once: nothing waits in a queue that has no bound.
 */

/** Every limit in milliseconds or counts; 0 means off. */
export interface ServerLimits {
  headersTimeout: number
  requestTimeout: number
  keepAliveTimeout: number
  maxRequestsPerConnection: number
  maxConnections: number
  maxInflight: number
  maxEventLoopDelay: number
}

export const DEFAULT_LIMITS: ServerLimits = {
  headersTimeout: 60_000,
  requestTimeout: 300_000,
  keepAliveTimeout: 72_000,
  maxRequestsPerConnection: 0,
  maxConnections: 10_000,
  maxInflight: 0,
  maxEventLoopDelay: 0,
}

/** Seconds a refused client is told to wait (RFC 9110 §10.2.3). */
export const RETRY_AFTER = '1'
/** Codes of refusals: logged in one throttled line, not one line per request. */
export const REFUSAL_CODES = new Set([
  'GH_GATEWAY_CONNECTION_LIMIT',
  'GH_GATEWAY_CONCURRENCY_LIMIT',
  'GH_ROUTE_CONCURRENCY_LIMIT',
  'GH_GATEWAY_OVERLOADED',
  'GH_UPSTREAM_QUEUE_FULL',
  'GH_UPSTREAM_QUEUE_TIMEOUT',
])
/** The refusal summary is logged at most this often (ms). */
const REFUSAL_LOG_EVERY = 10_000
/** Addresses remembered per log window for slow-client lines; beyond it, cuts are only counted. */
const SLOW_CLIENTS_REMEMBERED = 1_000
/** Shedding stops once the lag has stayed under half the threshold this long (ms): hysteresis. */
const RECOVERY = 1_000

/** The `server` section, else the `createGateway` options, else the defaults. */
export function serverLimits(config: ServerConfig | undefined, options: Partial<ServerLimits>): ServerLimits {
  const c = (config ?? {}) as Partial<ServerLimits>
  const limits = { ...DEFAULT_LIMITS }
  for (const key of Object.keys(DEFAULT_LIMITS) as (keyof ServerLimits)[]) {
    const value = c[key] ?? options[key]
    if (value !== undefined) limits[key] = value
  }
  return limits
}

/**
 * How often Node looks for requests past their header/request timeout (fixed at server creation): a
 * quarter of the shortest, between 250 ms and Node's default 30 s, so a slow client is cut within
 * ~1.25× its timeout.
 */
export function checkingInterval(limits: ServerLimits): number {
  const timeouts = [limits.headersTimeout, limits.requestTimeout].filter((t) => t > 0)
  if (timeouts.length === 0) return 30_000
  return Math.max(250, Math.min(30_000, Math.floor(Math.min(...timeouts) / 4)))
}

const kOverLimit = Symbol('gatehouse.overConnectionLimit')
type Counted = Socket & { [kOverLimit]?: boolean }

export class Guard {
  limits: ServerLimits
  connections = 0
  inflight = 0
  shedding = false
  private readonly logger: Logger
  private sampler: NodeJS.Timeout | undefined = undefined
  private lastTick = 0
  private interval = 100
  private overSamples = 0
  private calmSince = 0
  private refusals: Record<string, number> = {}
  private refusalLoggedAt = Number.NEGATIVE_INFINITY
  /** Client addresses already logged as too slow in the current window (cleared every 10 s). */
  private slowLogged = new Set<string>()
  private slowWindowAt = Number.NEGATIVE_INFINITY

  constructor(limits: ServerLimits, logger: Logger) {
    this.limits = limits
    this.logger = logger
    this.onSocketClose = this.onSocketClose.bind(this)
  }

  /** Node's own slow-client limits; the properties are read live, so a reload may change them. */
  applyTo(server: http.Server): void {
    const l = this.limits
    server.requestTimeout = l.requestTimeout
    // Node checks the head against headersTimeout and the whole request against requestTimeout.
    server.headersTimeout =
      l.requestTimeout > 0 ? Math.min(l.headersTimeout, l.requestTimeout) : l.headersTimeout
    server.keepAliveTimeout = l.keepAliveTimeout
    server.maxRequestsPerSocket = l.maxRequestsPerConnection
  }

  update(limits: ServerLimits, server: http.Server | undefined): void {
    const restart = limits.maxEventLoopDelay !== this.limits.maxEventLoopDelay && this.sampler !== undefined
    this.limits = limits
    if (server !== undefined) this.applyTo(server)
    if (restart) {
      this.stop()
      this.start()
    }
  }

  // ── connections ────────────────────────────────────────────────────────────────────────────
  /** Counts an accepted connection; one past `maxConnections` is marked, and its requests refused. */
  onConnection(socket: Socket): void {
    this.connections++
    socket.once('close', this.onSocketClose)
    const max = this.limits.maxConnections
    if (max > 0 && this.connections > max) (socket as Counted)[kOverLimit] = true
  }

  private onSocketClose(): void {
    this.connections--
  }

  // ── requests ───────────────────────────────────────────────────────────────────────────────
  /**
   * Admits a new request, or returns the refusal to answer with (Retry-After set; a connection over
   * the cap is also closed). An admitted request must be {@link leave}n when its response closes.
   */
  admit(socket: Socket | undefined): GatehouseError | undefined {
    if (socket !== undefined && (socket as Counted)[kOverLimit] === true)
      return this.refuse(
        GatewayConnectionLimit().withHeaders({ 'retry-after': RETRY_AFTER, connection: 'close' }),
      )
    if (this.shedding) return this.refuse(GatewayOverloaded().withHeaders({ 'retry-after': RETRY_AFTER }))
    const max = this.limits.maxInflight
    if (max > 0 && this.inflight >= max)
      return this.refuse(GatewayConcurrencyLimit().withHeaders({ 'retry-after': RETRY_AFTER }))
    return undefined
  }

  /** A route at its `maxInflight`. */
  refuseRoute(): GatehouseError {
    return this.refuse(RouteConcurrencyLimit().withHeaders({ 'retry-after': RETRY_AFTER }))
  }

  /**
   * A connection cut for slowness (headersTimeout or requestTimeout): one `info` line for the first
   * cut of a client address in a 10 s window, never one per connection or per byte. A slowloris
   * attack opens many connections from one address: the later cuts are only counted, in the
   * throttled summary line.
   */
  slowClient(address: string | undefined): void {
    const now = performance.now()
    if (now - this.slowWindowAt >= REFUSAL_LOG_EVERY) {
      this.slowLogged.clear()
      this.slowWindowAt = now
    }
    const client = address ?? 'unknown'
    if (!this.slowLogged.has(client) && this.slowLogged.size < SLOW_CLIENTS_REMEMBERED) {
      this.slowLogged.add(client)
      this.logger.info(
        { client, code: 'GH_REQUEST_TIMEOUT' },
        'client too slow to send its request: 408, connection closed (further cuts of this client in the next 10 s are only counted)',
      )
      return
    }
    this.count('GH_REQUEST_TIMEOUT')
  }

  /** Counts a refusal; one warn line on the first, then a summary at most every 10 s. */
  private refuse(err: GatehouseError): GatehouseError {
    this.count(err.code)
    return err
  }

  private count(code: string): void {
    this.refusals[code] = (this.refusals[code] ?? 0) + 1
    const now = performance.now()
    if (now - this.refusalLoggedAt >= REFUSAL_LOG_EVERY) {
      this.logger.warn(
        { refused: this.refusals, connections: this.connections, inflight: this.inflight },
        'refusing requests or cutting slow clients: a limit is reached (counts since the last line)',
      )
      this.refusals = {}
      this.refusalLoggedAt = now
    }
  }

  // ── overload ───────────────────────────────────────────────────────────────────────────────
  /**
   * Samples event-loop lag with a timer: a tick that comes late measures how long the loop was busy.
   * A timer (not the request path) pays for it, so a request only reads `shedding`.
   */
  start(): void {
    const threshold = this.limits.maxEventLoopDelay
    if (threshold <= 0 || this.sampler !== undefined) return
    this.interval = Math.max(10, Math.min(100, Math.floor(threshold / 4)))
    this.lastTick = performance.now()
    this.overSamples = 0
    this.sampler = setInterval(() => this.tick(), this.interval)
    this.sampler.unref()
  }

  stop(): void {
    if (this.sampler !== undefined) clearInterval(this.sampler)
    this.sampler = undefined
    this.shedding = false
  }

  private tick(): void {
    const now = performance.now()
    const lag = Math.max(0, now - this.lastTick - this.interval)
    this.lastTick = now
    const threshold = this.limits.maxEventLoopDelay
    if (lag >= threshold) {
      this.calmSince = 0
      // Two late ticks in a row: a sustained stall, not one long garbage collection.
      if (++this.overSamples >= 2 && !this.shedding) {
        this.shedding = true
        this.logger.warn({ lag: Math.round(lag), threshold }, 'overloaded: shedding new requests (503)')
      }
      return
    }
    this.overSamples = 0
    if (!this.shedding) return
    if (lag >= threshold / 2) {
      this.calmSince = 0
      return
    }
    if (this.calmSince === 0) this.calmSince = now
    else if (now - this.calmSince >= RECOVERY) {
      this.shedding = false
      this.calmSince = 0
      this.logger.info({ lag: Math.round(lag), threshold }, 'overload over: serving new requests again')
    }
  }
}
