import type { HeaderValue } from '@gatehousejs/sdk'

export type Parsed = { username: string; password: string } | 'missing' | 'malformed'

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/

/**
 * The user and password of an `Authorization: Basic <base64(user:password)>` header (RFC 7617): the
 * scheme is case-insensitive; the user name ends at the first ":". Another scheme (Bearer, ...) is
 * "missing", so basic-auth can share a route with jwt.
 */
export function parseBasic(value: HeaderValue): Parsed {
  if (value === undefined || Array.isArray(value)) return value === undefined ? 'missing' : 'malformed'
  const v = value.trim()
  const space = v.indexOf(' ')
  const scheme = space < 0 ? v : v.slice(0, space)
  if (scheme.toLowerCase() !== 'basic') return 'missing'
  const token = v.slice(space + 1).trim()
  if (space < 0 || token.length % 4 !== 0 || !BASE64.test(token)) return 'malformed'
  const decoded = Buffer.from(token, 'base64').toString('utf8')
  const colon = decoded.indexOf(':')
  if (colon <= 0) return 'malformed'
  return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) }
}
