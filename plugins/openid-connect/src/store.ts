import type { RedisConnection } from '@gatehousejs/sdk/redis'

/**
 * Where the plugin keeps server-side state: revoked sessions, used logout-token `jti`s, sessions
 * (with `browser.session.store: redis`), and the shared introspection and JWKS caches. In memory by
 * default (one process); in Redis with `redis` (a connection name), shared by every gateway node.
 * Every method throws (GH_STORE_UNAVAILABLE) when the store cannot answer: callers choose the outage policy (session checks fail closed with
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
  close(): void | Promise<void>
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
 * The Redis store: a handle on a named connection of the gateway's top-level `redis` section
 * (docs/redis.md), so the client, its timeouts and its outage policy are the SDK's, shared with every
 * other user of that connection. A command while Redis is down or slow rejects at once with
 * GH_STORE_UNAVAILABLE (the SDK logs the outage once). On a Redis Cluster, commands over several keys
 * are sent one key at a time (the keys of one session do not share a slot).
 */
export class RedisStore implements OidcStore {
  readonly shared = true

  constructor(private readonly redis: RedisConnection) {}

  /** Waits for the first connection, at most the connection's `connectTimeout`. */
  async connect(): Promise<void> {
    await this.redis.ready()
  }

  private k(key: string): string {
    return this.redis.key(key)
  }

  get(key: string): Promise<string | undefined> {
    return this.redis.run(async (c) => (await c.get(this.k(key))) ?? undefined)
  }

  getMany(keys: readonly string[]): Promise<(string | undefined)[]> {
    if (keys.length === 0) return Promise.resolve([])
    return this.redis.run(async (c) => {
      const values = this.redis.cluster
        ? await Promise.all(keys.map((k) => c.get(this.k(k))))
        : await c.mget(keys.map((k) => this.k(k)))
      return values.map((v) => v ?? undefined)
    })
  }

  set(key: string, value: string, ttlMs: number): Promise<void> {
    if (ttlMs <= 0) return Promise.resolve()
    return this.redis.run(async (c) => {
      await c.set(this.k(key), value, 'PX', Math.ceil(ttlMs))
    })
  }

  replace(key: string, value: string, ttlMs: number): Promise<void> {
    if (ttlMs <= 0) return Promise.resolve()
    return this.redis.run(async (c) => {
      await c.set(this.k(key), value, 'PX', Math.ceil(ttlMs), 'XX')
    })
  }

  claim(key: string, ttlMs: number): Promise<boolean> {
    return this.redis.run(async (c) => (await c.set(this.k(key), '1', 'PX', Math.ceil(ttlMs), 'NX')) === 'OK')
  }

  del(keys: readonly string[]): Promise<void> {
    if (keys.length === 0) return Promise.resolve()
    return this.redis.run(async (c) => {
      if (this.redis.cluster) await Promise.all(keys.map((k) => c.del(this.k(k))))
      else await c.del(...keys.map((k) => this.k(k)))
    })
  }

  addMember(key: string, member: string, ttlMs: number): Promise<void> {
    // One key: a transaction works on a Cluster too.
    return this.redis.run(async (c) => {
      await c
        .multi()
        .sadd(this.k(key), member)
        .pexpire(this.k(key), Math.ceil(ttlMs), 'GT')
        .pexpire(this.k(key), Math.ceil(ttlMs), 'NX')
        .exec()
    })
  }

  takeMembers(key: string): Promise<string[]> {
    return this.redis.run(async (c) => {
      const r = await c.multi().smembers(this.k(key)).del(this.k(key)).exec()
      const members = r?.[0]?.[1]
      return Array.isArray(members) ? (members as string[]) : []
    })
  }

  close(): Promise<void> {
    return this.redis.release()
  }
}
