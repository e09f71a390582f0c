import { createHash } from 'node:crypto'
import type { Logger } from '@gatehousejs/sdk'
import { Redis } from 'ioredis'
import type { RedisConfig } from './schema.js'

/** A key set as fetched by one gateway node, shared with the others. Times are epoch milliseconds. */
export interface SharedKeySet {
  readonly jwks: { readonly keys: ReadonlyArray<Record<string, unknown>> }
  readonly fetchedAt: number
  readonly expiresAt: number
}

/**
 * JWKS documents shared across gateway nodes through Redis, so that N nodes fetch an identity
 * provider's keys about once per lifetime instead of N times. Redis is an optimisation here, never a
 * dependency: every failure (down, slow, garbage) reads as "nothing shared" and the node fetches the
 * JWKS itself. Commands are not queued while disconnected (`enableOfflineQueue: false`), so an outage
 * costs a request nothing but a failed lookup.
 */
export class SharedKeySetStore {
  private readonly redis: Redis
  private readonly prefix: string
  private down = false

  constructor(
    config: RedisConfig,
    private readonly log: Logger,
  ) {
    this.prefix = config.keyPrefix
    this.redis = new Redis(config.url, {
      lazyConnect: true,
      connectTimeout: config.timeout,
      commandTimeout: config.timeout,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      retryStrategy: (attempt) => Math.min(attempt * 200, 2000),
    })
    // Without a listener ioredis reports every failed reconnection; one warning per outage is enough.
    this.redis.on('error', (err) => this.degraded(err))
    this.redis.on('ready', () => {
      if (this.down) this.log.info('jwks redis store is back')
      this.down = false
    })
  }

  /** Connects, waiting at most the configured timeout; a failure leaves ioredis reconnecting on its own. */
  async connect(): Promise<void> {
    await this.redis.connect().catch((err: unknown) => this.degraded(err))
  }

  private degraded(err: unknown): void {
    if (this.down) return
    this.down = true
    this.log.warn({ err }, 'jwks redis store unavailable: fetching key sets directly')
  }

  /** The Redis key of one JWKS URL (hashed: URLs may be long and carry query strings). */
  keyOf(url: string): string {
    return `${this.prefix}jwks:${createHash('sha256').update(url).digest('base64url').slice(0, 22)}`
  }

  async get(url: string): Promise<SharedKeySet | undefined> {
    try {
      const raw = await this.redis.get(this.keyOf(url))
      if (!raw) return undefined
      const value = JSON.parse(raw) as SharedKeySet
      const ok =
        Array.isArray(value?.jwks?.keys) &&
        typeof value.fetchedAt === 'number' &&
        typeof value.expiresAt === 'number'
      return ok ? value : undefined
    } catch (err) {
      this.degraded(err)
      return undefined
    }
  }

  async set(url: string, value: SharedKeySet): Promise<void> {
    const ttl = Math.ceil(value.expiresAt - Date.now())
    if (ttl <= 0) return
    try {
      await this.redis.set(this.keyOf(url), JSON.stringify(value), 'PX', ttl)
    } catch (err) {
      this.degraded(err)
    }
  }

  close(): void {
    this.redis.disconnect()
  }
}
