import type { RedisClient, RedisConnection } from '@gatehousejs/sdk/redis'
import { openStore, redact } from '../store-uri.js'
import { FleetError, type Snapshot, type SnapshotSummary, summaryOf } from './snapshot.js'

/** How many stream entries Redis keeps (approximately: `XADD … MAXLEN ~`). Nodes never depend on it. */
const STREAM_MAXLEN = 1000

/** What the `current` key holds: the version every node should serve. */
export interface CurrentPointer {
  version: number
  hash: string
}

/** A node's heartbeat, written with a TTL: what `gatehouse status` and `GET /fleet` show. */
export interface Heartbeat {
  node: string
  host: string
  pid: number
  /** The Gatehouse CLI version the node runs. */
  gatehouse: string
  /** Where it serves (its URL). */
  url?: string
  applied?: { version: number; hash: string }
  state: 'in-sync' | 'applying' | 'failed' | 'stale'
  lastError?: string
  /** ISO time this heartbeat was written. */
  at: string
  /** Milliseconds between heartbeats: a reader calls a heartbeat older than 3 of them stale. */
  interval: number
}

/**
 * Publishing is one script, so a snapshot, the move of `current`, the history entry and the stream
 * event are written together or not at all; `current` only moves forward, so two `apply`s racing
 * cannot leave an older version current.
 */
const PUBLISH = `
if redis.call('SET', KEYS[1], ARGV[1], 'NX') == false then
  return redis.error_reply('snapshot ' .. ARGV[2] .. ' already exists')
end
local cur = redis.call('GET', KEYS[2])
local promoted = 0
if (not cur) or tonumber(cjson.decode(cur).version) < tonumber(ARGV[2]) then
  redis.call('SET', KEYS[2], ARGV[3])
  promoted = 1
end
redis.call('RPUSH', KEYS[3], ARGV[4])
redis.call('XADD', KEYS[4], 'MAXLEN', '~', ARGV[5], '*', 'version', ARGV[2], 'hash', ARGV[6])
return promoted
`

/** Connection settings `--store` cannot set: the fleet is off the request path, so commands may take longer. */
const STORE_DEFAULTS = { connectTimeout: 2000, commandTimeout: 5000 }

/**
 * The configuration plane's keys in Redis, all under one hash tag (`{gatehouse:fleet}:` by default)
 * so that on a Redis Cluster they live in one slot: the publish script, which writes four of them at
 * once, runs on one node. `<prefix>version` (counter), `<prefix>snapshot:<v>` (immutable),
 * `<prefix>current`, `<prefix>history` (list of summaries), `<prefix>events` (stream),
 * `<prefix>node:<id>` (heartbeats).
 *
 * Every command goes through the SDK's shared connection (`@gatehousejs/sdk/redis`): the same client
 * for standalone, Sentinel and Cluster, and its outage policy (no queue behind a dead connection,
 * every command bounded, reconnection in the background).
 */
export class FleetStore {
  readonly connection: RedisConnection
  readonly prefix: string
  /** Where the store is, without its password (`--store` as given, redacted). */
  readonly where: string
  private readonly lastError: () => string | undefined

  /** `store`: a `--store` string (STORE_FORMS); a StoreUriError when it is not one. */
  constructor(store: string, options: { prefix?: string } = {}) {
    const opened = openStore(store, 'fleet', STORE_DEFAULTS, {
      purpose: 'the fleet configuration store',
      whileDown: 'serving the last applied snapshot',
    })
    this.connection = opened.connection
    this.lastError = opened.lastError
    this.where = redact(store)
    // The connection's keyPrefix (default `gatehouse:`) inside the tag: `{gatehouse:fleet}:`.
    this.prefix = options.prefix ?? `{${this.connection.prefix}fleet}:`
  }

  key(name: string): string {
    return `${this.prefix}${name}`
  }

  private run<T>(command: (client: RedisClient) => Promise<T>): Promise<T> {
    return this.connection.run(command)
  }

