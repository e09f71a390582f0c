import type { Headers } from '@gatehousejs/sdk'

/**
 * Cache keys. An entry's key is
 *
 *   GET <host> <path>[?<normalised query>][ @<consumer id>][ |<vary value>|<vary value>…]
 *
 * - the method is always `GET`: a HEAD request is answered from the stored GET response (RFC 9110 §9.3.2);
 * - the host is the one the client asked for, lower case, without the port;
 * - the path is core's normalised request path; the query's parameters are sorted, filtered by
 *   `query.include`/`query.ignore`, and kept as sent (no re-encoding);
 * - `@<consumer>` when the cache is isolated per consumer;
 * - the values of the request headers the response's `Vary` names, in the order it names them.
 *
 * Spaces separate the parts because neither a host nor a request target can hold one: a path prefix
 * can then be matched on the key's text (Redis `SCAN MATCH`) without matching across parts.
 * The first three parts (method, host, target) are the entry's **URL key**: invalidation after an
 * unsafe method, and `PURGE <url>`, remove every consumer's and every variant's entry under it.
 */

export interface QueryRules {
  include: ReadonlySet<string> | undefined
  ignore: ReadonlySet<string>
}

/** `b=2&a=1&utm_source=x` → `a=1&b=2` (with `utm_source` ignored). Stable, so equivalent URLs share an entry. */
export function normaliseQuery(querystring: string, rules: QueryRules): string {
  if (querystring === '') return ''
  const filter = rules.include !== undefined || rules.ignore.size > 0
  if (!filter && querystring.indexOf('&') < 0) return querystring
  const parts = querystring.split('&')
  const kept: string[] = []
  for (const part of parts) {
    if (part === '') continue
    if (filter) {
      const eq = part.indexOf('=')
      const name = decodeName(eq < 0 ? part : part.slice(0, eq))
      if (rules.include !== undefined && !rules.include.has(name)) continue
      if (rules.ignore.has(name)) continue
    }
    kept.push(part)
  }
  // Sorting whole `name=value` pairs keeps repeated names in a stable order too.
  return kept.sort().join('&')
}

function decodeName(raw: string): string {
  try {
    return decodeURIComponent(raw.replace(/\+/g, ' '))
  } catch {
    return raw
  }
}

/** `GET example.com /items?a=1`: the part of the key every variant and consumer shares. */
export function urlKey(host: string, path: string, query: string): string {
  return query === '' ? `GET ${host} ${path}` : `GET ${host} ${path}?${query}`
}

/** The key a lookup starts from: the URL key, plus the consumer when isolated. */
export function primaryKey(url: string, consumer: string | undefined): string {
  return consumer === undefined ? url : `${url} @${consumer}`
}

/** The URL key of any entry key (its first three parts). */
export function urlKeyOf(key: string): string {
  const first = key.indexOf(' ')
  const second = key.indexOf(' ', first + 1)
  const third = second < 0 ? -1 : key.indexOf(' ', second + 1)
  return third < 0 ? key : key.slice(0, third)
}

/** The key of one variant: the primary key plus the request's values of the `Vary` headers. */
export function variantKey(primary: string, vary: readonly string[], headers: Readonly<Headers>): string {
  let key = `${primary} `
  for (const name of vary) key += `|${headerText(headers[name])}`
  return key
}

function headerText(value: Headers[string]): string {
  if (value === undefined) return ''
  return (Array.isArray(value) ? value.join(', ') : value).trim()
}

/** The header names a `Vary` value lists, lower case; `undefined` for none, `['*']` for `*`. */
export function varyNames(value: Headers[string]): string[] | undefined {
  if (value === undefined) return undefined
  const names = headerText(value)
    .toLowerCase()
    .split(/\s*,\s*/)
    .filter((n) => n !== '')
  return names.length === 0 ? undefined : [...new Set(names)]
}

/** Escapes Redis glob characters so a path prefix matches literally. */
export function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, '\\$&')
}
