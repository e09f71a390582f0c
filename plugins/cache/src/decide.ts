import type { Headers, ResponseContext } from '@gatehousejs/sdk'
import { type Directives, parseCacheControl } from './directives.js'
import type { Entry } from './entry.js'
import { normaliseQuery, type QueryRules, urlKey } from './key.js'

/** How a stored entry may answer a request. */
export type Use = 'fresh' | 'max-stale' | 'stale-while-revalidate' | 'request' | 'stale'

/**
 * How a stored entry may answer (RFC 9111 §4.2, §5.2.1; RFC 5861 §3), decided from the plugin's own
 * reading of the request's directives and the entry's precomputed instants:
 * - `no-cache`, `max-age` the entry's age exceeds, or `min-fresh` more than its remaining freshness:
 *   `request` (forwarded, with the entry's validators);
 * - fresh: `fresh`; stale: `max-stale` when the request accepts that staleness and the response does
 *   not say `must-revalidate`/`proxy-revalidate` (§5.2.2.2 binds only once stale), else
 *   stale-while-revalidate while its window lasts, else `stale`.
 */
export function decide(entry: Entry, cc: Directives | undefined, now: number): Use {
  if (cc !== undefined) {
    if (cc['no-cache'] !== undefined) return 'request'
    // The exact age, not the whole seconds sent in Age: `max-age=0` always revalidates.
    const age = entry.initialAge + (now - entry.storedAt) / 1000
    const maxAge = cc['max-age']
    if (maxAge !== undefined && (maxAge === true || age > Number(maxAge))) return 'request'
    const minFresh = cc['min-fresh']
    if (minFresh !== undefined && minFresh !== true && (entry.freshUntil - now) / 1000 < Number(minFresh))
      return 'request'
  }
  if (now < entry.freshUntil) return 'fresh'
  const maxStale = cc?.['max-stale']
  if (
    maxStale !== undefined &&
    !entry.mustRevalidate &&
    (maxStale === true || (now - entry.freshUntil) / 1000 <= Number(maxStale))
  )
    return 'max-stale'
  if (now < entry.swrUntil) return 'stale-while-revalidate'
  return 'stale'
}

/** Cache-Control, or `Pragma: no-cache` when there is no Cache-Control (RFC 9111 §5.4). */
export function requestDirectives(h: Readonly<Headers>): Directives {
  const cc = parseCacheControl(h['cache-control'])
  if (h['cache-control'] === undefined && /(^|,)\s*no-cache\s*(,|$)/i.test(String(h.pragma)))
    cc['no-cache'] = true
  return cc
}

export function canReplaceBody(res: ResponseContext['response']): boolean {
  return Buffer.isBuffer(res.body) || res.bodySkipped === 'no-body'
}

export function sameHostUrl(value: Headers[string], host: string, rules: QueryRules): string | undefined {
  if (typeof value !== 'string' || value === '') return undefined
  try {
    const u = new URL(value, `http://${host}`)
    if (u.hostname.toLowerCase() !== host) return undefined
    return urlKey(host, u.pathname, normaliseQuery(u.search.slice(1), rules))
  } catch {
    return undefined
  }
}
