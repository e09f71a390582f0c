import type { Headers } from '@gatehousejs/sdk'
import { parseDictionary, Token } from 'structured-headers'
import { type Directives, fieldNames, formatCacheControl, parseCacheControl } from './directives.js'
import { parseHttpDate } from './http-date.js'

/**
 * One reading of a response's caching headers, used for every decision: the directives the plugin
 * acts on, and the headers http-cache-semantics is handed so that the library decides from the same
 * reading (it compares directive names case-sensitively and parses dates leniently, so it is never
 * given a raw header).
 */
export interface ResponseView {
  /** The governing directives: the targeted field's when it has a valid value, else Cache-Control's. */
  readonly directives: Directives
  /** The headers as http-cache-semantics sees them (see {@link responseView}). */
  readonly policyHeaders: Record<string, string>
  /** Fields never stored (`private="…"`) or never served without revalidation (`no-cache="…"`). */
  readonly omit: readonly string[]
  /** The targeted field governed the policy (RFC 9213 §2.1). */
  readonly targeted: boolean
}

/** RFC 9111 §5.3: an invalid Expires is a time in the past. */
const ALREADY_EXPIRED = 'Thu, 01 Jan 1970 00:00:00 GMT'

/**
 * Reads `headers` (lower-case names, one string per field) once:
 * - Cache-Control, or the targeted field (RFC 9213, e.g. `CDN-Cache-Control`) when `targeted` names
 *   one that parses as a Structured Fields Dictionary with at least one member; Expires is then ignored;
 * - qualified `no-cache="a, b"` / `private="a, b"` become omitted fields (RFC 9111 §5.2.2.4, §5.2.2.7:
 *   the rest of the response may be stored and reused); an empty list is the unqualified directive;
 * - an Expires that is not an HTTP-date is "already expired" (RFC 9111 §5.3); an invalid Date or
 *   Last-Modified is ignored;
 * - Age: the first member of a list, ignored unless a non-negative integer (RFC 9111 §5.1).
 */
export function responseView(headers: Readonly<Record<string, string>>, targeted?: string): ResponseView {
  const policyHeaders: Record<string, string> = { ...headers }
  let directives: Directives | undefined
  let isTargeted = false
  if (targeted !== undefined && headers[targeted] !== undefined) {
    directives = targetedDirectives(headers[targeted]!)
    isTargeted = directives !== undefined
  }
  directives ??= parseCacheControl(headers['cache-control'])
  const omit: string[] = []
  for (const name of ['no-cache', 'private']) {
    const v = directives[name]
    if (typeof v !== 'string') continue
    const fields = fieldNames(v)
    if (fields.length === 0) directives[name] = true
    else {
      delete directives[name]
      omit.push(...fields)
    }
  }
  const cc = formatCacheControl(directives)
  if (cc === undefined) delete policyHeaders['cache-control']
  else policyHeaders['cache-control'] = cc
  if (isTargeted) delete policyHeaders.expires
  else if (headers.expires !== undefined && parseHttpDate(headers.expires) === undefined)
    policyHeaders.expires = ALREADY_EXPIRED
  for (const name of ['date', 'last-modified']) {
    if (headers[name] !== undefined && parseHttpDate(headers[name]) === undefined) delete policyHeaders[name]
  }
  if (headers.age !== undefined) {
    const first = headers.age.split(',', 1)[0]!.trim()
    if (/^\d+$/.test(first)) policyHeaders.age = first
    else delete policyHeaders.age
  }
  if (headers.pragma !== undefined) policyHeaders.pragma = headers.pragma.toLowerCase()
  return { directives, policyHeaders, omit, targeted: isTargeted }
}

/**
 * A targeted field's directives (RFC 9213 §2.2): a Structured Fields Dictionary; booleans are
 * valueless directives, integers delta-seconds, strings quoted arguments. `undefined` when it does not
 * parse (upper-case keys do not) or is empty: Cache-Control then governs.
 */
function targetedDirectives(value: string): Directives | undefined {
  let dict: ReturnType<typeof parseDictionary>
  try {
    dict = parseDictionary(value)
  } catch {
    return undefined
  }
  if (dict.size === 0) return undefined
  const parts: string[] = []
  for (const [name, member] of dict) {
    const v = member[0]
    if (Array.isArray(v)) continue // an inner list is no cache directive
    if (v === true) parts.push(name)
    else if (v === false) continue
    else if (typeof v === 'number') parts.push(`${name}=${Number.isInteger(v) && v >= 0 ? v : 'invalid'}`)
    else if (typeof v === 'string') parts.push(`${name}="${v.replace(/["\\]/g, '\\$&')}"`)
    else if (v instanceof Token) parts.push(`${name}=${v.toString()}`)
  }
  // Read through the one Cache-Control parser, so the same validity rules apply.
  return parseCacheControl(parts.join(', '))
}

/** The request's Cache-Control and Pragma as http-cache-semantics should read them (lower case). */
export function requestCacheControl(value: Headers[string]): string | undefined {
  return formatCacheControl(parseCacheControl(value))
}
