/**
 * The two status headers: `Cache-Status` (RFC 9211) for machines and `X-Cache-Status` (nginx/Kong style)
 * for people. Values:
 *
 * | X-Cache-Status | when                                                             | Cache-Status                                  |
 * | -------------- | ---------------------------------------------------------------- | --------------------------------------------- |
 * | `Hit`          | a fresh stored response                                          | `hit` (`; detail=coalesced` after waiting)    |
 * | `Stale`        | a stale one: stale-while-revalidate, max-stale or stale-if-error | `hit; detail=…` / `fwd=stale; fwd-status=…`   |
 * | `Miss`         | not stored (or not for this variant); asked the upstream         | `fwd=uri-miss` / `fwd=vary-miss` [`; stored`] |
 * | `Refresh`      | stored but stale, or the client asked to revalidate              | `fwd=stale` / `fwd=request` [`; stored`]      |
 * | `Bypass`       | the cache was not used: method, store down                       | `fwd=bypass` / `fwd=method`; `detail=…`       |
 */
export type XCacheStatus = 'Hit' | 'Miss' | 'Bypass' | 'Refresh' | 'Stale'

export type ForwardReason = 'uri-miss' | 'vary-miss' | 'stale' | 'request' | 'bypass' | 'method'

export interface StatusValue {
  x: XCacheStatus
  /** The Cache-Status parameters after the cache's name. */
  params: string
}

/** Sets both headers on `headers` when enabled. */
export class StatusHeaders {
  readonly enabled: boolean
  private readonly name: string

  constructor(name: string, enabled: boolean) {
    this.name = name
    this.enabled = enabled
  }

  set(headers: Record<string, unknown>, x: XCacheStatus, params: string): void {
    if (!this.enabled) return
    headers['x-cache-status'] = x
    headers['cache-status'] = `${this.name}; ${params}`
  }
}

export function forwardParams(
  forward: ForwardReason,
  status: number | undefined,
  stored: boolean,
  detail: string | undefined,
): string {
  let p = `fwd=${forward}`
  if (status !== undefined) p += `; fwd-status=${status}`
  if (stored) p += '; stored'
  if (detail !== undefined) p += `; detail=${detail}`
  return p
}
