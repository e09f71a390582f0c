import type { AccessContext, HeaderValue } from '@gatehousejs/sdk'
import { KeyDuplicate } from './errors.js'

/** Where the key was found, so `hideCredentials` removes it from the same place. */
export type KeySource = 'header' | 'query' | 'cookie' | 'body'

export interface FoundKey {
  readonly key: string
  readonly name: string
  readonly source: KeySource
}

export interface Lookup {
  readonly names: readonly string[]
  /** The same names in lower case, for headers. */
  readonly headerNames: readonly string[]
  readonly inHeader: boolean
  readonly inQuery: boolean
  readonly inCookie?: boolean
  readonly inBody: boolean
}

/**
 * The first key found, trying each name in order in a header, then the query, then a cookie, then the
 * body (Kong's order, with cookies added for OpenAPI's `apiKey` `in: cookie`). An empty value counts as absent; a key sent twice under one name is refused
 * (GH_KEY_AUTH_DUPLICATE), since a gateway and a backend could each read a different one.
 */
export function findKey(ctx: AccessContext, lookup: Lookup): FoundKey | undefined {
  const { request } = ctx
  for (let i = 0; i < lookup.names.length; i++) {
    const name = lookup.names[i]!
    if (lookup.inHeader) {
      const v = single(request.headers[lookup.headerNames[i]!])
      if (v !== undefined) return { key: v, name: lookup.headerNames[i]!, source: 'header' }
    }
    if (lookup.inQuery && request.querystring !== '') {
      const v = single(request.query[name])
      if (v !== undefined) return { key: v, name, source: 'query' }
    }
    if (lookup.inCookie) {
      const header = request.headers.cookie
      const v = typeof header === 'string' ? cookieValue(header, name) : undefined
      if (v !== undefined && v !== '') return { key: v, name, source: 'cookie' }
    }
    if (lookup.inBody) {
      const body = request.body
      if (body !== null && typeof body === 'object' && !Array.isArray(body)) {
        const raw = (body as Record<string, unknown>)[name]
        const v = typeof raw === 'string' || Array.isArray(raw) ? single(raw as HeaderValue) : undefined
        if (v !== undefined) return { key: v, name, source: 'body' }
      }
    }
  }
  return undefined
}

function single(value: HeaderValue): string | undefined {
  if (value === undefined) return undefined
  if (Array.isArray(value)) {
    const present = value.filter((v) => typeof v === 'string' && v !== '')
    if (present.length > 1) throw KeyDuplicate()
    return present[0]
  }
  return value === '' ? undefined : value
}

/** Removes the key from what goes upstream, where it was found. */
export function hideKey(ctx: AccessContext, found: FoundKey): void {
  const up = ctx.upstream
  if (found.source === 'header') {
    delete up.headers[found.name]
  } else if (found.source === 'query') {
    up.querystring = withoutParam(up.querystring, found.name)
  } else if (found.source === 'cookie') {
    const rest = String(up.headers.cookie ?? '')
      .split(';')
      .filter((pair) => pair.slice(0, pair.indexOf('=')).trim() !== found.name)
      .join(';')
      .trim()
    if (rest === '') delete up.headers.cookie
    else up.headers.cookie = rest
  } else {
    const body = { ...(ctx.request.body as Record<string, unknown>) }
    delete body[found.name]
    up.body = body
  }
}

/** The query string without any `name=` pair; other pairs keep their exact encoding and order. */
export function withoutParam(querystring: string, name: string): string {
  if (querystring === '') return querystring
  return querystring
    .split('&')
    .filter((pair) => {
      const eq = pair.indexOf('=')
      const raw = eq < 0 ? pair : pair.slice(0, eq)
      return decode(raw) !== name
    })
    .join('&')
}

function decode(s: string): string {
  try {
    return decodeURIComponent(s.replace(/\+/g, ' '))
  } catch {
    return s
  }
}

/** One cookie's value from a Cookie header (RFC 6265 §5.4), without building a map of all of them. */
function cookieValue(header: string, name: string): string | undefined {
  for (const pair of header.split(';')) {
    const eq = pair.indexOf('=')
    if (eq > 0 && pair.slice(0, eq).trim() === name) {
      const value = pair.slice(eq + 1).trim()
      return value.startsWith('"') && value.endsWith('"') ? value.slice(1, -1) : value
    }
  }
  return undefined
}
