import type { ConsumerRecord, GatehouseError } from '@gatehousejs/sdk'
import {
  JwtAlgorithmNotAllowed,
  JwtClaimInvalid,
  JwtExpired,
  JwtHeaderNotAllowed,
  JwtInvalidSignature,
  JwtKeysUnavailable,
  JwtLifetimeExceeded,
  JwtMalformed,
  JwtNotYetValid,
  JwtUnknownKey,
} from './errors.js'
import type { KeySet, KeySetKey } from './jwks.js'
import type { VerifyKey } from './keys.js'
import { ALGORITHMS } from './schema.js'

/** A key a token may be verified with, and what a success with it means. */
export interface Candidate {
  readonly key: VerifyKey
  /** The non-secret credential id sent upstream as X-Credential-Identifier. */
  readonly id: string
  /** The consumer a token verified with this key authenticates, when the key is bound to one. */
  readonly consumer: ConsumerRecord | undefined
  /** Config keys with both `kid` and `issuer` serve only tokens with that `iss`. */
  readonly issuer?: string
}

export interface Verified {
  readonly header: Readonly<Record<string, unknown>>
  readonly claims: Readonly<Record<string, unknown>>
  readonly candidate: Candidate
}

/** Where keys come from, in the order they are looked up (see the README, "Key sources"). */
export interface KeyRing {
  /** The claim (or header parameter) matched against consumers' credential `key`. */
  readonly keyClaim: string
  readonly credentials: ReadonlyMap<string, Candidate[]>
  readonly byKid: ReadonlyMap<string, Candidate[]>
  readonly byIssuer: ReadonlyMap<string, Candidate[]>
  readonly anyToken: readonly Candidate[]
  readonly keySets: readonly KeySet[]
}

export interface ClaimLimits {
  readonly clockSkew: number
  readonly maximumExpiration: number
}

/** RFC 7515 §4.1.2/4.1.3/4.1.5: headers that would let the token choose its own key. Never honoured. */
const KEY_HEADERS = ['jku', 'jwk', 'x5u'] as const

