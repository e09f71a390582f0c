import type { ConsumerRecord, Logger } from '@gatehousejs/sdk'
import { algorithmsForJwk, buildVerifier, type ClaimOptions, importJwk, type VerifyKey } from './keys.js'
import { ALGORITHMS, type Algorithm } from './schema.js'
import type { SharedKeySet, SharedKeySetStore } from './shared-store.js'

export interface KeySetOptions {
  readonly url: string
  readonly issuer: string | undefined
  readonly algorithms: readonly Algorithm[] | undefined
  readonly consumer: ConsumerRecord | undefined
  /** Least time between two fetches caused by an unknown `kid`. */
  readonly refreshInterval: number
  /** Lifetime of a key set whose response has no Cache-Control max-age. */
  readonly cacheTtl: number
  readonly maxTtl: number
  readonly timeout: number
  readonly claims: ClaimOptions
  readonly store: SharedKeySetStore | undefined
  readonly log: Logger
}

/** A JWKS key ready to verify, by `kid` (keys without one are tried in turn). */
export interface KeySetKey {
  readonly kid: string | undefined
  readonly key: VerifyKey
}

/** A key set response is small; a larger one is refused rather than buffered. */
const MAX_JWKS_BYTES = 512 * 1024
/** A key set is kept at least this long, whatever its Cache-Control says, so it is not refetched per request. */
const MIN_TTL = 1000
/** After a failed fetch with no key set at all, requests wait this long before the next attempt. */
const RETRY_AFTER_FAILURE = 1000
/** RSA keys without `alg`: RS256 only unless `algorithms` says otherwise (RFC 7518 §3.1: the REQUIRED one). */
const RSA_DEFAULT: readonly Algorithm[] = ['RS256']

/** Milliseconds from `Cache-Control: max-age` / `s-maxage` (RFC 9111 §5.2.2), undefined when absent. */
export function maxAgeOf(cacheControl: string | null): number | undefined {
  if (!cacheControl) return undefined
  if (/(^|,)\s*(no-store|no-cache)\b/i.test(cacheControl)) return 0
  const m = /(?:^|,)\s*(?:s-maxage|max-age)\s*=\s*"?(\d+)"?/i.exec(cacheControl)
  return m ? Number(m[1]) * 1000 : undefined
}

/**
 * One JSON Web Key Set fetched over HTTP. Keys are imported and their verifiers built when a set
 * arrives, never per request. The set is refetched:
 * - when it expires (Cache-Control max-age, else `jwksCacheTtl`): the next request waits for the new
 *   set (one fetch for all of them); if the fetch fails the old keys stay in use and it is retried
 *   after `refreshInterval`, so an identity provider outage does not log everyone out;
 * - when a token names a `kid` the set lacks, at most once per `refreshInterval`: a key the provider
 *   just added works at once (rotation without a failed request), and random `kid`s cannot make the
 *   gateway hammer the provider.
 * With a Redis store, a node first looks for a newer copy another node fetched, and shares what it fetches.
 */
export class KeySet {
  private keys: KeySetKey[] = []
  private loaded = false
  private fetchedAt = 0
  private expiresAt = 0
  private lastUnknownKidRefresh = Number.NEGATIVE_INFINITY
  private lastFailure = Number.NEGATIVE_INFINITY
  private inflight: Promise<void> | undefined
  /** Verifiers by JWK content, so a refetched set rebuilds only the keys that changed. */
  private built = new Map<string, VerifyKey | null>()

  constructor(readonly options: KeySetOptions) {}

  /** Whether this set serves a token with this `iss`. */
  serves(iss: string | undefined): boolean {
    return this.options.issuer === undefined || this.options.issuer === iss
  }

  /**
   * The keys for `kid` (all keys when the token has none): synchronously when the set is fresh, or a
   * promise when it must be (re)fetched first. Rejects with `unavailable` only when no set was ever loaded.
   */
  find(kid: string | undefined): KeySetKey[] | Promise<KeySetKey[]> {
    const now = Date.now()
    if (!this.loaded || now >= this.expiresAt) {
      if (!this.loaded && now - this.lastFailure < RETRY_AFTER_FAILURE) return []
      return this.refresh(kid).then(() => this.match(kid))
    }
    const found = this.match(kid)
    if (found.length > 0 || kid === undefined) return found
    if (now - this.lastUnknownKidRefresh < this.options.refreshInterval) return found
    this.lastUnknownKidRefresh = now
    return this.refresh(kid).then(() => this.match(kid))
  }

  /** Whether any key set was ever loaded (else the caller answers 503 rather than "unknown key"). */
  get available(): boolean {
    return this.loaded
  }

  private match(kid: string | undefined): KeySetKey[] {
    return kid === undefined ? this.keys : this.keys.filter((k) => k.kid === kid)
  }

