/**
 * The route table. Built once per configuration generation; a request walks a list already sorted by
 * specificity and takes the first route that matches, so the most specific route wins with no sorting
 * per request. The order (documented in docs/configuration.md#route-matching):
 *   1. host: an exact host beats a wildcard host (longer suffix first), which beats no host;
 *   2. path: an exact path (`=/x`) beats a prefix; then more literal characters; then more segments;
 *   3. more header conditions;
 *   4. a method list beats none;
 *   5. the order of declaration.
 * HEAD matches a route that lists GET.
 */
export interface RouteMatcherInput<R> {
  route: R
  paths: string[] | undefined
  methods: string[] | undefined
  hosts: string[] | undefined
  headers: Record<string, string | string[]> | undefined
}

export interface RouteMatch<R> {
  route: R
  params: Record<string, string>
  /** How many characters of the path the route's path consumed (for strip-path). */
  matchedLength: number
}

interface Entry<R> {
  route: R
  exact: boolean
  /** Literal-only prefix, matched without a regex; undefined when the path has params. */
  literal: string | undefined
  regex: RegExp | undefined
  paramNames: string[]
  staticLength: number
  segments: number
  hostExact: Set<string> | undefined
  hostSuffixes: string[] | undefined
  hostRank: number
  methods: Set<string> | undefined
  headers: Array<[string, string[]]> | undefined
  order: number
}

const EMPTY_PARAMS: Record<string, string> = Object.freeze({}) as Record<string, string>

export class Router<R> {
  private readonly entries: Entry<R>[]
  readonly usesHosts: boolean

  constructor(inputs: RouteMatcherInput<R>[]) {
    const entries: Entry<R>[] = []
    let order = 0
    for (const input of inputs) {
      for (const p of input.paths ?? ['/']) entries.push(compileEntry(input, p, order++))
    }
    entries.sort(compareEntries)
    this.entries = entries
    this.usesHosts = entries.some((e) => e.hostRank > 0)
  }

  /** `host` lower case without port; `headers` the request's (lower-case names). */
  find(
    method: string,
    path: string,
    host: string,
    headers: Record<string, string | string[] | undefined>,
  ): RouteMatch<R> | undefined {
    for (const e of this.entries) {
      if (e.hostRank > 0 && !matchHost(e, host)) continue
      if (e.methods !== undefined && !e.methods.has(method) && !(method === 'HEAD' && e.methods.has('GET')))
        continue
      let params = EMPTY_PARAMS
      let matchedLength: number
      if (e.literal !== undefined) {
        const lit = e.literal
        if (e.exact) {
          if (path !== lit) continue
        } else if (
          !(
            lit === '/' ||
            path === lit ||
            (path.startsWith(lit) && (lit.endsWith('/') || path.charCodeAt(lit.length) === 47))
          )
        ) {
          continue
        }
        matchedLength = lit === '/' ? 0 : lit.length
      } else {
        const m = e.regex!.exec(path)
        if (m === null) continue
        params = {}
        for (let i = 0; i < e.paramNames.length; i++) params[e.paramNames[i]!] = safeDecode(m[i + 1]!)
        matchedLength = m[0].length
      }
      if (e.headers !== undefined && !matchHeaders(e.headers, headers)) continue
      return { route: e.route, params, matchedLength }
    }
    return undefined
  }
}

function compileEntry<R>(input: RouteMatcherInput<R>, rawPath: string, order: number): Entry<R> {
  const exact = rawPath.startsWith('=')
  const path = exact ? rawPath.slice(1) : rawPath
  const segs = path.split('/').slice(1)
  const paramNames: string[] = []
  let staticLength = 0
  let pattern = ''
  for (const seg of segs) {
    if (seg.startsWith(':')) {
      paramNames.push(seg.slice(1))
      pattern += '/([^/]+)'
    } else {
      staticLength += seg.length + 1
      pattern += `/${escapeRegex(seg)}`
    }
  }
  // The request's port is ignored (see `find`), so a port written in a route's host is too: otherwise
  // `example.com:8443`, which the schema accepts, could never match.
  const hosts = input.hosts?.map((h) => h.toLowerCase().replace(/:\d+$/, ''))
  const hostExact = hosts?.filter((h) => !h.startsWith('*.'))
  const hostSuffixes = hosts?.filter((h) => h.startsWith('*.')).map((h) => h.slice(1))
  const hostRank =
    hosts === undefined
      ? 0
      : hostExact!.length > 0
        ? 1_000_000
        : 1 + Math.max(...hostSuffixes!.map((s) => s.length))
  const literal = paramNames.length === 0 ? path : undefined
  let regex: RegExp | undefined
  if (literal === undefined) {
    if (pattern.endsWith('/')) pattern = pattern.slice(0, -1)
    regex = new RegExp(exact ? `^${pattern}$` : `^${pattern}(?=/|$)`)
  }
  return {
    route: input.route,
    exact,
    literal,
    regex,
    paramNames,
    staticLength,
    segments: segs.filter((s) => s !== '').length,
    hostExact: hostExact && hostExact.length > 0 ? new Set(hostExact) : undefined,
    hostSuffixes: hostSuffixes && hostSuffixes.length > 0 ? hostSuffixes : undefined,
    hostRank,
    methods: input.methods ? new Set(input.methods.map((m) => m.toUpperCase())) : undefined,
    headers: input.headers
      ? Object.entries(input.headers).map(([k, v]) => [
          k.toLowerCase(),
          (Array.isArray(v) ? v : [v]).map((s) => s.toLowerCase()),
        ])
      : undefined,
    order,
  }
}

function compareEntries<R>(a: Entry<R>, b: Entry<R>): number {
  return (
    b.hostRank - a.hostRank ||
    Number(b.exact) - Number(a.exact) ||
    b.staticLength - a.staticLength ||
    b.segments - a.segments ||
    (b.headers?.length ?? 0) - (a.headers?.length ?? 0) ||
    Number(b.methods !== undefined) - Number(a.methods !== undefined) ||
    a.order - b.order
  )
}

function matchHost<R>(e: Entry<R>, host: string): boolean {
  if (e.hostExact?.has(host)) return true
  if (e.hostSuffixes)
    for (const s of e.hostSuffixes) if (host.endsWith(s) && host.length > s.length) return true
  return false
}

function matchHeaders(
  wanted: Array<[string, string[]]>,
  headers: Record<string, string | string[] | undefined>,
): boolean {
  for (const [name, values] of wanted) {
    const got = headers[name]
    if (got === undefined) return false
    const list = Array.isArray(got) ? got : [got]
    if (!list.some((v) => values.includes(v.toLowerCase()))) return false
  }
  return true
}

function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s)
  } catch {
    return s
  }
}
