import type { Headers, ResponseContext } from '@gatehousejs/sdk'
import { type Directives, parseCacheControl } from './directives.js'
import { type Entry, type PolicyRequest, policyRequest } from './entry.js'
import { normaliseQuery, type QueryRules, urlKey, varyNames } from './key.js'

/** How a stored entry may answer a request. */
export type Use = 'fresh' | 'max-stale' | 'stale-while-revalidate' | 'request' | 'stale'

/**
 * How a stored entry may answer (RFC 9111 §4.2, §5.2.1; RFC 5861 §3). Without request directives the
 * answer is the freshness precomputed from http-cache-semantics at store time; with them, its
 * evaluateRequest decides (`no-cache`, `max-age`, `min-fresh`, `max-stale`). That library always
 * revalidates a `must-revalidate` response when the request carries directives, even while fresh:
 * conservative (one conditional request), so it is left as is.
 */
export function decide(
  entry: Entry,
  cc: Directives | undefined,
  now: number,
  headers: Readonly<Headers>,
): Use {
  if (cc === undefined) {
    if (now < entry.freshUntil) return 'fresh'
    if (now < entry.swrUntil) return 'stale-while-revalidate'
    return 'stale'
  }
  const request = evaluationRequest(entry, headers)
  const { response, revalidation } = entry.policy.evaluateRequest(request)
  if (response !== undefined && revalidation === undefined)
    return now < entry.freshUntil ? 'fresh' : 'max-stale'
  if (response !== undefined && revalidation?.synchronous === false) return 'stale-while-revalidate'
  if (cc['no-cache'] === true || (cc['max-age'] !== undefined && cc['max-age'] !== true)) return 'request'
  return 'stale'
}

/** The request as evaluateRequest compares it to the stored one: directives and the varied headers. */
function evaluationRequest(entry: Entry, headers: Readonly<Headers>): PolicyRequest {
  return policyRequest(headers, varyNames(entry.headers.vary), false)
}

/** Cache-Control, or `Pragma: no-cache` when there is no Cache-Control (RFC 9111 §5.4). */
export function requestDirectives(h: Readonly<Headers>): Directives {
  const cc = parseCacheControl(h['cache-control'])
  if (h['cache-control'] === undefined && /no-cache/i.test(String(h.pragma))) cc['no-cache'] = true
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