  /** One refresh at a time: concurrent requests share it. Never rejects. */
  refresh(kid?: string): Promise<void> {
    if (!this.inflight) {
      this.inflight = this.load(kid).finally(() => {
        this.inflight = undefined
      })
    }
    return this.inflight
  }

  private async load(kid: string | undefined): Promise<void> {
    const { store, url, log } = this.options
    if (store) {
      const shared = await store.get(url)
      if (shared && shared.fetchedAt > this.fetchedAt && shared.expiresAt > Date.now()) {
        this.apply(shared)
        log.debug({ url, keys: this.keys.length }, 'jwks taken from the redis store')
        // A newer shared set is enough unless it still lacks the kid we are looking for.
        if (kid === undefined || this.match(kid).length > 0) return
      }
    }
    try {
      const fetched = await this.fetch()
      this.apply(fetched)
      log.debug({ url, keys: this.keys.length }, 'jwks fetched')
      if (store) await store.set(url, fetched)
    } catch (err) {
      this.lastFailure = Date.now()
      if (this.loaded) {
        // Keep the keys we have; try again after the refresh interval rather than on every request.
        this.expiresAt = Date.now() + this.options.refreshInterval
        log.warn({ err, url }, 'jwks refresh failed: keeping the previous keys')
      } else {
        log.warn({ err, url }, 'jwks fetch failed')
      }
    }
  }

  private async fetch(): Promise<SharedKeySet> {
    const { url, timeout, cacheTtl, maxTtl } = this.options
    const res = await fetch(url, {
      headers: { accept: 'application/jwk-set+json, application/json' },
      signal: AbortSignal.timeout(timeout),
      redirect: 'error',
    })
    if (!res.ok) throw new Error(`GET ${url} answered ${res.status}`)
    const length = Number(res.headers.get('content-length') ?? 0)
    if (length > MAX_JWKS_BYTES) throw new Error(`GET ${url}: key set of ${length} bytes is too large`)
    const text = await res.text()
    if (text.length > MAX_JWKS_BYTES) throw new Error(`GET ${url}: key set is too large`)
    const jwks = JSON.parse(text) as { keys?: unknown }
    if (!jwks || !Array.isArray(jwks.keys)) throw new Error(`GET ${url}: not a JWK Set (no "keys" array)`)
    const maxAge = maxAgeOf(res.headers.get('cache-control'))
    const ttl = Math.min(Math.max(maxAge ?? cacheTtl, MIN_TTL), maxTtl)
    const now = Date.now()
    return { jwks: { keys: jwks.keys as Record<string, unknown>[] }, fetchedAt: now, expiresAt: now + ttl }
  }

  private apply(set: SharedKeySet): void {
    const built = new Map<string, VerifyKey | null>()
    const keys: KeySetKey[] = []
    for (const jwk of set.jwks.keys) {
      const id = JSON.stringify(jwk)
      let key = this.built.get(id)
      if (key === undefined) key = this.importKey(jwk)
      built.set(id, key)
      if (key) keys.push({ kid: typeof jwk.kid === 'string' ? jwk.kid : undefined, key })
    }
    this.built = built
    this.keys = keys
    this.loaded = true
    this.fetchedAt = set.fetchedAt
    this.expiresAt = set.expiresAt
  }

  /** A signing key of the set, or null (logged) when it is not one this plugin can or may use. */
  private importKey(jwk: Record<string, unknown>): VerifyKey | null {
    const { log, url } = this.options
    const kid = jwk.kid
    if (jwk.use !== undefined && jwk.use !== 'sig') return null
    // Symmetric keys are never taken from a URL: anyone able to read the set could sign tokens.
    if (jwk.kty === 'oct') {
      log.warn({ url, kid }, 'jwks: ignoring a symmetric ("oct") key')
      return null
    }
    let algorithms: Algorithm[]
    if (typeof jwk.alg === 'string') {
      if (!(ALGORITHMS as readonly string[]).includes(jwk.alg)) return null
      algorithms = [jwk.alg as Algorithm]
    } else {
      const fits = algorithmsForJwk(jwk)
      const allowed = this.options.algorithms ?? (jwk.kty === 'RSA' ? RSA_DEFAULT : fits)
      algorithms = fits.filter((a) => allowed.includes(a))
    }
    if (this.options.algorithms) algorithms = algorithms.filter((a) => this.options.algorithms?.includes(a))
    const first = algorithms[0]
    if (!first) {
      log.warn({ url, kid }, 'jwks: ignoring a key with no allowed algorithm')
      return null
    }
    try {
      return buildVerifier(importJwk(jwk, first), algorithms, this.options.claims)
    } catch (err) {
      log.warn({ url, kid, err }, 'jwks: ignoring a key that cannot be imported')
      return null
    }
  }
}
