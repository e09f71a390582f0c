import { defineError } from '@gatehousejs/sdk'

/**
 * Every error this plugin sends to a client; each has a row in the README and in docs/errors.md.
 * With `redis` and `onFailure: failClosed`, a Redis outage answers the SDK's 503 GH_STORE_UNAVAILABLE.
 */

/** 429: a window's limit is used up. Sent with `Retry-After` (seconds) and, unless turned off, the RateLimit headers. */
export const RateLimited = defineError(
  'GH_RATE_LIMITED',
  429,
  'API rate limit exceeded: retry after the number of seconds in Retry-After',
)
