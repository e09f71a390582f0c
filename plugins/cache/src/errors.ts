import { defineError } from '@gatehousejs/sdk'

/**
 * Every error this plugin sends to a client. Codes are GH_CACHE_<PROBLEM>; each has a row in the README
 * and in docs/errors.md.
 */

/** 504: `Cache-Control: only-if-cached` and nothing usable is stored (RFC 9111 §5.2.1.7). */
export const CacheMiss = defineError(
  'GH_CACHE_MISS',
  504,
  'The response is not in the cache, and the request asked for a cached response only (only-if-cached)',
)

/** 401: a purge request without a valid token or an identified consumer. */
export const PurgeUnauthorized = defineError(
  'GH_CACHE_PURGE_UNAUTHORIZED',
  401,
  'Purging the cache needs a valid purge token or an authorised consumer',
)

/** 403: the identified consumer is in none of the purge groups. */
export const PurgeForbidden = defineError(
  'GH_CACHE_PURGE_FORBIDDEN',
  403,
  'This consumer may not purge the cache',
)

/** 400 (admin endpoint `POST /purge`): the body names nothing to purge. */
export const PurgeInvalid = defineError(
  'GH_CACHE_PURGE_INVALID',
  400,
  'Send one of {"key"}, {"url"}, {"prefix", "host"?}, {"tag"} or {"all": true}',
)
