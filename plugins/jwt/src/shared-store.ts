import { createHash } from 'node:crypto'
import type { RedisConnection } from '@gatehousejs/sdk/redis'

/** A key set as fetched by one gateway node, shared with the others. Times are epoch milliseconds. */
export interface SharedKeySet {
  readonly jwks: { readonly keys: ReadonlyArray<Record<string, unknown>> }
  readonly fetchedAt: number
  readonly expiresAt: number
}

/**
 * JWKS documents shared across gateway nodes through Redis (the shared connection the config names),
 * so that N nodes fetch an identity provider's keys about once per lifetime instead of N times.
 * Redis is an optimisation here, never a dependency: every failure (down, slow, garbage) reads as
 * "nothing shared" and the node fetches the JWKS itself. The connection's `run` never waits for a dead
 * connection, so an outage costs a request nothing but a failed lookup.
 */
export class SharedKeySetStore {
  constructor(private readonly redis: RedisConnection) {}

  /** Waits for the first connection, at most the connection's `connectTimeout`. */
  async connect(): Promise<void> {
    await this.redis.ready()
  }

  /** The Redis key of one JWKS URL (hashed: URLs may be long and carry query strings). */
  keyOf(url: string): string {
    return this.redis.key(`jwks:${createHash('sha256').update(url).digest('base64url').slice(0, 22)}`)
  }

  async get(url: string): Promise<SharedKeySet | undefined> {
    try {
      const raw = await this.redis.run((c) => c.get(this.keyOf(url)))
      if (!raw) return undefined
      const value = JSON.parse(raw) as SharedKeySet
      const ok =
        Array.isArray(value?.jwks?.keys) &&
        typeof value.fetchedAt === 'number' &&
        typeof value.expiresAt === 'number'
      return ok ? value : undefined
    } catch {
      // Logged once per outage by the connection; a garbage value is simply not used.
      return undefined
    }
  }

  async set(url: string, value: SharedKeySet): Promise<void> {
    const ttl = Math.ceil(value.expiresAt - Date.now())
    if (ttl <= 0) return
    await this.redis.run((c) => c.set(this.keyOf(url), JSON.stringify(value), 'PX', ttl)).catch(() => {})
  }

  close(): Promise<void> {
    return this.redis.release()
  }
}
