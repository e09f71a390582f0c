import type { Headers } from '@gatehousejs/sdk'

/** Adds `token` to the response's `Vary` unless it is there already (or `Vary: *` covers it). */
export function addVary(headers: Headers, token: string): void {
  const current = headers.vary
  if (current === undefined || current === '') {
    headers.vary = token
    return
  }
  const value = Array.isArray(current) ? current.join(', ') : current
  const lower = token.toLowerCase()
  for (const part of value.split(',')) {
    const t = part.trim().toLowerCase()
    if (t === '*' || t === lower) return
  }
  headers.vary = `${value}, ${token}`
}

/** The first value of a request header (Node joins most repeated headers, but not all). */
export function headerValue(headers: Readonly<Headers>, name: string): string | undefined {
  const v = headers[name]
  return Array.isArray(v) ? v[0] : v
}

/** RFC 9110 §5.6.1: `#token`, as `Access-Control-Request-Headers` must be (Fetch §3.2.3). */
const TOKEN_LIST = /^[\t ]*[!#$%&'*+.^_`|~0-9A-Za-z-]+(?:[\t ]*,[\t ]*[!#$%&'*+.^_`|~0-9A-Za-z-]+)*[\t ]*$/

/** The requested headers, lower case, to reflect; undefined when absent or not a token list. */
export function requestedHeaders(value: string | undefined): string | undefined {
  if (value === undefined || !TOKEN_LIST.test(value)) return undefined
  return value
    .split(',')
    .map((h) => h.trim().toLowerCase())
    .join(', ')
}
