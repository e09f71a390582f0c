import { LRUCache } from 'lru-cache'
import { type CacheRecord, sizeOf } from './entry.js'
import { urlKeyOf } from './key.js'
import type { CacheStore } from './store.js'

/**
 * The default store: an LRU bounded in bytes (lru-cache), in this process. Entries expire after their
 * TTL; the least recently used go first when the bound is reached. Two indexes (URL key → keys,
 * tag → keys) make invalidation and purge by tag cost the entries they remove, not the whole cache;
 * they are kept in step with the LRU through its `dispose` callback.
 */
export class MemoryStore implements CacheStore {
  private readonly lru: LRUCache<string, CacheRecord>
  private readonly byUrl = new Map<string, Set<string>>()
  private readonly byTag = new Map<string, Set<string>>()

  constructor(maxSize: number) {
    this.lru = new LRUCache<string, CacheRecord>({
      maxSize,
      sizeCalculation: sizeOf,
      // Entries are checked for freshness by the plugin; the TTL only bounds how long they are kept.
      ttlAutopurge: false,
      allowStale: false,
      dispose: (record, key) => this.unindex(key, record),
    })
  }

  get(key: string): CacheRecord | undefined {
    return this.lru.get(key)
  }

  set(key: string, record: CacheRecord): void {
    // lru-cache refuses an item larger than maxSize; it is then simply not stored.
    this.lru.set(key, record, { ttl: record.ttl })
    if (!this.lru.has(key)) return
    add(this.byUrl, record.url, key)
    if (record.kind === 'entry') for (const tag of record.tags) add(this.byTag, tag, key)
  }

  async purgeUrl(url: string): Promise<number> {
    return this.deleteAll(this.byUrl.get(url))
  }

  async purgeKey(key: string): Promise<number> {
    const keys = this.byUrl.get(urlKeyOf(key))
    if (keys === undefined) return 0
    const matching = [...keys].filter((k) => k === key || k.startsWith(`${key} `))
    return this.deleteAll(matching)
  }

  async purgePrefix(prefix: string, host: string | undefined): Promise<number> {
    const matching: string[] = []
    for (const url of this.byUrl.keys()) {
      // url is `GET <host> <path…>`
      const first = url.indexOf(' ')
      const second = url.indexOf(' ', first + 1)
      if (host !== undefined && url.slice(first + 1, second) !== host) continue
      if (url.startsWith(prefix, second + 1)) matching.push(...this.byUrl.get(url)!)
    }
    return this.deleteAll(matching)
  }

  async purgeTag(tag: string): Promise<number> {
    return this.deleteAll(this.byTag.get(tag))
  }

  async clear(): Promise<number> {
    const n = this.countEntries()
    this.lru.clear()
    this.byUrl.clear()
    this.byTag.clear()
    return n
  }

  async close(): Promise<void> {
    await this.clear()
  }

  /** Stored responses (not counting the vary records that point to them). */
  countEntries(): number {
    let n = 0
    for (const record of this.lru.values()) if (record.kind === 'entry') n++
    return n
  }

  get bytes(): number {
    return this.lru.calculatedSize
  }

  private deleteAll(keys: Iterable<string> | undefined): number {
    if (keys === undefined) return 0
    let n = 0
    for (const key of [...keys]) {
      const record = this.lru.peek(key)
      if (this.lru.delete(key) && record?.kind === 'entry') n++
    }
    return n
  }

  private unindex(key: string, record: CacheRecord): void {
    remove(this.byUrl, record.url, key)
    if (record.kind === 'entry') for (const tag of record.tags) remove(this.byTag, tag, key)
  }
}

function add(index: Map<string, Set<string>>, name: string, key: string): void {
  let set = index.get(name)
  if (set === undefined) index.set(name, (set = new Set()))
  set.add(key)
}

function remove(index: Map<string, Set<string>>, name: string, key: string): void {
  const set = index.get(name)
  if (set === undefined) return
  set.delete(key)
  if (set.size === 0) index.delete(name)
}
