/**
 * Request-target normalisation. A route's prefix must never be escaped by `..` or its encoded forms,
 * so the path is normalised once, before routing, and the upstream receives the normalised path:
 *  - percent-encoded unreserved characters are decoded (RFC 3986 §6.2.2.2), so `%2e%2e` is `..`;
 *  - dot segments are removed (RFC 3986 §5.2.4); a `..` that would climb above the root is refused;
 *  - an encoded slash or backslash (`%2F`, `%5C`, any case) stays encoded and is reported, so the
 *    route's `escapedSlashes` policy can refuse it, decode it (`decodeSlashes`) or keep it; so is one
 *    encoded twice or more (`%252F`);
 *  - a dot segment hidden behind percent-encoding at any depth (`..%2F`, `%252e%252e`), behind `;`
 *    parameters (`..;`, which Tomcat reads as `..`) or behind a NUL is refused whatever the policy:
 *    an upstream that decodes once and resolves dots, or parses with the WHATWG URL parser (`\` and
 *    `%2e` are `/` and `.` to it), would otherwise see a path that climbs out of the route's prefix;
 *  - NUL, a bad percent-escape, and a raw backslash (which some backends read as `/`) are refused;
 *  - repeated slashes are merged;
 *  - anything that is not a path (`*`, a non-http absolute-form target, a rewrite to `x`) is refused.
 * The common, clean path costs one scan with no allocation (`isClean`).
 */
export type NormalisedPath = { ok: true; path: string; escaped: number } | { ok: false; reason: string }

/** `escaped` bits: the path holds `%2F`/`%5C` (one layer of encoding), or a deeper one (`%252F`). */
export const ESCAPED_SLASH = 1
export const DEEP_ESCAPED_SLASH = 2

/** How many layers of percent-encoding a segment may carry before it is refused as an evasion. */
const MAX_LAYERS = 3

const UNRESERVED = /^[A-Za-z0-9\-._~]$/
const HEX2 = /^[0-9A-Fa-f]{2}$/

export function normalisePath(raw: string, decodeSlashes = false): NormalisedPath {
  // Fast path: the common, already-clean path costs one scan.
  if (isClean(raw)) return { ok: true, path: raw, escaped: 0 }
  if (raw.charCodeAt(0) !== 47) return { ok: false, reason: 'the request target is not a path' }
  let decoded = ''
  let escaped = 0
  for (let i = 0; i < raw.length; i++) {
    const ch = raw[i]!
    if (ch === '%') {
      const hex = raw.slice(i + 1, i + 3)
      if (!HEX2.test(hex)) return { ok: false, reason: 'bad percent-encoding' }
      const code = Number.parseInt(hex, 16)
      if (code === 0) return { ok: false, reason: 'NUL byte' }
      if (code === 0x2f || code === 0x5c) {
        if (decodeSlashes) decoded += '/'
        else {
          decoded += `%${hex.toUpperCase()}`
          escaped |= ESCAPED_SLASH
        }
      } else {
        const c = String.fromCharCode(code)
        decoded += UNRESERVED.test(c) ? c : `%${hex.toUpperCase()}`
      }
      i += 2
    } else if (ch === '\\') {
      return { ok: false, reason: 'backslash' }
    } else if (ch === '\0') {
      return { ok: false, reason: 'NUL byte' }
    } else {
      decoded += ch
    }
  }
  const out: string[] = []
  const segments = decoded.split('/')
  for (let i = 1; i < segments.length; i++) {
    const seg = segments[i]!
    const last = i === segments.length - 1
    if (seg === '.') {
      if (last) out.push('')
    } else if (seg === '..') {
      if (out.length === 0) return { ok: false, reason: 'the path climbs above the root' }
      out.pop()
      if (last) out.push('')
    } else if (seg === '' && !last) {
      // merge repeated slashes
    } else {
      const hidden = hiddenDotSegment(seg)
      if (hidden !== undefined) return { ok: false, reason: hidden }
      if (seg.includes('%25') && deepSlash(seg)) escaped |= DEEP_ESCAPED_SLASH
      out.push(seg)
    }
  }
  return { ok: true, path: `/${out.join('/')}`, escaped }
}

/**
 * Why a path set by a plugin (`ctx.upstream.path`) may not be sent, or undefined when it may: the same
 * rule as for a request path, without normalising it (the plugin chose it). Clean paths cost one scan.
 */
