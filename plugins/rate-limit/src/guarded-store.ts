import type { Logger } from '@gatehousejs/sdk'
import { RateLimitStoreDown } from './errors.js'
import type { RedisStore } from './redis-store.js'
import type { Store } from './store.js'
import type { Outcome } from './windows.js'

export type OnFailure = 'failOpen' | 'failClosed'

/**
 * Wraps the Redis store with the operator's choice for when Redis is down or slow:
 * - `failOpen`: count in this process instead (`local`, the memory store with the same limits), so each
 *   node enforces the limit on its own share of the traffic;
 * - `failClosed`: refuse with 503 GH_RATE_LIMIT_STORE_DOWN.
 * While the client is not connected, requests do not wait for it at all; a connected but slow Redis
 * costs at most the command timeout. The first failure of an outage logs one warning, the first success
 * after it one `info`; the client reconnects in the background, so recovery needs nobody.
 */
export function guardStore(remote: RedisStore, local: Store, onFailure: OnFailure, log: Logger): Store {
  let down = false

  function markDown(reason: string): void {
    if (down) return
    down = true
    log.warn(
      { err: reason, onFailure },
      onFailure === 'failOpen'
        ? 'rate-limit store (redis) unavailable: counting in this process until it is back'
        : 'rate-limit store (redis) unavailable: refusing requests with 503 until it is back',
    )
  }

  function degraded(reason: string, key: string, now: number): Outcome | Promise<Outcome> {
    markDown(reason)
    // RFC 9110 §10.2.3: a 503 says when to come back, as every refusal of the gateway does.
    if (onFailure === 'failClosed') throw RateLimitStoreDown().withHeaders({ 'retry-after': '1' })
    return local.hit(key, now)
  }

  // Without a listener, ioredis prints every failed reconnection; this makes them one warning per outage.
  remote.client.on('error', (err: Error) => {
    if (remote.client.status !== 'ready') markDown(err.message)
  })

  async function hitRemote(key: string, now: number): Promise<Outcome> {
    let outcome: Outcome
    try {
      outcome = await remote.hit(key, now)
    } catch (err) {
      return degraded(err instanceof Error ? err.message : String(err), key, now)
    }
    if (down) {
      down = false
      log.info('rate-limit store (redis) is back: counting is shared again')
    }
    return outcome
  }

  return {
    hit(key, now) {
      if (remote.client.status !== 'ready')
        return degraded(`redis connection is ${remote.client.status}`, key, now)
      return hitRemote(key, now)
    },
    async close() {
      await remote.close()
      await local.close()
    },
  }
}