  /** Waits for the first connection; a FleetError GH_FLEET_STORE_UNREACHABLE when Redis does not answer. */
  async connect(): Promise<void> {
    if (!(await this.connection.ready())) {
      throw this.unreachable(new Error(this.lastError() ?? 'no answer within the connect timeout'))
    }
    try {
      await this.run((c) => c.ping())
    } catch (err) {
      throw this.unreachable(err)
    }
  }

  unreachable(err: unknown): FleetError {
    if (err instanceof FleetError) return err
    // GH_STORE_UNAVAILABLE carries the store's own error as its cause.
    const cause = (err as { cause?: unknown }).cause
    const reason = cause instanceof Error ? cause.message : (err as Error)?.message || String(err)
    return new FleetError(
      'GH_FLEET_STORE_UNREACHABLE',
      `the configuration store ${this.where} is unreachable: ${reason}`,
    )
  }

  async current(): Promise<CurrentPointer | undefined> {
    const raw = await this.run((c) => c.get(this.key('current')))
    return raw ? (JSON.parse(raw) as CurrentPointer) : undefined
  }

  async snapshot(version: number): Promise<Snapshot | undefined> {
    const raw = await this.run((c) => c.get(this.key(`snapshot:${version}`)))
    return raw ? (JSON.parse(raw) as Snapshot) : undefined
  }

  async history(): Promise<SnapshotSummary[]> {
    const raw = await this.run((c) => c.lrange(this.key('history'), 0, -1))
    return raw.map((r) => JSON.parse(r) as SnapshotSummary)
  }

  /**
   * The next version. When the counter is gone (Redis restarted without persistence), it starts again
   * above every version a node reports, so versions stay monotonic for the fleet.
   */
  async nextVersion(): Promise<number> {
    const counter = this.key('version')
    if ((await this.run((c) => c.exists(counter))) === 0) {
      const floor = Math.max(0, ...(await this.nodes()).map((n) => n.applied?.version ?? 0))
      await this.run((c) => c.set(counter, String(floor), 'NX'))
    }
    return this.run((c) => c.incr(counter))
  }

  /** Writes a signed snapshot, moves `current` to it, records it and announces it. */
  async publish(snapshot: Snapshot): Promise<{ promoted: boolean }> {
    const promoted = await this.run((c) =>
      c.eval(
        PUBLISH,
        4,
        this.key(`snapshot:${snapshot.version}`),
        this.key('current'),
        this.key('history'),
        this.key('events'),
        JSON.stringify(snapshot),
        String(snapshot.version),
        JSON.stringify({ version: snapshot.version, hash: snapshot.hash } satisfies CurrentPointer),
        JSON.stringify(summaryOf(snapshot)),
        String(STREAM_MAXLEN),
        snapshot.hash,
      ),
    )
    return { promoted: promoted === 1 }
  }

  async heartbeat(beat: Heartbeat, ttlSeconds: number): Promise<void> {
    await this.run((c) => c.set(this.key(`node:${beat.node}`), JSON.stringify(beat), 'EX', ttlSeconds))
  }

  async removeNode(node: string): Promise<void> {
    await this.run((c) => c.del(this.key(`node:${node}`)))
  }

  /**
   * Every live heartbeat (their keys expire with their TTL), sorted by node id. SCAN runs on every
   * master: on a Cluster each holds part of the keyspace (the hash tag keeps these keys on one of them
   * today, but a custom prefix without a tag would spread them).
   */
  async nodes(): Promise<Heartbeat[]> {
    const keys = await this.run(async () => {
      const found: string[] = []
      for (const master of this.connection.masters()) {
        let cursor = '0'
        do {
          const [next, batch] = await master.scan(cursor, 'MATCH', this.key('node:*'), 'COUNT', 200)
          cursor = next
          found.push(...batch)
        } while (cursor !== '0')
      }
      return found
    })
    if (keys.length === 0) return []
    // One GET per key: a multi-key MGET would need every key in one slot.
    const values = await this.run((c) => Promise.all(keys.map((k) => c.get(k))))
    return values
      .filter((v): v is string => typeof v === 'string')
      .map((v) => JSON.parse(v) as Heartbeat)
      .sort((a, b) => a.node.localeCompare(b.node))
  }

  async close(): Promise<void> {
    await this.connection.release()
  }
}
