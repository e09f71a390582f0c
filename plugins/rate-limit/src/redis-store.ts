import { Cluster, Redis } from 'ioredis'
import type { RedisConfig } from './schema.js'
import type { Store } from './store.js'
import { type Outcome, previousWeight, type Window, windowStart } from './windows.js'

/**
 * The counting rule of windows.ts, in one Lua script so Redis runs it atomically for all windows: no
 * other client's command runs between the reads and the increments, so N gateway nodes firing at once
 * get exactly `limit` successes. Keys expire on their own (PEXPIRE at the first count of a window).
 *
 * KEYS: per window i, the current window's key (2i-1) and the previous one's (2i).
 * ARGV: per window i, its limit, the previous window's weight (0: fixed, never read) and the key TTL in ms.
 * Returns { allowed (1|0), current_1, previous_1, current_2, previous_2, … } before this request.
 */
const HIT_SCRIPT = `
local n = #KEYS / 2
local counts = {}
local allowed = 1
for i = 1, n do
  local limit = tonumber(ARGV[3 * i - 2])
  local weight = tonumber(ARGV[3 * i - 1])
  local current = tonumber(redis.call('GET', KEYS[2 * i - 1]) or '0')
  local previous = 0
  if weight > 0 then previous = tonumber(redis.call('GET', KEYS[2 * i]) or '0') end
  counts[2 * i - 1] = current
  counts[2 * i] = previous
  if current + math.floor(previous * weight) >= limit then allowed = 0 end
end
if allowed == 1 then
  for i = 1, n do
    if redis.call('INCR', KEYS[2 * i - 1]) == 1 then
      redis.call('PEXPIRE', KEYS[2 * i - 1], tonumber(ARGV[3 * i]))
    end
  end
end
table.insert(counts, 1, allowed)
return counts
`

/** Slack on key TTLs, so a key never expires before a node with a slightly late clock has read it. */
const TTL_SLACK_MS = 5_000

type Client = Redis | Cluster
type HitCommand = (numKeys: number, ...args: Array<string | number>) => Promise<number[]>

export interface RedisStore extends Store {
  /** The client, for the failure guard to watch (`status`, events). */
  readonly client: Client
  /** Waits up to `connectTimeout` for the first connection; resolves either way. */
  ready(): Promise<void>
}

/** Parses a `redis://` URL the way the client will, so a bad one is refused at load, naming the field. */
export function parseRedisUrl(url: string, field: string): URL {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    throw new TypeError(`${field}: "${url}" is not a valid redis URL (e.g. redis://127.0.0.1:6379)`)
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:')
    throw new TypeError(`${field}: "${url}" must start with redis:// or rediss://`)
  if (!parsed.hostname) throw new TypeError(`${field}: "${url}" has no host`)
  if (parsed.port && !(Number(parsed.port) > 0 && Number(parsed.port) < 65536))
    throw new TypeError(`${field}: "${url}" has an invalid port`)
  const db = parsed.pathname.replace(/^\//, '')
  if (db !== '' && !/^\d+$/.test(db))
    throw new TypeError(`${field}: "${url}": the path must be a database number`)
  return parsed
}

function nodeOf(url: URL) {
  return { host: url.hostname, port: Number(url.port || 6379) }
}

/**
 * Opens the client: no offline queue (a command while disconnected fails at once instead of waiting),
 * no per-command retries, a short command timeout, and reconnection in the background forever (at most
 * 1 s apart) so the store recovers on its own after an outage.
 */
function openClient(config: RedisConfig): Client {
  const common = {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: config.timeout as number,
    connectTimeout: config.connectTimeout as number,
    retryStrategy: (times: number) => Math.min(times * 100, 1_000),
  }
  if (config.cluster) {
    const urls = config.cluster.map((u, i) => parseRedisUrl(u, `store.redis.cluster/${i}`))
    const first = urls[0]!
    return new Cluster(urls.map(nodeOf), {
      // Must stay on: ioredis 6's cluster sends its own ready check through this queue, and without it
      // never becomes ready. Requests still never wait in it: the guard sends nothing while the cluster
      // is not ready, and `hit` bounds every call with `timeout` (commandTimeout is per node only).
      enableOfflineQueue: true,
      clusterRetryStrategy: common.retryStrategy,
      redisOptions: {
        ...common,
        username: first.username ? decodeURIComponent(first.username) : undefined,
        password: first.password ? decodeURIComponent(first.password) : undefined,
        tls: first.protocol === 'rediss:' ? {} : undefined,
      },
    })
  }
  if (!config.url) throw new TypeError('store.redis: set `url` (standalone) or `cluster` (seed node URLs)')
  parseRedisUrl(config.url, 'store.redis.url')
  return new Redis(config.url, common)
}

/** Bounds a command's wait: a timer per call, for the cluster client, whose queue has no timeout. */
function withTimeout(command: HitCommand, ms: number): HitCommand {
  return (...args) =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`redis command timed out after ${ms} ms`)), ms)
      command(...args).then(
        (reply) => {
          clearTimeout(timer)
          resolve(reply)
        },
        (err: unknown) => {
          clearTimeout(timer)
          reject(err)
        },
      )
    })
}

/**
 * Counters in Redis, shared by every gateway node. All of one key's windows are in one hash slot (the
 * key is a `{hash tag}`), so the script also runs on Redis Cluster.
 */
export function createRedisStore(
  windows: readonly Window[],
  sliding: boolean,
  config: RedisConfig,
): RedisStore {
  const client = openClient(config)
  client.defineCommand('gatehouseRateLimit', { lua: HIT_SCRIPT })
  const command = (client as unknown as { gatehouseRateLimit: HitCommand }).gatehouseRateLimit.bind(client)
  const run: HitCommand = config.cluster ? withTimeout(command, config.timeout as number) : command
  const prefix = config.keyPrefix

  async function hit(key: string, now: number): Promise<Outcome> {
    const keys: string[] = []
    const args: number[] = []
    for (const win of windows) {
      const start = windowStart(win, now)
      keys.push(`${prefix}{${key}}:${win.unit}:${start}`, `${prefix}{${key}}:${win.unit}:${start - win.ms}`)
      // A fixed window's key lives to its end; a sliding one's is read as "previous" for one more window.
      args.push(
        win.limit,
        previousWeight(win, now, sliding),
        start + (sliding ? 2 : 1) * win.ms - now + TTL_SLACK_MS,
      )
    }
    const reply = await run(keys.length, ...keys, ...args)
    const current: number[] = []
    const previous: number[] = []
    for (let i = 0; i < windows.length; i++) {
      current.push(Number(reply[2 * i + 1]))
      previous.push(Number(reply[2 * i + 2]))
    }
    return { allowed: reply[0] === 1, current, previous }
  }

  function ready(): Promise<void> {
    if (client.status === 'ready') return Promise.resolve()
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer)
        client.off('ready', done)
        client.off('error', done)
        resolve()
      }
      const timer = setTimeout(done, (config.connectTimeout as number) + 100)
      client.once('ready', done)
      client.once('error', done)
    })
  }

  return {
    client,
    hit,
    ready,
    async close() {
      client.disconnect()
    },
  }
}
