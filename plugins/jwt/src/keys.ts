import { createPublicKey, type JsonWebKey, type KeyObject } from 'node:crypto'
import { createVerifier } from 'fast-jwt'
import type { Algorithm } from './schema.js'

/**
 * Key material → a fast-jwt verifier pinned to the key's algorithms. Everything here runs at init (or
 * when a JWKS is fetched), never per request: a request only calls the verifier built here.
 */

/** The claim checks every verifier of one plugin instance applies (fast-jwt's own options). */
export interface ClaimOptions {
  clockTolerance: number
  allowedIss?: string[]
  allowedAud?: string[]
  requiredClaims?: string[]
}

/** A ready key: the verifier returns the payload or throws a fast-jwt TokenError. */
export interface VerifyKey {
  readonly algorithms: readonly Algorithm[]
  readonly verify: (token: string) => Record<string, unknown>
}

/** A key that cannot be used, with the field of its config entry to blame. */
export class KeyProblem extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message)
  }
}

export interface KeyMaterial {
  readonly secret?: string
  readonly publicKey?: string
  readonly jwk?: Readonly<Record<string, unknown>>
}

const EC_CURVES: Record<string, { jwk: string; node: string }> = {
  ES256: { jwk: 'P-256', node: 'prime256v1' },
  ES384: { jwk: 'P-384', node: 'secp384r1' },
  ES512: { jwk: 'P-521', node: 'secp521r1' },
}

function family(alg: Algorithm): 'HS' | 'RSA' | 'EC' | 'OKP' {
  if (alg.startsWith('HS')) return 'HS'
  if (alg.startsWith('RS') || alg.startsWith('PS')) return 'RSA'
  if (alg.startsWith('ES')) return 'EC'
  return 'OKP'
}

/** Whether a Node key object can verify `alg`: RSA for RS/PS, the right curve for ES, Ed25519/448 for EdDSA. */
function keyFits(key: KeyObject, alg: Algorithm): boolean {
  const type = key.asymmetricKeyType
  switch (family(alg)) {
    case 'RSA':
      return type === 'rsa' || (type === 'rsa-pss' && alg.startsWith('PS'))
    case 'EC':
      return type === 'ec' && key.asymmetricKeyDetails?.namedCurve === EC_CURVES[alg]?.node
    case 'OKP':
      return type === 'ed25519' || type === 'ed448'
    default:
      return false
  }
}

function describe(key: KeyObject): string {
  const curve = key.asymmetricKeyDetails?.namedCurve
  return `${key.asymmetricKeyType}${curve ? ` (${curve})` : ''}`
}

/** RFC 7518 §3.2: an HMAC key at least as long as the hash output. */
const HMAC_MIN_BYTES: Readonly<Record<string, number>> = { HS256: 32, HS384: 48, HS512: 64 }

/** A shorter HMAC key can be brute-forced offline from one token: refused at config time. */
function longEnough(key: Buffer, alg: Algorithm, field: string): Buffer {
  const min = HMAC_MIN_BYTES[alg] ?? 0
  if (key.length < min) {
    throw new KeyProblem(
      field,
      `an ${alg} secret must be at least ${min} bytes (RFC 7518 §3.2: as long as the hash output); this one has ${key.length}`,
    )
  }
  return key
}

