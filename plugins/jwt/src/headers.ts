import type { Headers } from '@gatehousejs/sdk'

/** `[claim, header]` pairs from `claimsToHeaders`, header names already lower case. */
export type ClaimHeaders = ReadonlyArray<readonly [claim: string, header: string]>

/** RFC 9110 §5.5: visible characters, spaces and tabs; a claim with CR/LF or the like is not sent. */
const HEADER_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/

/** A claim as a header value: strings as they are, arrays joined with ", ", anything else as JSON. */
function headerValue(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined
  let text: string
  if (typeof value === 'string') text = value
  else if (Array.isArray(value) && value.every((v) => typeof v === 'string')) text = value.join(', ')
  else text = JSON.stringify(value)
  return HEADER_VALUE.test(text) ? text : undefined
}

/** Drops the client's own values of the claim headers, so an upstream can trust them. */
export function removeClaimHeaders(headers: Headers, map: ClaimHeaders): void {
  for (const [, header] of map) delete headers[header]
}

/** Sets the configured claim headers from a verified token's claims. */
export function claimsToHeaders(
  headers: Headers,
  claims: Readonly<Record<string, unknown>>,
  map: ClaimHeaders,
): void {
  for (const [claim, header] of map) {
    const value = headerValue(claims[claim])
    if (value !== undefined) headers[header] = value
  }
}
