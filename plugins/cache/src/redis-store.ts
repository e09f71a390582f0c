import type { Logger } from '@gatehousejs/sdk'
import { Redis } from 'ioredis'
import { type CacheRecord, deserialise, serialise } from './entry.js'
import { escapeGlob, urlKeyOf } from './key.js'
import type { CacheStore } from './store.js'

export interface RedisStoreOptions {
  url: string
  keyPrefix: string
  commandTimeout: number
  connectTimeout: number
  log: Logger
}

/**
 * Entries shared by every gateway node, in Redis:
 *   <prefix>k:<key>   the serialised record, with a PX expiry (Redis drops it on its own)
 *   <prefix>u:<url>   set of the keys stored under a URL key (invalidation, PURGE <url>)
 *   <prefix>t:<tag>   set of the keys carrying a tag
 * The index sets expire with the longest entry added to them; a member whose entry expired first is
 * harmless (deleting it removes nothing).
 *
 * Failure: no offline queue and a short command timeout, so a command fails at once while Redis is
 * down and within `commandTimeout` while it is slow; the plugin then bypasses the cache. One warning
 * per outage, one info line when Redis is back; ioredis reconnects on its own.
 */
export class RedisStore implements CacheStore {
  private readonly redis: Redis
  private readonly prefix: string
  private readonly log: Logger
  private down = false

  constructor(o: RedisStoreOptions) {
    this.prefix = o.keyPrefix
    this.log = o.log
    this.redis = new Redis(o.url, {
      commandTimeout: o.commandTimeout,
      connectTimeout: o.connectTimeout,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      retryStrategy: (times) => Math.min(times * 200, 2000),
      lazyConnect: false,
    })
    this.redis.on('error', (err: Error) => this.failed(err))
    this.redis.on('ready', () => {
      if (!this.down) return
      this.down = false
      this.log.info('cache store (redis) is back; caching again')
    })
  }

  /** Whether the last command or connection attempt failed (reset when Redis is ready again). */
  get available(): boolean {
    return !this.down && this.redis.status === 'ready'
  }

  async get(key: string): Promise<CacheRecord | undefined> {
    if (this.redis.status !== 'ready') throw this.unavailable()
    try {
      const buf = await this.redis.getBuffer(this.prefix + 'k:' + key)
      return buf === null ? undefined : deserialise(buf)
    } catch (err) {
      throw this.failed(err as Error)
    }
  }

  async set(key: string, record: CacheRecord): Promise<void> {
    if (this.redis.status !== 'ready') throw this.unavailable()
    const p = this.prefix
    const ttl = Math.max(1, Math.ceil(record.ttl))
    const multi = this.redis.multi().set(`${p}k:${key}`, serialise(record), 'PX', ttl)
    index(multi, `${p}u:${record.url}`, key, ttl)
    if (record.kind === 'entry') for (const tag of record.tags) index(multi, `${p}t:${tag}`, key, ttl)
    try {
      await multi.exec()
    } catch (err) {
      throw this.failed(err as Error)
    }
  }

  async purgeUrl(url: string): Promise<number> {
    return this.purgeIndexed(`${this.prefix}u:${url}`, () => true)
  }

  async purgeKey(key: string): Promise<number> {
    return this.purgeIndexed(
      `${this.prefix}u:${urlKeyOf(key)}`,
      (k) => k === key || k.startsWith(`${key} `),
      false,
    )
  }

  async purgePrefix(prefix: string, host: string | undefined): Promise<number> {
    const hostPart = host === undefined ? '*' : escapeGlob(host)
    return this.purgeMatching(`${escapeGlob(`${this.prefix}k:GET `)}${hostPart} ${escapeGlob(prefix)}*`)
  }

  async purgeTag(tag: string): Promise<number> {
    return this.purgeIndexed(`${this.prefix}t:${tag}`, () => true)
  }

  async clear(): Promise<number> {
    const p = escapeGlob(this.prefix)
    const n = await this.purgeMatching(`${p}k:*`)
    await this.purgeMatching(`${p}u:*`)
    await this.purgeMatching(`${p}t:*`)
    return n
  }

  async close(): Promise<void> {
    this.redis.removeAllListeners('error')
    this.redis.on('error', () => {})
    this.redis.disconnect()
  }

  /** Deletes the members of an index set that `pick` selects (and the set, when all are gone). */
  private async purgeIndexed(set: string, pick: (key: string) => boolean, dropSet = true): Promise<number> {
    try {
      const members = await this.redis.smembers(set)
      const keys = members.filter(pick)
      if (keys.length === 0) return 0
      const multi = this.redis.multi()
      for (const k of keys) multi.del(this.prefix + 'k:' + k)
      if (dropSet) multi.del(set)
      else multi.srem(set, ...keys)
      const results = (await multi.exec()) ?? []
      return results.slice(0, keys.length).reduce((n, [, v]) => n + (Number(v) || 0), 0)
    } catch (err) {
      throw this.failed(err as Error)
    }
  }

  /** SCAN + DEL in batches: for prefix purges and clear, which no index serves. */
  private async purgeMatching(pattern: string): Promise<number> {
    let cursor = '0'
    let n = 0
    try {
      do {
        const [next, keys] = await this.redis.scan(cursor, 'MATCH', pattern, 'COUNT', 500)
        cursor = next
        if (keys.length > 0) n += await this.redis.del(...keys)
      } while (cursor !== '0')
    } catch (err) {
      throw this.failed(err as Error)
    }
    return n
  }

  private unavailable(): Error {
    return this.failed(new Error(`redis is ${this.redis.status}`))
  }

  /** Logs the first failure of an outage as a warning, the rest at debug. */
  private failed(err: Error): Error {
    if (!this.down) {
      this.down = true
      this.log.warn({ err: err.message }, 'cache store (redis) unavailable; requests bypass the cache')
    } else {
      this.log.debug({ err: err.message }, 'cache store (redis) still unavailable')
    }
    return err
  }
}

function index(multi: ReturnType<Redis['multi']>, set: string, key: string, ttl: number): void {
  multi.sadd(set, key)
  // GT: only ever lengthen the set's life, so it outlives every entry it lists (Redis ≥ 7).
  multi.pexpire(set, ttl, 'GT')
  // A set that had no expiry yet gets one (GT leaves a persistent key alone).
  multi.pexpire(set, ttl, 'NX')
}
