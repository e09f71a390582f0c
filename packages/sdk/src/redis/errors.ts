import { defineError } from '../errors.js'

/**
 * 503: a shared store (a Redis connection) is down or slower than its `commandTimeout`, and the plugin
 * that needed it refuses rather than degrade (rate-limit with `onFailure: failClosed`). One code for
 * every plugin that keeps state in Redis; the store's own error goes to the log, never to the client.
 */
export const StoreUnavailable = defineError(
  'GH_STORE_UNAVAILABLE',
  503,
  'A shared store the gateway needs is unavailable; try again shortly',
)
