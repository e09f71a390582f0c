import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes } from 'node:crypto'
import type { Logger } from '@gatehousejs/sdk'
import { createRemoteJWKSet, type JWTVerifyGetKey, errors as joseErrors, jwtVerify } from 'jose'
import * as oidc from 'openid-client'
import type { Claims } from './claims.js'
import { OidcTokenExpired, OidcTokenInvalid } from './errors.js'
import { isUnreachable, type Provider, unavailable } from './provider.js'
import { SharedJwks } from './shared-jwks.js'
import type { OidcStore } from './store.js'

export interface BearerOptions {
  audience: readonly string[]
  introspection: boolean
  cacheTtl: number
  cacheSize: number
  jwksCooldown: number
  timeout: number
  clockSkew: number
  /** With `redis`: introspection answers and JWKS shared by the fleet. */
  shared: OidcStore | undefined
  jwksTtl: number
  log: Logger
}

/** A compact JWS: three base64url parts, the signature non-empty (an unsigned token is not one). */
const JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/

/**
 * Verifies access tokens. A JWT (RFC 9068) is verified locally against the provider's JWKS (jose's
 * remote key set: cached, refetched on an unknown `kid` at most once per `jwksCooldown`, so a key the
 * provider rotates in works at once). Anything else is opaque and asked of the introspection endpoint
 * (RFC 7662), whose answers are cached by SHA-256 of the token, never past the token's `exp` nor
 * `introspectionCacheTtl`, at most `introspectionCacheSize` of them (the oldest go first).
 */
export class BearerVerifier {
  private jwks: JWTVerifyGetKey | undefined
  private readonly cache = new Map<string, { claims: Claims | undefined; until: number }>()

  constructor(
    private readonly provider: Provider,
    private readonly options: BearerOptions,
  ) {}

  async verify(token: string): Promise<Claims> {
    const config = await this.provider.get()
    if (JWS.test(token)) return this.verifyJwt(token, config)
    if (!this.options.introspection || config.serverMetadata().introspection_endpoint === undefined)
      throw OidcTokenInvalid('The token is not a JWT and cannot be introspected')
    return this.introspect(token, config)
  }

  /** The provider's keys: jose's remote key set, or with `redis` the fleet's shared copy. */
  keys(config: oidc.Configuration): JWTVerifyGetKey {
    const meta = config.serverMetadata()
    if (meta.jwks_uri === undefined) throw OidcTokenInvalid('The provider publishes no keys')
    const { shared, jwksCooldown, timeout, jwksTtl, log } = this.options
    this.jwks ??=
      shared === undefined
        ? createRemoteJWKSet(new URL(meta.jwks_uri), {
            cooldownDuration: jwksCooldown,
            timeoutDuration: timeout,
          })
        : new SharedJwks({
            url: new URL(meta.jwks_uri),
            store: shared,
            ttl: jwksTtl,
            cooldown: jwksCooldown,
            timeout,
            log,
          }).getKey
    return this.jwks
  }

  private async verifyJwt(token: string, config: oidc.Configuration): Promise<Claims> {
    const meta = config.serverMetadata()
    const keys = this.keys(config)
    try {
      const { payload } = await jwtVerify(token, keys, {
        issuer: meta.issuer,
        audience: [...this.options.audience],
        clockTolerance: Math.round(this.options.clockSkew / 1000),
      })
      return payload
    } catch (err) {
      throw jwtError(err)
    }
  }

  private async introspect(token: string, config: oidc.Configuration): Promise<Claims> {
    const key = createHash('sha256').update(token).digest('base64url')
    const now = Date.now()
    const hit = this.cache.get(key) ?? (await this.sharedHit(key, token))
    if (hit !== undefined) {
      if (hit.until > now) {
        if (hit.claims === undefined) throw OidcTokenInvalid('The token is not active')
        return hit.claims
      }
      this.cache.delete(key)
    }
    let answer: oidc.IntrospectionResponse
    try {
      answer = await oidc.tokenIntrospection(config, token)
    } catch (err) {
      if (isUnreachable(err)) {
        this.options.log.warn({ err }, 'openid-connect: introspection failed')
        throw unavailable(err)
      }
      throw OidcTokenInvalid('The token could not be introspected')
    }
    const exp = typeof answer.exp === 'number' ? answer.exp * 1000 : Number.POSITIVE_INFINITY
    const active = answer.active === true && exp > now
    // RFC 7662 §4: a token that is not active stays so; caching that answer spares the provider floods.
    await this.remember(
      key,
      token,
      active ? (answer as Claims) : undefined,
      Math.min(now + this.options.cacheTtl, active ? exp : Number.POSITIVE_INFINITY),
    )
    if (!active) throw OidcTokenInvalid('The token is not active')
    if (
      answer.token_type !== undefined &&
      !/^bearer$/i.test(answer.token_type) &&
      answer.token_type !== 'access_token'
    )
      throw OidcTokenInvalid('The token is not an access token')
    return answer as Claims
  }

