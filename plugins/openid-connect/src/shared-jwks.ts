import { createHash } from 'node:crypto'
import type { Logger } from '@gatehousejs/sdk'
import { createLocalJWKSet, type JSONWebKeySet, type JWTVerifyGetKey, errors as joseErrors } from 'jose'
import type { OidcStore } from './store.js'

export interface SharedJwksOptions {
  url: URL
  store: OidcStore
  /** How long a fetched document is shared (ms). */
  ttl: number
  /** Least time between two fetches caused by an unknown `kid` (ms). */
  cooldown: number
  timeout: number
  log: Logger
}

/**
 * The provider's JWKS shared by a fleet through Redis: a node uses its copy for `ttl`, then the one in
 * Redis, and fetches from the provider only when Redis has none (or a token names a `kid` that no copy
 * has, at most once per `cooldown`), writing what it fetched back for the others. Redis is only an
 * optimisation here: when it fails, the node fetches itself.
 */
export class SharedJwks {
  private local: { keys: JWTVerifyGetKey; doc: JSONWebKeySet; until: number } | undefined
  private lastFetch = Number.NEGATIVE_INFINITY
  private pending: Promise<JSONWebKeySet> | undefined
  private readonly key: string

  constructor(private readonly o: SharedJwksOptions) {
    this.key = `jwks:${createHash('sha256').update(o.url.href).digest('base64url').slice(0, 22)}`
  }

  readonly getKey: JWTVerifyGetKey = async (header, token) => {
    let local = this.local
    if (local === undefined || local.until <= Date.now()) local = await this.load(false)
    try {
      return await local.keys(header, token)
    } catch (err) {
      if (!(err instanceof joseErrors.JWKSNoMatchingKey)) throw err
      // A rotated-in key: another node may have it already, else the provider (cooldown-bounded).
      const shared = await this.fromStore()
      if (shared !== undefined && JSON.stringify(shared) !== JSON.stringify(local.doc)) {
        local = this.use(shared)
        try {
          return await local.keys(header, token)
        } catch {}
      }
      if (Date.now() - this.lastFetch < this.o.cooldown) throw err
      local = await this.load(true)
      return local.keys(header, token)
    }
  }

  private use(doc: JSONWebKeySet) {
    this.local = { keys: createLocalJWKSet(doc), doc, until: Date.now() + this.o.ttl }
    return this.local
  }

  private async load(skipStore: boolean) {
    if (!skipStore) {
      const shared = await this.fromStore()
      if (shared !== undefined) return this.use(shared)
    }
    this.pending ??= this.fetch().finally(() => {
      this.pending = undefined
    })
    return this.use(await this.pending)
  }

  private async fromStore(): Promise<JSONWebKeySet | undefined> {
    try {
      const raw = await this.o.store.get(this.key)
      const doc = raw === undefined ? undefined : (JSON.parse(raw) as JSONWebKeySet)
      return Array.isArray(doc?.keys) ? doc : undefined
    } catch {
      return undefined
    }
  }

  private async fetch(): Promise<JSONWebKeySet> {
    this.lastFetch = Date.now()
    let res: Response
    try {
      res = await fetch(this.o.url, {
        headers: { accept: 'application/json, application/jwk-set+json' },
        signal: AbortSignal.timeout(this.o.timeout),
        redirect: 'manual',
      })
    } catch (err) {
      throw new joseErrors.JWKSTimeout(`JWKS fetch failed: ${(err as Error).message}`)
    }
    if (res.status !== 200) {
      const e = new joseErrors.JOSEError(`JWKS answered ${res.status}`)
      Object.assign(e, { status: res.status })
      throw e
    }
    const doc = (await res.json().catch(() => undefined)) as JSONWebKeySet | undefined
    if (!Array.isArray(doc?.keys)) throw new joseErrors.JWKSInvalid('JWKS is not a key set')
    await this.o.store.set(this.key, JSON.stringify(doc), this.o.ttl).catch((err: unknown) => {
      this.o.log.debug({ err }, 'openid-connect: JWKS not shared (redis)')
    })
    return doc
  }
}
