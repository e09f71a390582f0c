import type { Problem } from './errors.js'

/** How a parameter is serialised (OpenAPI 3 § Style Values) and what its schema's type is. */
export interface ParamShape {
  in: 'path' | 'query' | 'header' | 'cookie'
  name: string
  style: string
  explode: boolean
  kind: 'array' | 'object' | 'primitive'
  /** Object schemas: their property names (for `form` + `explode`, each is its own query parameter). */
  properties: string[]
}

type Query = Readonly<Record<string, string | string[]>>

/** The style and explode OpenAPI gives a parameter when it names none. */
export function defaults(
  where: ParamShape['in'],
  style?: string,
  explode?: boolean,
): { style: string; explode: boolean } {
  const s = style ?? (where === 'query' || where === 'cookie' ? 'form' : 'simple')
  return { style: s, explode: explode ?? s === 'form' }
}

function splitPairs(parts: string[]): Record<string, string> {
  const out: Record<string, string> = {}
  for (let i = 0; i + 1 < parts.length; i += 2) out[parts[i] as string] = parts[i + 1] as string
  return out
}

function keyValues(parts: string[]): Record<string, string> {
  const out: Record<string, string> = {}
  for (const p of parts) {
    const eq = p.indexOf('=')
    if (eq > 0) out[p.slice(0, eq)] = p.slice(eq + 1)
  }
  return out
}

/** Splits one serialised value (path, header, cookie, or one query value) by the style's delimiter. */
function fromString(raw: string, p: ParamShape): unknown {
  let s = raw
  let sep = ','
  if (p.style === 'label') {
    s = s.startsWith('.') ? s.slice(1) : s
    if (p.explode) sep = '.'
  } else if (p.style === 'matrix') {
    const prefix = `;${p.name}=`
    if (p.kind !== 'object' && p.explode)
      return s
        .split(';')
        .filter(Boolean)
        .map((x) => x.slice(p.name.length + 1))
    s = s.startsWith(prefix) ? s.slice(prefix.length) : s.replace(/^;/, '')
    if (p.explode) sep = ';'
  } else if (p.style === 'spaceDelimited') sep = ' '
  else if (p.style === 'pipeDelimited') sep = '|'
  if (p.kind === 'primitive') return s
  const parts = s === '' ? [] : s.split(sep)
  if (p.kind === 'array') return parts
  return p.explode ? keyValues(parts) : splitPairs(parts)
}

/**
 * The parameter's value as the schema sees it (strings, arrays of strings, objects of strings: the
 * validator coerces them to the schema's types), or undefined when absent.
 */
export function readParam(
  p: ParamShape,
  source: {
    path: Record<string, string>
    query: Query
    headers: Readonly<Record<string, unknown>>
    cookies: () => Record<string, string>
  },
): unknown {
  switch (p.in) {
    case 'path': {
      const v = source.path[p.name]
      return v === undefined ? undefined : fromString(v, p)
    }
    case 'header': {
      const v = source.headers[p.name.toLowerCase()]
      if (v === undefined) return undefined
      return fromString(Array.isArray(v) ? v.join(',') : String(v), p)
    }
    case 'cookie': {
      const v = source.cookies()[p.name]
      return v === undefined ? undefined : fromString(v, p)
    }
    default:
      return readQuery(p, source.query)
  }
}

function readQuery(p: ParamShape, query: Query): unknown {
  if (p.style === 'deepObject') {
    const prefix = `${p.name}[`
    const out: Record<string, unknown> = {}
    let found = false
    for (const [k, v] of Object.entries(query)) {
      if (k.startsWith(prefix) && k.endsWith(']')) {
        out[k.slice(prefix.length, -1)] = v
        found = true
      }
    }
    return found ? out : undefined
  }
  if (p.kind === 'object' && p.style === 'form' && p.explode) {
    const out: Record<string, unknown> = {}
    let found = false
    for (const name of p.properties) {
      if (query[name] !== undefined) {
        out[name] = query[name]
        found = true
      }
    }
    return found ? out : undefined
  }
  const v = query[p.name]
  if (v === undefined) return undefined
  if (p.kind === 'array') {
    const values = Array.isArray(v) ? v : [v]
    if (p.style === 'form' && p.explode) return values
    return values.flatMap((x) => fromString(x, p) as string[])
  }
  if (p.kind === 'object') return fromString(Array.isArray(v) ? (v[0] as string) : v, p)
  return v
}

/** Cookies of a Cookie header (RFC 6265 §5.4). */
export function parseCookies(header: unknown): Record<string, string> {
  const out: Record<string, string> = {}
  if (typeof header !== 'string') return out
  for (const pair of header.split(';')) {
    const eq = pair.indexOf('=')
    if (eq > 0) {
      const name = pair.slice(0, eq).trim()
      if (!(name in out)) out[name] = pair.slice(eq + 1).trim()
    }
  }
  return out
}

/** ajv errors → problems for one parameter or the body. */
export function toProblems(
  where: Problem['in'],
  name: string | undefined,
  errors:
    | readonly { instancePath: string; message?: string; params?: Record<string, unknown> }[]
    | null
    | undefined,
): Problem[] {
  return (errors ?? []).map((e) => {
    const extra =
      e.params && 'allowedValues' in e.params ? ` (${(e.params.allowedValues as unknown[]).join(', ')})` : ''
    const missing = e.params && 'missingProperty' in e.params ? `/${String(e.params.missingProperty)}` : ''
    const problem: Problem = { in: where, message: `${e.message ?? 'is invalid'}${extra}` }
    if (name !== undefined) problem.name = name
    const pointer = `${e.instancePath}${missing}`
    if (where === 'body' || pointer !== '') problem.pointer = pointer
    return problem
  })
}
