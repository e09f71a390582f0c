import type { Logger } from '@gatehousejs/sdk'
import { Redis } from 'ioredis'
import type { RedisConfig } from './schema.js'

/**
 * Where the plugin keeps server-side state: revoked sessions, used logout-token `jti`s, sessions
 * (with `browser.session.store: redis`), and the shared introspection and JWKS caches. In memory by
 * default (one process); in Redis with `redis`, shared by every gateway node. Every method throws
 * when the store cannot answer: callers choose the outage policy (session checks fail closed with
 * 503, caches fall back to asking the provider).
 */
export interface OidcStore {
  readonly shared: boolean
  get(key: string): Promise<string | undefined>
  getMany(keys: readonly string[]): Promise<(string | undefined)[]>
  set(key: string, value: string, ttlMs: number): Promise<void>
  /** Sets the key only when present (a session a logout deleted meanwhile stays deleted). */
  replace(key: string, value: string, ttlMs: number): Promise<void>
  /** Sets the key only when absent; true when this call set it (first sight of a `jti`). */
  claim(key: string, ttlMs: number): Promise<boolean>
  del(keys: readonly string[]): Promise<void>
  /** Adds a member to a set kept `ttlMs` (sessions of one `sid` or `sub`). */
  addMember(key: string, member: string, ttlMs: number): Promise<void>
  /** The set's members, removing the set. */
  takeMembers(key: string): Promise<string[]>
  close(): void
}

/** Entries kept by the memory store; the oldest go first past it. */
const MEMORY_ENTRIES = 100_000

export class MemoryStore implements OidcStore {
  readonly shared = false
  private readonly map = new Map<string, { value: string | Set<string>; until: number }>()

  private live(key: string): string | Set<string> | undefined {
    const e = this.map.get(key)
    if (e === undefined) return undefined
    if (e.until <= Date.now()) {
      this.map.delete(key)
      return undefined
    }
    return e.value
  }

  private put(key: string, value: string | Set<string>, ttlMs: number): void {
    this.map.delete(key)
    if (this.map.size >= MEMORY_ENTRIES) {
      const oldest = this.map.keys().next()
      if (!oldest.done) this.map.delete(oldest.value)
    }
    this.map.set(key, { value, until: Date.now() + ttlMs })
  }

  async get(key: string): Promise<string | undefined> {
    const v = this.live(key)
    return typeof v === 'string' ? v : undefined
  }

  async getMany(keys: readonly string[]): Promise<(string | undefined)[]> {
    return Promise.all(keys.map((k) => this.get(k)))
  }

  async set(key: string, value: string, ttlMs: number): Promise<void> {
    if (ttlMs > 0) this.put(key, value, ttlMs)
  }

  async replace(key: string, value: string, ttlMs: number): Promise<void> {
    if (typeof this.live(key) === 'string') await this.set(key, value, ttlMs)
  }

  async claim(key: string, ttlMs: number): Promise<boolean> {
    if (this.live(key) !== undefined) return false
    this.put(key, '1', ttlMs)
    return true
  }

  async del(keys: readonly string[]): Promise<void> {
    for (const k of keys) this.map.delete(k)
  }

  async addMember(key: string, member: string, ttlMs: number): Promise<void> {
    const v = this.live(key)
    const set = v instanceof Set ? v : new Set<string>()
    set.add(member)
    this.put(key, set, ttlMs)
  }

  async takeMembers(key: string): Promise<string[]> {
    const v = this.live(key)
    this.map.delete(key)
    return v instanceof Set ? [...v] : []
  }

  close(): void {
    this.map.clear()
  }
}

/**
 * The Redis store: one ioredis client per instance, set up as the jwt plugin's shared key-set store
 * is (no offline queue, no retried commands, `timeout` for connect and each command), so an outage
 * fails a lookup at once instead of holding requests.
 */
export class RedisStore implements OidcStore {
  readonly shared = true
  private readonly redis: Redis
  private readonly prefix: string
  private down = false

  constructor(
    config: RedisConfig,
    private readonly log: Logger,
  ) {
    this.prefix = config.keyPrefix
    const timeout = config.timeout as number
    this.redis = new Redis(config.url, {
      lazyConnect: true,
      connectTimeout: timeout,
      commandTimeout: timeout,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      retryStrategy: (attempt) => Math.min(attempt * 200, 2000),
    })
    // One warning per outage, not one per reconnection attempt.
    this.redis.on('error', (err) => this.degraded(err))
    this.redis.on('ready', () => {
      if (this.down) this.log.info('openid-connect: redis store is back')
      this.down = false
    })
  }

  async connect(): Promise<void> {
    await this.redis.connect().catch((err: unknown) => this.degraded(err))
  }

  degraded(err: unknown): void {
    if (this.down) return
    this.down = true
    this.log.warn({ err }, 'openid-connect: redis store unavailable')
  }

  private async run<T>(op: () => Promise<T>): Promise<T> {
    try {
      return await op()
    } catch (err) {
      this.degraded(err)
      throw err
    }
  }

  get(key: string): Promise<string | undefined> {
    return this.run(async () => (await this.redis.get(this.prefix + key)) ?? undefined)
  }

  getMany(keys: readonly string[]): Promise<(string | undefined)[]> {
    return this.run(async () =>
      (await this.redis.mget(keys.map((k) => this.prefix + k))).map((v) => v ?? undefined),
    )
  }

  set(key: string, value: string, ttlMs: number): Promise<void> {
    if (ttlMs <= 0) return Promise.resolve()
    return this.run(async () => {
      await this.redis.set(this.prefix + key, value, 'PX', Math.ceil(ttlMs))
    })
  }

  replace(key: string, value: string, ttlMs: number): Promise<void> {
    if (ttlMs <= 0) return Promise.resolve()
    return this.run(async () => {
      await this.redis.set(this.prefix + key, value, 'PX', Math.ceil(ttlMs), 'XX')
    })
  }

  claim(key: string, ttlMs: number): Promise<boolean> {
    return this.run(
      async () => (await this.redis.set(this.prefix + key, '1', 'PX', Math.ceil(ttlMs), 'NX')) === 'OK',
    )
  }

  del(keys: readonly string[]): Promise<void> {
    if (keys.length === 0) return Promise.resolve()
    return this.run(async () => {
      await this.redis.del(...keys.map((k) => this.prefix + k))
    })
  }

  addMember(key: string, member: string, ttlMs: number): Promise<void> {
    return this.run(async () => {
      await this.redis
        .multi()
        .sadd(this.prefix + key, member)
        .pexpire(this.prefix + key, Math.ceil(ttlMs), 'GT')
        .pexpire(this.prefix + key, Math.ceil(ttlMs), 'NX')
        .exec()
    })
  }

  takeMembers(key: string): Promise<string[]> {
    return this.run(async () => {
      const r = await this.redis
        .multi()
        .smembers(this.prefix + key)
        .del(this.prefix + key)
        .exec()
      const members = r?.[0]?.[1]
      return Array.isArray(members) ? (members as string[]) : []
    })
  }

  close(): void {
    this.redis.disconnect()
  }
}
