import { Redis, type RedisOptions } from 'ioredis'
import { FleetError, type Snapshot, type SnapshotSummary, summaryOf } from './snapshot.js'

/** The default prefix of every key the configuration plane writes. */
export const DEFAULT_PREFIX = 'gatehouse:fleet:'

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

/** Where a store is, never with its password (for messages and status). */
export function describeStore(url: string): string {
  try {
    const u = new URL(url)
    return `${u.protocol}//${u.host}${u.pathname && u.pathname !== '/' ? u.pathname : ''}`
  } catch {
    return 'the store'
  }
}

/**
 * The configuration plane's keys in Redis:
 * `<prefix>version` (counter), `<prefix>snapshot:<v>` (immutable), `<prefix>current`,
 * `<prefix>history` (list of summaries), `<prefix>events` (stream), `<prefix>node:<id>` (heartbeats).
 */
export class FleetStore {
  readonly client: Redis
  readonly prefix: string
  readonly where: string

  /**
   * `mode: 'cli'` fails fast (one connection attempt, for apply/status/…); `mode: 'node'` keeps
   * reconnecting in the background and never queues a command behind a dead connection.
   */
  constructor(
    url: string,
    options: { prefix?: string; mode?: 'cli' | 'node'; connectTimeout?: number } = {},
  ) {
    this.prefix = options.prefix ?? DEFAULT_PREFIX
    this.where = describeStore(url)
    const common: RedisOptions = {
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      connectTimeout: options.connectTimeout ?? 2000,
      commandTimeout: 5000,
    }
    this.client = new Redis(url, {
      ...common,
      retryStrategy: options.mode === 'node' ? (n) => Math.min(100 * n, 1000) : () => null,
    })
    // Errors are reported where commands fail; an unhandled 'error' event would only be noise.
    this.client.on('error', () => {})
  }

  key(name: string): string {
    return `${this.prefix}${name}`
  }

  /** Connects once; a FleetError GH_FLEET_STORE_UNREACHABLE when Redis does not answer. */
  async connect(): Promise<void> {
    try {
      if (this.client.status === 'wait') await this.client.connect()
      await this.client.ping()
    } catch (err) {
      throw this.unreachable(err)
    }
  }

  unreachable(err: unknown): FleetError {
    if (err instanceof FleetError) return err
    return new FleetError(
      'GH_FLEET_STORE_UNREACHABLE',
      `the configuration store ${this.where} is unreachable: ${(err as Error).message || String(err)}`,
    )
  }

  async current(): Promise<CurrentPointer | undefined> {
    const raw = await this.client.get(this.key('current'))
    return raw ? (JSON.parse(raw) as CurrentPointer) : undefined
  }

  async snapshot(version: number): Promise<Snapshot | undefined> {
    const raw = await this.client.get(this.key(`snapshot:${version}`))
    return raw ? (JSON.parse(raw) as Snapshot) : undefined
  }

  async history(): Promise<SnapshotSummary[]> {
    const raw = await this.client.lrange(this.key('history'), 0, -1)
    return raw.map((r) => JSON.parse(r) as SnapshotSummary)
  }

  /**
   * The next version. When the counter is gone (Redis restarted without persistence), it starts again
   * above every version a node reports, so versions stay monotonic for the fleet.
   */
  async nextVersion(): Promise<number> {
    const counter = this.key('version')
    if ((await this.client.exists(counter)) === 0) {
      const floor = Math.max(0, ...(await this.nodes()).map((n) => n.applied?.version ?? 0))
      await this.client.set(counter, String(floor), 'NX')
    }
    return this.client.incr(counter)
  }

  /** Writes a signed snapshot, moves `current` to it, records it and announces it. */
  async publish(snapshot: Snapshot): Promise<{ promoted: boolean }> {
    const promoted = await this.client.eval(
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
    )
    return { promoted: promoted === 1 }
  }

  async heartbeat(beat: Heartbeat, ttlSeconds: number): Promise<void> {
    await this.client.set(this.key(`node:${beat.node}`), JSON.stringify(beat), 'EX', ttlSeconds)
  }

  async removeNode(node: string): Promise<void> {
    await this.client.del(this.key(`node:${node}`))
  }

  /** Every live heartbeat (their keys expire with their TTL), sorted by node id. */
  async nodes(): Promise<Heartbeat[]> {
    const keys: string[] = []
    let cursor = '0'
    do {
      const [next, batch] = await this.client.scan(cursor, 'MATCH', this.key('node:*'), 'COUNT', 200)
      cursor = next
      keys.push(...batch)
    } while (cursor !== '0')
    if (keys.length === 0) return []
    const values = await this.client.mget(...keys)
    return values
      .filter((v): v is string => typeof v === 'string')
      .map((v) => JSON.parse(v) as Heartbeat)
      .sort((a, b) => a.node.localeCompare(b.node))
  }

  async close(): Promise<void> {
    this.client.disconnect()
  }
}
