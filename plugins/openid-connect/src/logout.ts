import { createHash } from 'node:crypto'
import type { AccessContext } from '@gatehousejs/sdk'
import { type JWTVerifyGetKey, errors as joseErrors, jwtVerify } from 'jose'
import type * as oidc from 'openid-client'
import { OidcLogoutTokenInvalid } from './errors.js'
import { isUnreachable, unavailable } from './provider.js'
import type { Sessions } from './sessions.js'
import type { OidcStore } from './store.js'

/** Back-Channel Logout 1.0 §2.4: the `events` member that makes a JWT a logout token. */
const LOGOUT_EVENT = 'http://schemas.openid.net/event/backchannel-logout'

export interface BackchannelOptions {
  clientId: string
  /** Tolerance on `iat`/`exp`, ms. */
  clockSkew: number
  /** How long a used `jti` is remembered (the longest session), ms. */
  replayWindow: number
  keys: (config: oidc.Configuration) => JWTVerifyGetKey
  store: OidcStore
  sessions: Sessions
}

/**
 * The back-channel logout endpoint (OpenID Connect Back-Channel Logout 1.0 §2.5–2.8): the provider
 * POSTs `logout_token` as a form. The token is validated as §2.6 says (signature by the provider's
 * keys, `iss`, `aud`, `iat`, the logout event, `sid` and/or `sub`, no `nonce`, a `jti` never seen
 * before), then the sessions it names end. 200 with `Cache-Control: no-store`; 400 otherwise.
 */
export async function backchannelLogout(
  ctx: AccessContext,
  config: oidc.Configuration,
  o: BackchannelOptions,
): Promise<void> {
  if (ctx.request.method !== 'POST')
    throw OidcLogoutTokenInvalid('The logout token must be POSTed').withHeaders({ allow: 'POST' })
  const form = (await ctx.readBody()) as Record<string, unknown> | undefined
  const token = typeof form === 'object' && form !== null ? form.logout_token : undefined
  if (typeof token !== 'string' || token === '')
    throw OidcLogoutTokenInvalid('A form field "logout_token" is required')
  const claims = await verify(token, config, o)
  const events = claims.events as Record<string, unknown> | undefined
  const event = typeof events === 'object' && events !== null ? events[LOGOUT_EVENT] : undefined
  if (typeof event !== 'object' || event === null || Array.isArray(event))
    throw OidcLogoutTokenInvalid('The logout token lacks the back-channel logout event')
  if ('nonce' in claims) throw OidcLogoutTokenInvalid('A logout token must not carry "nonce"')
  const sid = typeof claims.sid === 'string' && claims.sid !== '' ? claims.sid : undefined
  const sub = typeof claims.sub === 'string' && claims.sub !== '' ? claims.sub : undefined
  if (sid === undefined && sub === undefined)
    throw OidcLogoutTokenInvalid('The logout token names neither "sid" nor "sub"')
  if (typeof claims.jti !== 'string' || claims.jti === '')
    throw OidcLogoutTokenInvalid('The logout token has no "jti"')
  // §2.6 step 8 (optional, done): a logout token is used once. Keyed by issuer and jti.
  const jtiKey = `jti:${createHash('sha256').update(`${claims.iss}\n${claims.jti}`).digest('base64url')}`
  if (!(await firstUse(o, jtiKey))) throw OidcLogoutTokenInvalid('The logout token was already used')
  await o.sessions.endBy(sid, sub)
  ctx.respond(200, undefined, { 'cache-control': 'no-store' })
}

async function firstUse(o: BackchannelOptions, key: string): Promise<boolean> {
  try {
    return await o.store.claim(key, o.replayWindow)
  } catch (err) {
    // Fail closed, as session lookups do: a replay cannot be ruled out.
    throw unavailable(err)
  }
}

async function verify(
  token: string,
  config: oidc.Configuration,
  o: BackchannelOptions,
): Promise<Record<string, unknown>> {
  const meta = config.serverMetadata()
  try {
    const { payload } = await jwtVerify(token, o.keys(config), {
      issuer: meta.issuer,
      audience: o.clientId,
      requiredClaims: ['iat', 'jti', 'events'],
      clockTolerance: Math.round(o.clockSkew / 1000),
    })
    return payload
  } catch (err) {
    if (err instanceof joseErrors.JWTClaimValidationFailed)
      throw OidcLogoutTokenInvalid(`The logout token "${err.claim}" claim is not accepted`)
    if (err instanceof joseErrors.JWTExpired) throw OidcLogoutTokenInvalid('The logout token has expired')
    if (err instanceof joseErrors.JWSSignatureVerificationFailed)
      throw OidcLogoutTokenInvalid('The logout token signature is invalid')
    if (err instanceof joseErrors.JWKSNoMatchingKey)
      throw OidcLogoutTokenInvalid('The logout token was signed with an unknown key')
    if (err instanceof joseErrors.JWKSTimeout || isUnreachable(err)) throw unavailable(err)
    if (err instanceof joseErrors.JOSEError && err.code === 'ERR_JOSE_GENERIC') throw unavailable(err)
    throw OidcLogoutTokenInvalid('The logout token is not a well-formed JWT')
  }
}
