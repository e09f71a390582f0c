import { defineError, type GatehouseError } from '@gatehousejs/sdk'

/**
 * Every error this plugin sends to a client, each with a row in the README and in docs/errors.md.
 * Tokens: 401 (RFC 6750 §3.1 `invalid_token`), 403 for a valid token that lacks a scope or fails a
 * claim rule (`insufficient_scope`). Browser flow: 400 for a callback that is not ours (forged or
 * replayed `state`), 401 for a session that is gone. 503 whenever the provider cannot be reached:
 * the client cannot fix that, and must not be told its credentials are wrong.
 */

/** 401: no bearer token and no session (API requests, or `unauthenticated: deny`). */
export const OidcMissing = defineError('GH_OIDC_MISSING', 401, 'Authentication is required')
/** 400: a bearer token longer than `maxTokenLength`. */
export const OidcTokenTooLarge = defineError('GH_OIDC_TOKEN_TOO_LARGE', 400, 'The bearer token is too large')
/** 401: bad signature, unknown key, malformed, wrong issuer or audience, or inactive at introspection. */
export const OidcTokenInvalid = defineError(
  'GH_OIDC_TOKEN_INVALID',
  401,
  (why: string = 'The token is invalid') => why,
)
/** 401: `exp` has passed. */
export const OidcTokenExpired = defineError('GH_OIDC_TOKEN_EXPIRED', 401, 'The token has expired')
/** 403: the token lacks one of the required `scopes`. */
export const OidcInsufficientScope = defineError(
  'GH_OIDC_INSUFFICIENT_SCOPE',
  403,
  'The token lacks a required scope',
)
/** 403: a `claims` rule refused the token's claims. */
export const OidcClaimRejected = defineError(
  'GH_OIDC_CLAIM_REJECTED',
  403,
  'The token claims do not allow this request',
)
/** 401: `consumerRequired` and the consumer claim names no configured consumer, or cannot be a consumer id. */
export const OidcUnknownConsumer = defineError(
  'GH_OIDC_UNKNOWN_CONSUMER',
  401,
  'The token does not name a known consumer',
)
/** 401: the session cookie cannot be decrypted or read (tampered, truncated, another key). */
export const OidcSessionInvalid = defineError('GH_OIDC_SESSION_INVALID', 401, 'The session cookie is invalid')
/** 401: the session passed its idle or absolute timeout, or could not be refreshed. */
export const OidcSessionExpired = defineError('GH_OIDC_SESSION_EXPIRED', 401, 'The session has expired')
/** 400: a callback whose `state` matches no login started by this browser (forged or replayed). */
export const OidcStateInvalid = defineError(
  'GH_OIDC_STATE_INVALID',
  400,
  'The login callback does not match a login in progress',
)
/** 400: the provider refused the code, or the ID token failed its checks (nonce, issuer, audience). */
export const OidcCallbackInvalid = defineError(
  'GH_OIDC_CALLBACK_INVALID',
  400,
  (why: string = 'The login could not be completed') => why,
)
/** 401: the provider answered the login with an error (the user refused consent, …). */
export const OidcLoginFailed = defineError(
  'GH_OIDC_LOGIN_FAILED',
  401,
  (error: string) => `The provider refused the login: ${error}`,
)
/** 503: the provider (discovery, JWKS, token or introspection endpoint) cannot be reached. */
export const OidcProviderUnavailable = defineError(
  'GH_OIDC_PROVIDER_UNAVAILABLE',
  503,
  'The identity provider is unavailable; try again later',
)

/** 400: a back-channel logout request without a valid `logout_token` (Back-Channel Logout 1.0 §2.8). */
export const OidcLogoutTokenInvalid = defineError(
  'GH_OIDC_LOGOUT_TOKEN_INVALID',
  400,
  (why: string = 'The logout token is invalid') => why,
)
/** 400: a front-channel logout request whose `iss` or `sid` does not match (Front-Channel Logout 1.0 §3). */
export const OidcLogoutRequestInvalid = defineError(
  'GH_OIDC_LOGOUT_REQUEST_INVALID',
  400,
  (why: string = 'The logout request does not match this provider or session') => why,
)
/** RFC 6750 §3: a quoted-string may not hold `"` or `\`, nor control characters. */
function quoted(value: string): string {
  return value.replace(/["\\]/g, "'").replace(/[^\x20-\x7e]/g, ' ')
}

/** RFC 6750 §3: `WWW-Authenticate: Bearer` on 401 and 403 answers to bearer requests. */
export function withChallenge(
  error: GatehouseError,
  realm: string,
  scopes: readonly string[],
): GatehouseError {
  let challenge = `Bearer realm="${quoted(realm)}"`
  if (error.code === OidcInsufficientScope.code)
    challenge += `, error="insufficient_scope", scope="${quoted(scopes.join(' '))}"`
  else if (error.statusCode === 401 && error.code !== OidcMissing.code)
    challenge += `, error="invalid_token", error_description="${quoted(error.message)}"`
  else if (error.statusCode === 400) challenge += ', error="invalid_request"'
  else if (error.statusCode !== 401) return error
  return error.withHeaders({ 'www-authenticate': challenge })
}

/**
 * RFC 9110 §11.6.1: a 401 carries a challenge. A browser-mode request that had no bearer token (no
 * session, or one that ended) gets the plain `Bearer` challenge, without an error code (RFC 6750
 * §3.1: the request carried no token to be wrong), so an API client knows what to send.
 */
export function withSessionChallenge(error: GatehouseError, realm: string): GatehouseError {
  if (error.statusCode !== 401) return error
  return error.withHeaders({ 'www-authenticate': `Bearer realm="${quoted(realm)}"` })
}