function decodePart(part: string): Record<string, unknown> {
  // No alphabet check here: fast-jwt's decoder refuses non-base64url parts before any signature check.
  let value: unknown
  try {
    value = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'))
  } catch {
    throw JwtMalformed()
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw JwtMalformed()
  return value as Record<string, unknown>
}

/**
 * Headers already checked, by their base64url text. Every token of one key has the same header
 * (`{"alg":"HS256","typ":"JWT"}`, plus a `kid`), so a request usually skips decoding it. Bounded: a
 * client sending random headers only churns this small map.
 */
const headers = new Map<string, Readonly<Record<string, unknown>>>()
const MAX_CACHED_HEADERS = 256

function checkedHeader(part: string): Readonly<Record<string, unknown>> {
  const cached = headers.get(part)
  if (cached) return cached
  const header = decodePart(part)
  const alg = header.alg
  if (typeof alg !== 'string') throw JwtMalformed('The token header has no "alg"')
  if (!(ALGORITHMS as readonly string[]).includes(alg)) throw JwtAlgorithmNotAllowed(alg)
  for (const param of KEY_HEADERS) if (param in header) throw JwtHeaderNotAllowed(param)
  if (headers.size >= MAX_CACHED_HEADERS) headers.clear()
  // Frozen: the same object is handed to every request (ctx.shared.jwt.header).
  headers.set(part, Object.freeze(header))
  return header
}

/** Header and payload, read only to pick the key; fast-jwt decodes and checks the token again. */
function decode(token: string): {
  header: Readonly<Record<string, unknown>>
  payload: Record<string, unknown>
} {
  const dot1 = token.indexOf('.')
  const dot2 = token.indexOf('.', dot1 + 1)
  if (dot1 < 0 || dot2 < 0 || token.indexOf('.', dot2 + 1) >= 0) throw JwtMalformed()
  return { header: checkedHeader(token.slice(0, dot1)), payload: decodePart(token.slice(dot1 + 1, dot2)) }
}

function fromKeySet(set: KeySet, found: KeySetKey[], url: string): Candidate[] {
  return found.map((k) => ({ key: k.key, id: k.kid ?? url, consumer: set.options.consumer }))
}

/**
 * The keys to try for a token: a consumer credential matched by `keyClaim`, then config keys by `kid`,
 * then by `iss`, then JWKS sets (by `kid`), then config keys that match any token. Returns a promise
 * only when a JWKS must be fetched first.
 */
function candidatesFor(
  ring: KeyRing,
  header: Readonly<Record<string, unknown>>,
  payload: Record<string, unknown>,
): Candidate[] | Promise<Candidate[]> {
  const keyValue = payload[ring.keyClaim] ?? header[ring.keyClaim]
  if (typeof keyValue === 'string') {
    const found = ring.credentials.get(keyValue)
    if (found) return found
  }
  const kid = typeof header.kid === 'string' ? header.kid : undefined
  const iss = typeof payload.iss === 'string' ? payload.iss : undefined
  if (kid !== undefined) {
    const found = ring.byKid.get(kid)?.filter((c) => c.issuer === undefined || c.issuer === iss)
    if (found?.length) return found
  }
  if (iss !== undefined) {
    const found = ring.byIssuer.get(iss)
    if (found) return found
  }
  const sets = ring.keySets.filter((s) => s.serves(iss))
  if (sets.length === 0) return ring.anyToken as Candidate[]
  const pending: Promise<Candidate[]>[] = []
  for (const set of sets) {
    const found = set.find(kid)
    if (Array.isArray(found)) {
      if (found.length > 0) return fromKeySet(set, found, set.options.url)
    } else {
      pending.push(found.then((keys) => fromKeySet(set, keys, set.options.url)))
    }
  }
  if (pending.length === 0) return orUnavailable(ring, sets)
  return Promise.all(pending).then((lists) => {
    const found = lists.find((l) => l.length > 0)
    return found ?? orUnavailable(ring, sets)
  })
}

/** No JWKS key: the catch-all config keys, else 503 when a set never loaded (its server is down). */
function orUnavailable(ring: KeyRing, sets: readonly KeySet[]): Candidate[] {
  if (ring.anyToken.length > 0) return ring.anyToken as Candidate[]
  if (sets.some((s) => !s.available)) throw JwtKeysUnavailable()
  return []
}

/** fast-jwt's error codes, as ours. */
function mapError(err: unknown): GatehouseError {
  const code = (err as { code?: string })?.code
  const message = (err as Error)?.message ?? ''
  switch (code) {
    case 'FAST_JWT_EXPIRED':
      return JwtExpired()
    case 'FAST_JWT_INACTIVE':
      return JwtNotYetValid()
    case 'FAST_JWT_INVALID_ALGORITHM':
      return JwtAlgorithmNotAllowed('')
    case 'FAST_JWT_INVALID_CLAIM_VALUE':
    case 'FAST_JWT_INVALID_CLAIM_TYPE':
    case 'FAST_JWT_MISSING_REQUIRED_CLAIM':
      // fast-jwt's messages name the claim and never a secret: "The aud claim value is not allowed."
      return JwtClaimInvalid(message)
    case 'FAST_JWT_INVALID_SIGNATURE':
    case 'FAST_JWT_VERIFY_ERROR':
      return JwtInvalidSignature()
    default:
      return JwtMalformed()
  }
}

/** `iat` in the future and `maximumExpiration`, which fast-jwt does not check the way Kong does. */
function checkTimes(claims: Record<string, unknown>, limits: ClaimLimits, now: number): void {
  const { iat, exp } = claims
  if (iat !== undefined) {
    if (typeof iat !== 'number') throw JwtClaimInvalid('The iat claim must be a number.')
    if (iat * 1000 > now + limits.clockSkew) throw JwtClaimInvalid('The token was issued in the future.')
  }
  if (limits.maximumExpiration > 0) {
    // fast-jwt already required `exp` and checked it is a number (requiredClaims).
    if ((exp as number) * 1000 - now > limits.maximumExpiration) throw JwtLifetimeExceeded()
  }
}

function verifyWith(
  token: string,
  header: Readonly<Record<string, unknown>>,
  candidates: readonly Candidate[],
  limits: ClaimLimits,
): Verified {
  if (candidates.length === 0) throw JwtUnknownKey()
  const alg = header.alg as string
  let signatureError: unknown
  for (const candidate of candidates) {
    // The algorithm is pinned per key: an HS256 token against an RSA key never reaches a verifier.
    if (!candidate.key.algorithms.includes(alg as never)) continue
    let claims: Record<string, unknown>
    try {
      claims = candidate.key.verify(token)
    } catch (err) {
      // Another key may be the right one (a secret being rotated); any other failure is final.
      if ((err as { code?: string })?.code === 'FAST_JWT_INVALID_SIGNATURE') {
        signatureError = err
        continue
      }
      throw mapError(err)
    }
    checkTimes(claims, limits, Date.now())
    return { header, claims, candidate }
  }
  throw signatureError ? mapError(signatureError) : JwtAlgorithmNotAllowed(alg)
}

/**
 * Verifies a token: synchronously for config keys, credentials and a fresh JWKS, as a promise when a
 * JWKS must be fetched first. Throws (or rejects with) the GatehouseError to answer.
 */
export function verifyToken(token: string, ring: KeyRing, limits: ClaimLimits): Verified | Promise<Verified> {
  const { header, payload } = decode(token)
  const candidates = candidatesFor(ring, header, payload)
  if (Array.isArray(candidates)) return verifyWith(token, header, candidates, limits)
  return candidates.then((list) => verifyWith(token, header, list, limits))
}
