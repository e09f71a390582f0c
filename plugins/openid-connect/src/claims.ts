import type { ClaimRuleConfig } from './schema.js'

export type Claims = Readonly<Record<string, unknown>>

/** A claim by dot path (`realm_access.roles`); a claim whose own name has a dot is found first. */
export function claimAt(claims: Claims, path: string): unknown {
  if (path in claims) return claims[path]
  let value: unknown = claims
  for (const part of path.split('.')) {
    if (value === null || typeof value !== 'object') return undefined
    value = (value as Record<string, unknown>)[part]
  }
  return value
}

/** A claim's values: an array's strings, or a space-separated string's words (RFC 8693 `scope`). */
export function valuesOf(value: unknown): string[] {
  if (Array.isArray(value)) return value.filter((v): v is string => typeof v === 'string')
  if (typeof value === 'string') return value.split(' ').filter(Boolean)
  return []
}

/** The token's scopes: `scope` (space-separated, RFC 9068 §2.2.3) or `scp` (an array, as some providers send). */
export function scopesOf(claims: Claims): Set<string> {
  return new Set([...valuesOf(claims.scope), ...valuesOf(claims.scp)])
}

export type ClaimTest = (claims: Claims) => boolean

/** One compiled rule: every condition it sets must hold. */
export function compileRule(rule: ClaimRuleConfig): ClaimTest {
  const { claim, equals, contains, anyOf } = rule
  const expected = equals === undefined ? undefined : JSON.stringify(equals)
  const allowed = anyOf === undefined ? undefined : new Set(anyOf)
  return function claimRule(claims) {
    const value = claimAt(claims, claim)
    if (value === undefined) return false
    if (expected !== undefined && JSON.stringify(value) !== expected) return false
    if (contains !== undefined && !valuesOf(value).includes(contains)) return false
    if (allowed !== undefined) {
      const values = typeof value === 'string' ? [value] : valuesOf(value)
      if (!values.some((v) => allowed.has(v))) return false
    }
    return true
  }
}

/** RFC 9110 §5.5, and no `,` (a list separator in X-Consumer-Groups): what may become an identity header. */
const HEADER_SAFE = /^[\x21-\x2b\x2d-\x7e][\x20-\x2b\x2d-\x7e]{0,255}$/

export function headerSafe(value: unknown): value is string {
  return typeof value === 'string' && HEADER_SAFE.test(value)
}
