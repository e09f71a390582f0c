import { defineError, type GatehouseError } from '@gatehousejs/sdk'

/**
 * Every error this plugin sends to a client, each with a row in the README and in docs/errors.md.
 * All of them are 401 (RFC 6750 §3.1 `invalid_token`) except GH_JWT_KEYS_UNAVAILABLE: the client cannot
 * fix a key server that is down, so it is told so (503) rather than that its token is wrong.
 * Messages say what is wrong with the token, never which keys, secrets or consumers exist.
 */

/** 401: no token in any of the configured places (header, cookie, query parameter). */
export const JwtMissing = defineError('GH_JWT_MISSING', 401, 'A bearer token is required')
/** 401: not three base64url parts, or a header/payload that is not a JSON object. */
export const JwtMalformed = defineError(
  'GH_JWT_MALFORMED',
  401,
  (why: string = 'The token is not a well-formed JWT') => why,
)
/** 401: `exp` is in the past (beyond `clockSkew`). */
export const JwtExpired = defineError('GH_JWT_EXPIRED', 401, 'The token has expired')
/** 401: `nbf` is in the future (beyond `clockSkew`). */
export const JwtNotYetValid = defineError('GH_JWT_NOT_YET_VALID', 401, 'The token is not valid yet')
/** 401: the signature does not verify with the key the token names. */
export const JwtInvalidSignature = defineError(
  'GH_JWT_INVALID_SIGNATURE',
  401,
  'The token signature is invalid',
)
/** 401: `alg` is `none`, or is not the algorithm the key is pinned to (HS/RS confusion and the like). */
export const JwtAlgorithmNotAllowed = defineError(
  'GH_JWT_ALGORITHM_NOT_ALLOWED',
  401,
  (alg: string) => `The token algorithm "${alg}" is not allowed for its key`,
)
/** 401: the header carries `jku`, `x5u` or `jwk`: a token may not say where its key comes from. */
export const JwtHeaderNotAllowed = defineError(
  'GH_JWT_HEADER_NOT_ALLOWED',
  401,
  (param: string) => `The token header parameter "${param}" is not accepted`,
)
/** 401: no configured key, credential or JWKS key matches the token's `kid` / key claim. */
export const JwtUnknownKey = defineError(
  'GH_JWT_UNKNOWN_KEY',
  401,
  'The token was signed with an unknown key',
)
/** 401: `iss`, `aud`, a required claim or `iat` is missing or not an accepted value. */
export const JwtClaimInvalid = defineError('GH_JWT_CLAIM_INVALID', 401, (why: string) => why)
/** 401: `exp` is further in the future than `maximumExpiration` allows. */
export const JwtLifetimeExceeded = defineError(
  'GH_JWT_LIFETIME_EXCEEDED',
  401,
  'The token lifetime exceeds the allowed maximum',
)
/** 401: `consumerClaim` names no configured consumer. */
export const JwtUnknownConsumer = defineError(
  'GH_JWT_UNKNOWN_CONSUMER',
  401,
  'The token does not name a known consumer',
)
/** 503: the token needs a JWKS that could not be fetched yet (and none is cached). */
export const JwtKeysUnavailable = defineError(
  'GH_JWT_KEYS_UNAVAILABLE',
  503,
  'The keys to verify this token are unavailable; try again later',
)

/** RFC 6750 §3: a quoted-string may not hold `"` or `\`, nor control characters. */
function quoted(value: string): string {
  return value.replace(/["\\]/g, "'").replace(/[^\x20-\x7e]/g, ' ')
}

/**
 * Adds RFC 6750 `WWW-Authenticate` to a 401: `Bearer realm="…"` alone when no token was sent (§3.1:
 * no error code then), with `error="invalid_token"` and a description otherwise.
 */
export function withChallenge(error: GatehouseError, realm: string): GatehouseError {
  if (error.statusCode !== 401) return error
  const challenge =
    error.code === JwtMissing.code
      ? `Bearer realm="${quoted(realm)}"`
      : `Bearer realm="${quoted(realm)}", error="invalid_token", error_description="${quoted(error.message)}"`
  return error.withHeaders({ 'www-authenticate': challenge })
}
