import { timingSafeEqual } from 'node:crypto'
import type { AccessContext } from '@gatehousejs/sdk'
import { PurgeForbidden, PurgeUnauthorized } from './errors.js'
import type { PurgeSpec } from './store.js'

/**
 * Authorises an HTTP purge: `Authorization: Bearer <purge.token>` (compared in constant time), or a
 * consumer identified by an auth plugin in one of `purge.groups`. Throws 401/403 otherwise.
 */
export function authorisePurge(
  ctx: AccessContext,
  token: Buffer | undefined,
  groups: ReadonlySet<string>,
): void {
  if (token !== undefined) {
    const auth = ctx.request.headers.authorization
    if (typeof auth === 'string' && auth.slice(0, 7).toLowerCase() === 'bearer ') {
      const given = Buffer.from(auth.slice(7).trim())
      if (given.length === token.length && timingSafeEqual(given, token)) return
    }
  }
  const consumer = ctx.consumer
  if (consumer?.groups.some((g) => groups.has(g))) return
  if (consumer !== undefined) throw PurgeForbidden()
  throw token !== undefined
    ? PurgeUnauthorized().withHeaders({ 'www-authenticate': 'Bearer realm="cache purge"' })
    : PurgeUnauthorized()
}

/** The purge an admin `POST /purge` body asks for, or `undefined` when it names nothing. */
export function purgeSpecOf(body: unknown): PurgeSpec | undefined {
  if (body === null || typeof body !== 'object') return undefined
  const b = body as Record<string, unknown>
  if (typeof b.key === 'string' && b.key !== '') return { key: b.key }
  if (typeof b.url === 'string' && b.url !== '') return { url: b.url }
  if (typeof b.prefix === 'string' && b.prefix.startsWith('/')) {
    return typeof b.host === 'string' ? { prefix: b.prefix, host: b.host } : { prefix: b.prefix }
  }
  if (typeof b.tag === 'string' && b.tag !== '') return { tag: b.tag }
  if (Array.isArray(b.tag) && b.tag.length > 0 && b.tag.every((t) => typeof t === 'string')) {
    return { tag: b.tag as string[] }
  }
  if (b.all === true) return { all: true }
  return undefined
}
