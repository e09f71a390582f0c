import type { RedisConnection } from '@gatehousejs/sdk/redis'
import type { Store } from './store.js'
import type { Outcome } from './windows.js'

export type OnFailure = 'failOpen' | 'failClosed'

/**
 * The Redis store with the operator's choice for when Redis is down or slow (the connection's `run`
 * already refuses at once, logs one warning per outage and one line when it is back):
 * - `failOpen`: count in this process instead (`local`, the memory store with the same limits), so each
 *   node enforces the limit on its own share of the traffic;
 * - `failClosed`: let the 503 GH_STORE_UNAVAILABLE through.
 */
export function guardStore(remote: Store, redis: RedisConnection, local: Store, onFailure: OnFailure): Store {
  return {
    hit(key, now) {
      if (onFailure === 'failOpen' && !redis.available) return local.hit(key, now)
      const outcome = remote.hit(key, now) as Promise<Outcome>
      return onFailure === 'failClosed' ? outcome : outcome.catch(() => local.hit(key, now))
    },
    async close() {
      await remote.close()
      await local.close()
    },
  }
}
