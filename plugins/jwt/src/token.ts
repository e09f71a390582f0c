import type { RequestView } from '@gatehousejs/sdk'

/** Where the token may be, in the order it is looked for: headers, then cookies, then query parameters. */
export interface TokenSources {
  readonly headers: readonly string[]
  readonly cookies: readonly string[]
  readonly queryParams: readonly string[]
}

/** RFC 6750 §2.1: `Bearer` (any case), one or more spaces, the token. */
const BEARER = /^\s*bearer\s+(\S+)\s*$/i

function first(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value
}

/** One cookie's value from a Cookie header (RFC 6265 §5.4), without building a map of all of them. */
function cookieValue(header: string, name: string): string | undefined {
  for (const pair of header.split(';')) {
    const eq = pair.indexOf('=')
    if (eq > 0 && pair.slice(0, eq).trim() === name) {
      const value = pair.slice(eq + 1).trim()
      return value.startsWith('"') && value.endsWith('"') ? value.slice(1, -1) : value
    }
  }
  return undefined
}

/**
 * The token the request carries, or undefined. An Authorization header with another scheme (Basic,
 * an API key) is not a token: with `anonymous`, another auth plugin may accept that request.
 */
export function findToken(request: RequestView, sources: TokenSources): string | undefined {
  for (const name of sources.headers) {
    const value = first(request.headers[name])
    if (!value) continue
    const bearer = BEARER.exec(value)
    if (bearer) return bearer[1]
    if (name !== 'authorization' && value.trim() !== '') return value.trim()
  }
  if (sources.cookies.length > 0) {
    const cookie = first(request.headers.cookie)
    if (cookie) {
      for (const name of sources.cookies) {
        const value = cookieValue(cookie, name)
        if (value) return value
      }
    }
  }
  if (sources.queryParams.length > 0) {
    const query = request.query
    for (const name of sources.queryParams) {
      const value = first(query[name])
      if (value) return value
    }
  }
  return undefined
}