/** A PEM (or anything that is not a plain secret) given as an HS secret: the HS/RS confusion at config time. */
const LOOKS_LIKE_KEY = /-----BEGIN [A-Z ]+-----|^\s*\{\s*"kty"/

/**
 * Turns one config/credential entry into the key fast-jwt takes: a Buffer secret for HS*, an SPKI PEM
 * string for the rest. Throws a KeyProblem naming the field.
 */
export function importKey(material: KeyMaterial, alg: Algorithm): Buffer | string {
  const given = (['secret', 'publicKey', 'jwk'] as const).filter((f) => material[f] !== undefined)
  if (given.length !== 1) {
    throw new KeyProblem(
      '',
      given.length === 0
        ? 'one of "secret", "publicKey" or "jwk" is required'
        : `only one of ${given.map((f) => `"${f}"`).join(', ')} may be given`,
    )
  }
  const hs = family(alg) === 'HS'
  if (material.secret !== undefined) {
    if (!hs)
      throw new KeyProblem('secret', `${alg} needs a "publicKey" or "jwk"; "secret" is for HS256/384/512`)
    if (LOOKS_LIKE_KEY.test(material.secret)) {
      throw new KeyProblem(
        'secret',
        `an ${alg} secret must not be a public key: a key published for RS/ES would let anyone sign HS tokens`,
      )
    }
    return longEnough(Buffer.from(material.secret, 'utf8'), alg, 'secret')
  }
  if (material.publicKey !== undefined) {
    if (hs) throw new KeyProblem('publicKey', `${alg} takes a "secret" (or an "oct" jwk), not a public key`)
    let key: KeyObject
    try {
      key = createPublicKey(material.publicKey)
    } catch {
      throw new KeyProblem('publicKey', 'is not a PEM public key or certificate that can be parsed')
    }
    if (!keyFits(key, alg)) throw new KeyProblem('publicKey', `a ${describe(key)} key cannot verify ${alg}`)
    return key.export({ type: 'spki', format: 'pem' }).toString()
  }
  return importJwk(material.jwk as Record<string, unknown>, alg)
}

/** A JWK for `alg`: its `kty` (and `crv`) must fit, and a JWK `alg` must be the same one. */
export function importJwk(jwk: Readonly<Record<string, unknown>>, alg: Algorithm): Buffer | string {
  const kty = jwk.kty
  if (jwk.alg !== undefined && jwk.alg !== alg) {
    throw new KeyProblem('jwk/alg', `the JWK is for "${String(jwk.alg)}", not ${alg}`)
  }
  const fam = family(alg)
  const expected = fam === 'HS' ? 'oct' : fam
  if (kty !== expected) {
    throw new KeyProblem(
      'jwk/kty',
      `a JWK with kty "${String(kty)}" cannot verify ${alg} (needs "${expected}")`,
    )
  }
  if (fam === 'HS') {
    if (typeof jwk.k !== 'string' || jwk.k.length === 0) {
      throw new KeyProblem('jwk/k', 'an "oct" JWK needs its secret in "k" (base64url)')
    }
    return longEnough(Buffer.from(jwk.k, 'base64url'), alg, 'jwk/k')
  }
  if (fam === 'EC' && jwk.crv !== EC_CURVES[alg]?.jwk) {
    throw new KeyProblem('jwk/crv', `${alg} needs curve ${EC_CURVES[alg]?.jwk}, not "${String(jwk.crv)}"`)
  }
  if (fam === 'OKP' && jwk.crv !== 'Ed25519' && jwk.crv !== 'Ed448') {
    throw new KeyProblem('jwk/crv', `EdDSA needs curve Ed25519 or Ed448, not "${String(jwk.crv)}"`)
  }
  let key: KeyObject
  try {
    key = createPublicKey({ key: jwk as JsonWebKey, format: 'jwk' })
  } catch {
    throw new KeyProblem('jwk', 'is not a valid public JWK')
  }
  return key.export({ type: 'spki', format: 'pem' }).toString()
}

/** The algorithms a JWKS key without `alg` may verify, from its type and curve. */
export function algorithmsForJwk(jwk: Readonly<Record<string, unknown>>): Algorithm[] {
  switch (jwk.kty) {
    case 'RSA':
      return ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512']
    case 'EC':
      return (Object.keys(EC_CURVES) as Algorithm[]).filter((a) => EC_CURVES[a]?.jwk === jwk.crv)
    case 'OKP':
      return jwk.crv === 'Ed25519' || jwk.crv === 'Ed448' ? ['EdDSA'] : []
    default:
      return []
  }
}

/** The verifier, built once. fast-jwt checks the algorithm, the signature, then exp/nbf/iss/aud/required claims. */
export function buildVerifier(
  key: Buffer | string,
  algorithms: readonly Algorithm[],
  claims: ClaimOptions,
): VerifyKey {
  const verify = createVerifier({
    key,
    algorithms: [...algorithms],
    clockTolerance: claims.clockTolerance,
    ...(claims.allowedIss ? { allowedIss: claims.allowedIss } : {}),
    ...(claims.allowedAud ? { allowedAud: claims.allowedAud } : {}),
    ...(claims.requiredClaims?.length ? { requiredClaims: claims.requiredClaims } : {}),
  }) as (token: string) => Record<string, unknown>
  return { algorithms, verify }
}
