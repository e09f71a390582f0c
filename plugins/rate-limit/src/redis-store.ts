import type { RedisConnection } from '@gatehousejs/sdk/redis'
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

type HitCommand = (numKeys: number, ...args: Array<string | number>) => Promise<number[]>

/**
 * Counters in Redis, shared by every gateway node, through the shared connection (whose `run` is the
 * outage policy: it rejects with GH_STORE_UNAVAILABLE at once while Redis is down, within the
 * connection's `commandTimeout` while it is slow). All of one key's windows are in one hash slot (the
 * key is a `{hash tag}`), so the script also runs on Redis Cluster.
 */
export function createRedisStore(
  windows: readonly Window[],
  sliding: boolean,
  redis: RedisConnection,
): Store {
  // defineCommand is idempotent: every instance on the shared client defines the same script.
  redis.client.defineCommand('gatehouseRateLimit', { lua: HIT_SCRIPT })
  const prefix = redis.prefix

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
    const reply = await redis.run((client) =>
      (client as unknown as { gatehouseRateLimit: HitCommand }).gatehouseRateLimit(
        keys.length,
        ...keys,
        ...args,
      ),
    )
    const current: number[] = []
    const previous: number[] = []
    for (let i = 0; i < windows.length; i++) {
      current.push(Number(reply[2 * i + 1]))
      previous.push(Number(reply[2 * i + 2]))
    }
    return { allowed: reply[0] === 1, current, previous }
  }

  return {
    hit,
    close: () => redis.release(),
  }
}