export function unsafeUpstreamPath(path: string): string | undefined {
  if (path.charCodeAt(0) !== 47) return 'the upstream path does not start with /'
  if (isClean(path)) return undefined
  for (let i = 0; i < path.length; i++) {
    const c = path.charCodeAt(i)
    if (c === 92) return 'backslash'
    if (c === 0) return 'NUL byte'
  }
  for (const seg of path.split('/')) {
    if (seg === '.' || seg === '..') return 'a dot segment'
    const hidden = hiddenDotSegment(seg)
    if (hidden !== undefined) return hidden
  }
  return undefined
}

/**
 * A segment that is, to some upstream, a dot segment or a NUL: `..;x` (path parameters are dropped
 * before dot segments are resolved by Tomcat and Jetty), or an encoded form that becomes one after one
 * or more rounds of percent-decoding, where the decoded `/` and `\` split it into more segments and
 * `%2e`, tab, CR and LF are read as the WHATWG URL parser reads them.
 */
function hiddenDotSegment(seg: string): string | undefined {
  const semi = seg.indexOf(';')
  if (semi >= 0 && isDot(seg.slice(0, semi))) return 'a dot segment with parameters (`..;`)'
  if (!seg.includes('%')) return undefined
  let s = seg
  for (let layer = 1; layer <= MAX_LAYERS + 1; layer++) {
    const next = decodeLayer(s)
    if (next === s) return undefined
    if (layer > MAX_LAYERS) return 'too many layers of percent-encoding'
    if (next.includes('\0')) return 'an encoded NUL byte'
    for (const piece of next.split(/[/\\]/)) if (isDotLike(piece)) return 'an encoded dot segment'
    s = next
  }
  return undefined
}

/** Does decoding the segment (more than once) yield a `/` or `\`? `%2F` itself is already reported. */
function deepSlash(seg: string): boolean {
  let s = decodeLayer(seg)
  for (let layer = 2; layer <= MAX_LAYERS && s.includes('%'); layer++) {
    const next = decodeLayer(s)
    if (next === s) return false
    if (/[/\\]/.test(next)) return true
    s = next
  }
  return false
}

function isDot(s: string): boolean {
  return s === '.' || s === '..'
}

/** A dot segment as the WHATWG URL parser reads it: tab/CR/LF removed, `%2e` is `.`, `;` params cut. */
function isDotLike(piece: string): boolean {
  let p = piece.replace(/[\t\n\r]/g, '')
  const semi = p.indexOf(';')
  if (semi >= 0) p = p.slice(0, semi)
  if (p.length > 6) return false
  p = p.replace(/%2e/gi, '.')
  return isDot(p)
}

/** One round of percent-decoding; a `%` not followed by two hex digits is left as it is. */
function decodeLayer(s: string): string {
  return s.replace(/%([0-9A-Fa-f]{2})/g, (_, hex: string) => String.fromCharCode(Number.parseInt(hex, 16)))
}

function isClean(p: string): boolean {
  if (p.charCodeAt(0) !== 47) return false
  let prevSlash = true
  for (let i = 1; i < p.length; i++) {
    const c = p.charCodeAt(i)
    if (c === 37 /* % */ || c === 92 /* \ */ || c === 0) return false
    if (c === 47) {
      if (prevSlash) return false
      prevSlash = true
    } else if (c === 46 /* . */ && prevSlash) {
      // `.` or `..` as a whole segment, or followed by `;` parameters (`..;`).
      let next = p.charCodeAt(i + 1)
      if (next === 46) next = p.charCodeAt(i + 2)
      if (Number.isNaN(next) || next === 47 || next === 59) return false
      prevSlash = false
    } else {
      prevSlash = false
    }
  }
  return true
}

/** Joins an upstream base path and a request path without doubling or losing a slash. */
export function joinPaths(base: string, rest: string): string {
  // `rest` lacks its leading slash when the route's prefix ended with one (`/api/` on `/api/x`).
  if (base === '' || base === '/') return rest.startsWith('/') ? rest : `/${rest}`
  if (rest === '' || rest === '/') return rest === '/' && !base.endsWith('/') ? `${base}/` : base
  if (base.endsWith('/')) return rest.startsWith('/') ? base + rest.slice(1) : base + rest
  return rest.startsWith('/') ? base + rest : `${base}/${rest}`
}
