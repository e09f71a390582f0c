import type { ConfigIssue } from '@gatehousejs/sdk'

/**
 * Origin matching, compiled once per instance. An entry is one of:
 *   `*`                        any origin;
 *   `https://app.example.com`  an exact origin (scheme, host and port; the default port may be left out);
 *   `https://*.example.com`    any subdomain of example.com, at any depth, not example.com itself;
 *   anything else              a regular expression, as Kong reads it: any character outside
 *                              `[A-Za-z0-9.:/-]` makes an entry a regex; it is anchored at both ends and,
 *                              when it has no `:`, matched against the origin's host alone.
 */
export interface OriginMatcher {
  /** Whether every origin is allowed (`*` or no entries). */
  readonly any: boolean
  /** Whether `origin` (the request's `Origin` header) is allowed. */
  allows(origin: string): boolean
}

interface Parsed {
  /** `scheme://host[:port]`, lower case, without the scheme's default port. */
  origin: string
  scheme: string
  host: string
  /** The explicit port, or '' for the scheme's default. */
  port: string
}

interface Wildcard {
  scheme: string
  /** `.example.com` */
  suffix: string
  port: string
}

const LITERAL = /^[A-Za-z0-9.:/-]+$/
const WILDCARD = /^([a-z][a-z0-9+.-]*):\/\/\*(\.[a-z0-9-]+(?:\.[a-z0-9-]+)*)(?::(\d{1,5}))?\/?$/i

/** Parses an origin the way browsers serialise it (RFC 6454 §6.1); undefined when it is not one. */
export function parseOrigin(value: string): Parsed | undefined {
  let url: URL
  try {
    url = new URL(value)
  } catch {
    return undefined
  }
  // An origin has no path, query, fragment or credentials (a trailing `/` is tolerated in config).
  if (url.host === '' || url.username !== '' || url.password !== '') return undefined
  if ((url.pathname !== '/' && url.pathname !== '') || url.search !== '' || url.hash !== '') return undefined
  const scheme = url.protocol.slice(0, -1)
  return { origin: `${scheme}://${url.host}`, scheme, host: url.hostname, port: url.port }
}

/** The matcher of `origins`; each entry that is neither an origin nor a regular expression is an issue. */
export function compileOrigins(entries: readonly string[], issues: ConfigIssue[]): OriginMatcher {
  const exact = new Set<string>()
  const wildcards: Wildcard[] = []
  const regexes: Array<{ re: RegExp; byHost: boolean }> = []
  let any = entries.length === 0
  entries.forEach((entry, i) => {
    const pointer = `/config/origins/${i}`
    if (entry === '*') {
      any = true
      return
    }
    const wild = WILDCARD.exec(entry)
    if (wild) {
      const scheme = wild[1]!.toLowerCase()
      wildcards.push({ scheme, suffix: wild[2]!.toLowerCase(), port: defaultless(scheme, wild[3] ?? '') })
      return
    }
    if (LITERAL.test(entry)) {
      const parsed = parseOrigin(entry)
      if (parsed === undefined || !entry.includes('://')) {
        issues.push({ pointer, message: `"${entry}" is not an origin (use e.g. "https://app.example.com")` })
        return
      }
      exact.add(parsed.origin)
      return
    }
    try {
      const source = `^(?:${entry.replace(/^\^/, '').replace(/\$$/, '')})$`
      regexes.push({ re: new RegExp(source, 'i'), byHost: !entry.includes(':') })
    } catch (err) {
      issues.push({
        pointer,
        message: `"${entry}" is not a valid regular expression: ${(err as Error).message}`,
      })
    }
  })
  return {
    any,
    allows(origin: string): boolean {
      if (any) return true
      // Browsers send the serialised origin, so the exact entries usually match without parsing.
      if (exact.has(origin)) return true
      const parsed = parseOrigin(origin)
      if (parsed === undefined) return false
      if (exact.has(parsed.origin)) return true
      for (const w of wildcards) {
        if (
          parsed.scheme === w.scheme &&
          parsed.port === w.port &&
          parsed.host.length > w.suffix.length &&
          parsed.host.endsWith(w.suffix)
        )
          return true
      }
      for (const r of regexes) if (r.re.test(r.byHost ? parsed.host : parsed.origin)) return true
      return false
    },
  }
}

const DEFAULT_PORTS: Record<string, string> = { http: '80', https: '443', ws: '80', wss: '443' }

function defaultless(scheme: string, port: string): string {
  return DEFAULT_PORTS[scheme] === port ? '' : port
}
