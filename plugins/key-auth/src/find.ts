import type { AccessContext, HeaderValue } from '@gatehousejs/sdk'
import { KeyDuplicate } from './errors.js'

/** Where the key was found, so `hideCredentials` removes it from the same place. */
export type KeySource = 'header' | 'query' | 'body'

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
  readonly inBody: boolean
}

/**
 * The first key found, trying each name in order in a header, then the query, then the body (Kong's
 * order). An empty value counts as absent; a key sent twice under one name is refused
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
