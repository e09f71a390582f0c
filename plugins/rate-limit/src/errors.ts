import { defineError } from '@gatehousejs/sdk'

/**
 * Every error this plugin sends to a client; each has a row in the README and in docs/errors.md.
 * Messages are written for the client: the store's own error (a socket error, a timeout) goes to the log.
 */

/** 429: a window's limit is used up. Sent with `Retry-After` (seconds) and, unless turned off, the RateLimit headers. */
export const RateLimited = defineError(
  'GH_RATE_LIMITED',
  429,
  'API rate limit exceeded: retry after the number of seconds in Retry-After',
)

/** 503: the shared counter store (Redis) is down or too slow, and the instance is set to `failClosed`. */
export const RateLimitStoreDown = defineError(
  'GH_RATE_LIMIT_STORE_DOWN',
  503,
  'The rate limit service is unavailable; try again shortly',
)
