import type { GatehouseError, Logger } from '@gatehousejs/sdk'
import { Pool } from './undici.js'

/** A service's pool limits per origin (`pool` in the configuration; docs/reliability.md). */
export interface PoolLimits {
  connections: number
  queue: number
  /** ms; 0 means no queue timeout. */
  queueTimeout: number
  /** Part of the pool's key: services with the same limits share their pools. */
  key: string
}

/**
 * Requests of one limited pool between dispatch and their end. undici's Pool caps the connections but
 * queues without bound; this refuses at once beyond `connections + queue`, and a request that waits
 * longer than `queueTimeout` for a connection is answered 503 (it is dropped unsent when its turn comes).
 */
export class PoolLimiter {
  inflight = 0
  private refused = 0
  private loggedAt = Number.NEGATIVE_INFINITY
  constructor(
    readonly limits: PoolLimits,
    private readonly origin: string,
    private readonly logger: Logger | undefined,
  ) {}

  /** One warn line on the first refusal, then one at most every 10 s with the count since. */
  refuse(err: GatehouseError): GatehouseError {
    this.refused++
    const now = performance.now()
    if (this.logger !== undefined && now - this.loggedAt >= 10_000) {
      this.logger.warn(
        { origin: this.origin, code: err.code, refused: this.refused, ...this.limits, key: undefined },
        'upstream pool full: refusing requests (count since the last line)',
      )
      this.refused = 0
      this.loggedAt = now
    }
    return err
  }
}
const kLimiter = Symbol('gatehouse.poolLimiter')
/** Refusals by a limited pool: the gateway's own capacity, never held against a target. */
export const POOL_REFUSALS = new Set(['GH_UPSTREAM_QUEUE_FULL', 'GH_UPSTREAM_QUEUE_TIMEOUT'])
type LimitedPool = Pool & { [kLimiter]?: PoolLimiter }

/** The limiter of a pool built with `pool` limits; undefined for an unlimited pool. */
export function limiterOf(pool: Pool): PoolLimiter | undefined {
  return (pool as LimitedPool)[kLimiter]
}

/**
 * Upstream connections: one undici Pool per origin and connect timeout, kept alive and shared by every
 * route to that origin. Pools outlive a reload when the new configuration still uses them, so a
 * reload does not drop warm connections.
 */
export class Pools {
  /**
   * origin → connect timeout (and limits, for a limited pool) → pool: the lookup for an unlimited pool
   * builds no key string.
   */
  private readonly byOrigin = new Map<string, Map<number | string, Pool>>()

  /** `logger` hears about refusals by limited pools. */
  constructor(private readonly logger?: Logger) {}

  get(origin: string, connectTimeout: number, limits?: PoolLimits): Pool {
    const key = limits === undefined ? connectTimeout : `${connectTimeout}|${limits.key}`
    let byTimeout = this.byOrigin.get(origin)
    let pool = byTimeout?.get(key)
    if (pool !== undefined) return pool
    // undici passes the connect options on to `net.connect`/`tls.connect` (its types list only its own).
    const connect = { timeout: connectTimeout, highWaterMark: UPSTREAM_HIGH_WATER_MARK }
    pool = new Pool(origin, {
      connect,
      keepAliveTimeout: 4_000,
      ...(limits === undefined ? {} : { connections: limits.connections }),
    })
    if (limits !== undefined) (pool as LimitedPool)[kLimiter] = new PoolLimiter(limits, origin, this.logger)
    if (byTimeout === undefined) this.byOrigin.set(origin, (byTimeout = new Map()))
    byTimeout.set(key, pool)
    return pool
  }

  /** Closes pools whose {@link poolKey} is not in `keep`, after their requests finish. */
  async retain(keep: Set<string>): Promise<void> {
    const closing: Promise<void>[] = []
    for (const [origin, byTimeout] of this.byOrigin) {
      for (const [timeout, pool] of byTimeout) {
        if (keep.has(`${origin}|${timeout}`)) continue
        byTimeout.delete(timeout)
        closing.push(pool.close().catch(() => {}))
      }
      if (byTimeout.size === 0) this.byOrigin.delete(origin)
    }
    await Promise.all(closing)
  }

  /**
   * On the gateway's close: every pool closes once its requests finish, and whatever still runs after
   * `timeout` ms is cut (`destroy`). What is left by then was never the clients' to wait for: mirror
   * copies (which no generation holds, bounded only by their own timeout) and requests already past
   * the drain. Without the cut, close() outlived `drainTimeout` by up to a mirror's timeout.
   */
  async closeAll(timeout: number): Promise<void> {
    const pools = [...this.byOrigin.values()].flatMap((byTimeout) => [...byTimeout.values()])
    this.byOrigin.clear()
    let timer: NodeJS.Timeout | undefined
    const cut = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, timeout)
    })
    await Promise.race([Promise.all(pools.map((pool) => pool.close().catch(() => {}))), cut])
    clearTimeout(timer)
    await Promise.all(pools.map((pool) => (pool.destroyed ? undefined : pool.destroy().catch(() => {}))))
  }
}

/**
 * The upstream socket's buffer (undici's is 64 KiB). Node reads 64 KiB at a time; at 64 KiB a single
 * full read filled the buffer, so Node stopped reading the socket and restarted it once undici had
 * parsed the read (two `epoll_ctl` calls), and the rest of the response waited for the next turn.
 */
const UPSTREAM_HIGH_WATER_MARK = 128 * 1024

export function poolKey(origin: string, connectTimeout: number, limits?: PoolLimits): string {
  return limits === undefined ? `${origin}|${connectTimeout}` : `${origin}|${connectTimeout}|${limits.key}`
}
