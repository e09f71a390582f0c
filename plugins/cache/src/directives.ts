import type { Headers } from '@gatehousejs/sdk'

/** Cache-Control directives, names lower case; a directive without a value is `true`. */
export type Directives = Record<string, string | true>

/** Directives whose argument is delta-seconds (RFC 9111 §1.2.2). */
const DELTA = new Set([
  'max-age',
  's-maxage',
  'stale-while-revalidate',
  'stale-if-error',
  'min-fresh',
  'max-stale',
])
/** RFC 9111 §1.2.2: a larger delta-seconds is taken as 2^31. */
const DELTA_CAP = 2147483648
/** RFC 9111 §4.2.1: conflicting freshness directives make the response stale (the strict choice). */
const FRESHNESS = new Set(['max-age', 's-maxage'])

/**
 * Parses a Cache-Control value (RFC 9111 §5.2, list syntax of RFC 9110 §5.6.1): names are
 * case-insensitive and returned lower case; a quoted-string argument may hold commas
 * (`no-cache="set-cookie, x-user"`). This is the one reading of the field that every decision of the
 * plugin uses: http-cache-semantics is handed {@link formatCacheControl} of it, never the raw value,
 * because that library compares directive names case-sensitively (`Private` would not be private).
 *
 * Invalid arguments are read strictly: a `max-age`/`s-maxage` that is not delta-seconds, or given
 * twice with different values, is `0` (stale); other invalid delta-seconds directives are dropped.
 */
export function parseCacheControl(value: Headers[string]): Directives {
  const out: Directives = {}
  if (value === undefined) return out
  const text = Array.isArray(value) ? value.join(',') : value
  for (const [rawName, arg] of members(text)) {
    const name = rawName.toLowerCase()
    if (name === '' || !TOKEN.test(name)) continue
    let v: string | true = arg ?? true
    if (DELTA.has(name) && v !== true) {
      if (!/^\d+$/.test(v)) {
        if (!FRESHNESS.has(name)) continue
        v = '0'
      } else if (Number(v) > DELTA_CAP) v = String(DELTA_CAP)
    }
    const before = out[name]
    if (before !== undefined) {
      if (FRESHNESS.has(name) && before !== v) out[name] = '0'
      continue
    }
    out[name] = v
  }
  return out
}

const TOKEN = /^[!#$%&'*+.^_`|~0-9a-z-]+$/

/** `name[=token|"quoted string"]` members of a comma-separated list; quoted commas do not split. */
function* members(text: string): Generator<[string, string | undefined]> {
  let i = 0
  const n = text.length
  while (i < n) {
    // name
    let j = i
    while (j < n && text[j] !== ',' && text[j] !== '=') j++
    const name = text.slice(i, j).trim()
    if (j >= n || text[j] === ',') {
      yield [name, undefined]
      i = j + 1
      continue
    }
    // argument
    j++
    while (j < n && (text[j] === ' ' || text[j] === '\t')) j++
    let arg = ''
    if (text[j] === '"') {
      j++
      while (j < n && text[j] !== '"') {
        if (text[j] === '\\' && j + 1 < n) j++
        arg += text[j]
        j++
      }
      j++
      while (j < n && text[j] !== ',') j++
    } else {
      const start = j
      while (j < n && text[j] !== ',') j++
      arg = text.slice(start, j).trim()
    }
    yield [name, arg]
    i = j + 1
  }
}

/** The directives as one canonical Cache-Control value (lower-case names, quoted where needed). */
export function formatCacheControl(d: Directives): string | undefined {
  const parts: string[] = []
  for (const name in d) {
    const v = d[name]!
    if (v === true) parts.push(name)
    else if (TOKEN.test(v)) parts.push(`${name}=${v}`)
    else parts.push(`${name}="${v.replace(/["\\]/g, '\\$&')}"`)
  }
  return parts.length === 0 ? undefined : parts.join(', ')
}

/** A delta-seconds directive's value, or 0 when absent or without a value. */
export function seconds(d: Directives, name: string): number {
  const v = d[name]
  if (v === undefined || v === true) return 0
  return Number(v)
}

/** The field names of a qualified `no-cache="…"` or `private="…"` (RFC 9111 §5.2.2.4, §5.2.2.7). */
export function fieldNames(v: string): string[] {
  return v
    .split(',')
    .map((s) => s.trim().toLowerCase())
    .filter((s) => s !== '')
}
