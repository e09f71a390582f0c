import type { CacheRecord } from './entry.js'

/**
 * Where entries live. The memory store answers synchronously (a hit costs no promise); the Redis store
 * answers with promises and rejects when Redis is down or slow, which the plugin turns into a bypass.
 */
export interface CacheStore {
  get(key: string): CacheRecord | undefined | Promise<CacheRecord | undefined>
  /** Stores `record` for `record.ttl` ms, indexed by its URL key (and its tags, for entries). */
  set(key: string, record: CacheRecord): void | Promise<void>
  /** Removes the entries of one URL key: every consumer's and every variant's. */
  purgeUrl(url: string): Promise<number>
  /** Removes one key and its variants. */
  purgeKey(key: string): Promise<number>
  /** Removes every entry whose path starts with `prefix`, on `host` or on any host. */
  purgePrefix(prefix: string, host: string | undefined): Promise<number>
  purgeTag(tag: string): Promise<number>
  /** Removes everything this cache stored. */
  clear(): Promise<number>
  close(): Promise<void>
}

/** What a purge removes, from the admin endpoint, `PURGE` or the programmatic API. */
export type PurgeSpec =
  | { key: string }
  | { url: string }
  | { prefix: string; host?: string }
  | { tag: string | readonly string[] }
  | { all: true }
