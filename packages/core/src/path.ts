/**
 * Request-target normalisation. A route's prefix must never be escaped by `..` or its encoded forms,
 * so the path is normalised once, before routing, and the upstream receives the normalised path:
 *  - percent-encoded unreserved characters are decoded (RFC 3986 §6.2.2.2), so `%2e%2e` is `..`;
 *  - dot segments are removed (RFC 3986 §5.2.4); a `..` that would climb above the root is refused;
 *  - `%2F` (an encoded slash) stays encoded: it is data, not a separator;
 *  - NUL, a bad percent-escape, and a backslash (which some backends read as `/`) are refused;
 *  - repeated slashes are merged;
 *  - anything that is not a path (`*`, a non-http absolute-form target, a rewrite to `x`) is refused.
 */
export type NormalisedPath = { ok: true; path: string } | { ok: false; reason: string }

const UNRESERVED = /^[A-Za-z0-9\-._~]$/

export function normalisePath(raw: string): NormalisedPath {
  // Fast path: the common, already-clean path costs one scan.
  if (isClean(raw)) return { ok: true, path: raw }
  if (raw.charCodeAt(0) !== 47) return { ok: false, reason: 'the request target is not a path' }
  let decoded = ''
  for (let i = 0; i < raw.length; i++) {
    const ch = raw[i]!
    if (ch === '%') {
      const hex = raw.slice(i + 1, i + 3)
      if (!/^[0-9A-Fa-f]{2}$/.test(hex)) return { ok: false, reason: 'bad percent-encoding' }
      const code = Number.parseInt(hex, 16)
      if (code === 0) return { ok: false, reason: 'NUL byte' }
      const c = String.fromCharCode(code)
      if (c === '\\') return { ok: false, reason: 'backslash' }
      decoded += UNRESERVED.test(c) ? c : `%${hex.toUpperCase()}`
      i += 2
    } else if (ch === '\\') {
      return { ok: false, reason: 'backslash' }
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
      out.push(seg)
    }
  }
  return { ok: true, path: `/${out.join('/')}` }
}

function isClean(p: string): boolean {
  if (p.charCodeAt(0) !== 47) return false
  let prevSlash = true
  for (let i = 1; i < p.length; i++) {
    const c = p.charCodeAt(i)
    if (c === 37 /* % */ || c === 92 /* \ */) return false
    if (c === 47) {
      if (prevSlash) return false
      prevSlash = true
    } else if (c === 46 /* . */ && prevSlash) {
      const next = p.charCodeAt(i + 1)
      if (
        Number.isNaN(next) ||
        next === 47 ||
        (next === 46 && (i + 2 === p.length || p.charCodeAt(i + 2) === 47))
      ) {
        return false
      }
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
