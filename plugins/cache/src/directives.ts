import type { Headers } from '@gatehousejs/sdk'

/** Cache-Control directives, names lower case; a directive without a value is `true`. */
export type Directives = Record<string, string | true>

/**
 * Parses a Cache-Control value (RFC 9111 §5.2). Only for what http-cache-semantics does not expose:
 * the response's `stale-while-revalidate`/`stale-if-error` windows, `must-revalidate`, `public`,
 * `s-maxage`, and the request's `only-if-cached`/`no-store`. Freshness itself comes from the library.
 */
export function parseCacheControl(value: Headers[string]): Directives {
  const out: Directives = {}
  if (value === undefined) return out
  const text = Array.isArray(value) ? value.join(',') : value
  for (const part of text.split(',')) {
    const eq = part.indexOf('=')
    const name = (eq < 0 ? part : part.slice(0, eq)).trim().toLowerCase()
    if (name === '') continue
    out[name] =
      eq < 0
        ? true
        : part
            .slice(eq + 1)
            .trim()
            .replace(/^"|"$/g, '')
  }
  return out
}

/** A delta-seconds directive's value, or 0 when absent or invalid. */
export function seconds(d: Directives, name: string): number {
  const v = d[name]
  if (v === undefined || v === true) return 0
  const n = Number.parseInt(v, 10)
  return Number.isFinite(n) && n > 0 ? n : 0
}
