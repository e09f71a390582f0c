import { createHash } from 'node:crypto'
import type { AccessContext } from '@gatehousejs/sdk'
import type { KeySource } from './schema.js'

/** Identifiers longer than this are hashed, so a huge header value cannot make a huge key. */
const MAX_PART = 128

/** What a key is made from: the request as `access` sees it, whatever the instance's state type. */
type KeyContext = Pick<AccessContext, 'client' | 'consumer' | 'credential' | 'request' | 'route' | 'service'>
type KeyPart = (ctx: KeyContext) => string

/**
 * The client IP, as core resolved it: the connection's peer, or, behind proxies listed in the gateway's
 * `trustProxy`, the first untrusted address of X-Forwarded-For. A client that invents X-Forwarded-For
 * values therefore never changes its key.
 */
const ip: KeyPart = (ctx) => `ip:${ctx.client.ip}`

function part(source: KeySource, header: string | undefined): KeyPart {
  switch (source) {
    // Kong's rule: an identity that is absent (no consumer yet, no credential, no header) falls back to the IP.
    case 'consumer':
      return (ctx) => (ctx.consumer ? `consumer:${ctx.consumer.id}` : ip(ctx))
    case 'credential':
      return (ctx) => (ctx.credential ? `credential:${ctx.credential.plugin}:${ctx.credential.id}` : ip(ctx))
    case 'header':
      return (ctx) => {
        const value = header ? ctx.request.headers[header] : undefined
        const text = Array.isArray(value) ? value.join(',') : value
        return text ? `header:${text}` : ip(ctx)
      }
    case 'path':
      return (ctx) => `path:${ctx.request.path}`
    case 'service':
      return (ctx) => `service:${ctx.service.name}`
    case 'route':
      return (ctx) => `route:${ctx.route.name}`
    case 'ip':
      return ip
  }
}

function safe(text: string): string {
  // Encoded, so a value cannot forge a separator or a Redis hash tag (`{`, `}`).
  const encoded = encodeURIComponent(text)
  return encoded.length <= MAX_PART
    ? encoded
    : `sha256:${createHash('sha256').update(text).digest('base64url')}`
}

/** Builds, once at `init`, the function that names a request's counter: `<namespace>|<part>|<part>…`. */
export function keyBuilder(namespace: string, sources: readonly KeySource[], header: string | undefined) {
  const parts = sources.map((s) => part(s, header))
  const prefix = safe(namespace)
  if (parts.length === 1) {
    const only = parts[0]!
    return (ctx: KeyContext) => `${prefix}|${safe(only(ctx))}`
  }
  return (ctx: KeyContext) => `${prefix}|${parts.map((p) => safe(p(ctx))).join('|')}`
}
