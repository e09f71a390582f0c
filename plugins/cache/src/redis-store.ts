import type { RedisClient, RedisConnection } from '@gatehousejs/sdk/redis'
import { type CacheRecord, deserialise, serialise } from './entry.js'
import { escapeGlob, urlKeyOf } from './key.js'
import type { CacheStore } from './store.js'

type Multi = ReturnType<RedisClient['multi']>

/**
 * Entries shared by every gateway node, in Redis (the shared connection the config names):
 *   <prefix>k:<key>   the serialised record, with a PX expiry (Redis drops it on its own)
 *   <prefix>u:<url>   set of the keys stored under a URL key (invalidation, PURGE <url>)
 *   <prefix>t:<tag>   set of the keys carrying a tag
 * The index sets expire with the longest entry added to them; a member whose entry expired first is
 * harmless (deleting it removes nothing). On Redis Cluster the prefix ends in the hash tag `{cache}`,
 * so an entry and its index sets share a slot (one MULTI writes them together); the cache then lives
 * on one master, which is the price of atomic indexes.
 *
 * Failure: the connection's `run` rejects at once while Redis is down and within its `commandTimeout`
 * while it is slow (one warning per outage in the log); the plugin then bypasses the cache.
 */
export class RedisStore implements CacheStore {
  private readonly prefix: string

  constructor(private readonly redis: RedisConnection) {
    this.prefix = redis.cluster ? `${redis.prefix}{cache}` : redis.prefix
  }

  async get(key: string): Promise<CacheRecord | undefined> {
    const buf = await this.redis.run((c) => c.getBuffer(this.prefix + 'k:' + key))
    return buf === null ? undefined : deserialise(buf)
  }

  async set(key: string, record: CacheRecord): Promise<void> {
    const p = this.prefix
    const ttl = Math.max(1, Math.ceil(record.ttl))
    await this.redis.run((c) => {
      const multi = c.multi().set(`${p}k:${key}`, serialise(record), 'PX', ttl)
      index(multi, `${p}u:${record.url}`, key, ttl)
      if (record.kind === 'entry') for (const tag of record.tags) index(multi, `${p}t:${tag}`, key, ttl)
      return multi.exec()
    })
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

  close(): Promise<void> {
    return this.redis.release()
  }

  /** Deletes the members of an index set that `pick` selects (and the set, when all are gone). */
  private async purgeIndexed(set: string, pick: (key: string) => boolean, dropSet = true): Promise<number> {
    const members = await this.redis.run((c) => c.smembers(set))
    const keys = members.filter(pick)
    if (keys.length === 0) return 0
    const results = await this.redis.run((c) => {
      const multi = c.multi()
      for (const k of keys) multi.del(this.prefix + 'k:' + k)
      if (dropSet) multi.del(set)
      else multi.srem(set, ...keys)
      return multi.exec()
    })
    return (results ?? []).slice(0, keys.length).reduce((n, [, v]) => n + (Number(v) || 0), 0)
  }

  /** SCAN + DEL in batches on every master: for prefix purges and clear, which no index serves. */
  private async purgeMatching(pattern: string): Promise<number> {
    let n = 0
    for (const node of this.redis.masters()) {
      let cursor = '0'
      do {
        const [next, keys] = await this.redis.run(() => node.scan(cursor, 'MATCH', pattern, 'COUNT', 500))
        cursor = next
        if (keys.length > 0) n += await this.redis.run(() => node.del(...keys))
      } while (cursor !== '0')
    }
    return n
  }
}

function index(multi: Multi, set: string, key: string, ttl: number): void {
  multi.sadd(set, key)
  // GT: only ever lengthen the set's life, so it outlives every entry it lists (Redis ≥ 7).
  multi.pexpire(set, ttl, 'GT')
  // A set that had no expiry yet gets one (GT leaves a persistent key alone).
  multi.pexpire(set, ttl, 'NX')
}