  /** An answer another node cached in Redis; a Redis failure reads as none (the provider is asked). */
  private async sharedHit(
    key: string,
    token: string,
  ): Promise<{ claims: Claims | undefined; until: number } | undefined> {
    const shared = this.options.shared
    if (shared === undefined) return undefined
    try {
      const raw = await shared.get(`intro:${key}`)
      if (raw === undefined) return undefined
      const hit = JSON.parse(openWithToken(token, key, raw)) as { claims: Claims | null; until: number }
      if (typeof hit.until !== 'number') return undefined
      return { claims: hit.claims ?? undefined, until: hit.until }
    } catch (err) {
      this.options.log.debug({ err }, 'openid-connect: shared introspection cache unavailable')
      return undefined
    }
  }

  private async remember(
    key: string,
    token: string,
    claims: Claims | undefined,
    until: number,
  ): Promise<void> {
    const shared = this.options.shared
    if (shared !== undefined && this.options.cacheSize > 0) {
      const value = sealWithToken(token, key, JSON.stringify({ claims: claims ?? null, until }))
      // Bounded by redis.timeout; a failure only means the other nodes ask the provider themselves.
      await shared
        .set(`intro:${key}`, value, until - Date.now())
        .catch((err: unknown) => this.options.log.debug({ err }, 'openid-connect: introspection not shared'))
    }
    if (this.options.cacheSize === 0) return
    if (this.cache.size >= this.options.cacheSize) {
      const oldest = this.cache.keys().next()
      if (!oldest.done) this.cache.delete(oldest.value)
    }
    this.cache.set(key, { claims, until })
  }
}

/**
 * The shared introspection cache is encrypted at rest with a key only the token's holder can derive
 * (HKDF of the token, RFC 5869; AES-256-GCM, the entry's key as additional data): Redis, keyed by
 * the token's SHA-256, holds neither the token nor its claims, and an entry changed there does not
 * open (the node then asks the provider).
 */
function tokenKey(token: string): Buffer {
  return Buffer.from(hkdfSync('sha256', token, 'gatehouse', 'openid-connect introspection cache', 32))
}

function sealWithToken(token: string, id: string, plain: string): string {
  const iv = randomBytes(12)
  const cipher = createCipheriv('aes-256-gcm', tokenKey(token), iv).setAAD(Buffer.from(id))
  const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()])
  return Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64url')
}

/** Throws when the entry does not open (changed, or not sealed for this token). */
function openWithToken(token: string, id: string, sealed: string): string {
  const raw = Buffer.from(sealed, 'base64url')
  const decipher = createDecipheriv('aes-256-gcm', tokenKey(token), raw.subarray(0, 12))
    .setAAD(Buffer.from(id))
    .setAuthTag(raw.subarray(12, 28))
  return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8')
}

/** jose's verdict as our error: expired, unavailable keys (503), or invalid with the reason. */
function jwtError(err: unknown): Error {
  if (err instanceof joseErrors.JWTExpired) return OidcTokenExpired()
  if (err instanceof joseErrors.JWTClaimValidationFailed)
    return OidcTokenInvalid(`The token "${err.claim}" claim is not accepted`)
  if (err instanceof joseErrors.JWSSignatureVerificationFailed)
    return OidcTokenInvalid('The token signature is invalid')
  if (err instanceof joseErrors.JWKSNoMatchingKey)
    return OidcTokenInvalid('The token was signed with an unknown key')
  if (err instanceof joseErrors.JWKSTimeout || isUnreachable(err)) return unavailable(err)
  if (err instanceof joseErrors.JOSEError && err.code === 'ERR_JOSE_GENERIC') return unavailable(err)
  return OidcTokenInvalid('The token is not a well-formed JWT')
}
