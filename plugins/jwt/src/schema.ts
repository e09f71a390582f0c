import {
  AnonymousField,
  Duration,
  HeaderName,
  JWS_ALGORITHMS,
  type JwsAlgorithm,
  Secret,
  type Static,
  Type,
} from '@gatehousejs/sdk'
import { REDIS_CONNECTION_NAME } from '@gatehousejs/sdk/redis'

/** Every algorithm the plugin verifies: the SDK's list (RFC 7518 §3.1, RFC 8037 for EdDSA). `none` is never one. */
export const ALGORITHMS = JWS_ALGORITHMS
export type Algorithm = JwsAlgorithm

function AlgorithmField(description: string, extra: { default?: Algorithm } = {}) {
  return Type.Unsafe<Algorithm>({ type: 'string', enum: [...ALGORITHMS], description, ...extra })
}

/** The key material, one of three forms; which one is checked at init (exactly one must be set). */
const keyMaterial = {
  secret: Type.Optional(
    Secret({ minLength: 1, description: 'The shared secret, for HS256/384/512 (as UTF-8 bytes)' }),
  ),
  publicKey: Type.Optional(
    Type.String({
      minLength: 1,
      description: 'A PEM public key (SPKI or PKCS#1) or certificate, for RS*/PS*/ES*/EdDSA',
    }),
  ),
  jwk: Type.Optional(
    Type.Record(Type.String(), Type.Unknown(), {
      description:
        'A JWK (RFC 7517): `kty` RSA, EC, OKP, or `oct` for HS*; its `kty`/`crv` must fit `algorithm`',
    }),
  ),
}

/** A key in the plugin's config: per issuer and/or `kid`, optionally bound to a consumer. */
export const ConfigKeySchema = Type.Object(
  {
    kid: Type.Optional(
      Type.String({ minLength: 1, description: 'Matches tokens whose header `kid` equals it' }),
    ),
    issuer: Type.Optional(
      Type.String({
        minLength: 1,
        description:
          'Matches tokens whose `iss` equals it; with neither `kid` nor `issuer` the key matches any token',
      }),
    ),
    algorithm: AlgorithmField('The one algorithm tokens verified with this key may use'),
    ...keyMaterial,
    consumer: Type.Optional(
      Type.String({
        minLength: 1,
        description: 'The consumer (id or username) a token verified with this key authenticates',
      }),
    ),
  },
  { additionalProperties: false },
)

/** A consumer's credential: `consumers[i].credentials.jwt[j]`, like Kong's jwt_secrets. */
export const CredentialSchema = Type.Object(
  {
    key: Type.String({
      minLength: 1,
      description:
        'Matched against the token claim (or header parameter) named by `keyClaim`: the `iss` by default',
    }),
    algorithm: Type.Optional(AlgorithmField('The one algorithm accepted; default HS256')),
    ...keyMaterial,
  },
  { additionalProperties: false },
)

export const JwksSchema = Type.Object(
  {
    url: Type.String({
      pattern: '^https?://[^\\s]+$',
      description: 'Where the JSON Web Key Set is fetched (GET); keys are selected by the token `kid`',
    }),
    issuer: Type.Optional(
      Type.String({ minLength: 1, description: 'Use this key set only for tokens with this `iss`' }),
    ),
    algorithms: Type.Optional(
      Type.Array(AlgorithmField('An algorithm'), {
        minItems: 1,
        uniqueItems: true,
        description:
          'Algorithms accepted for keys that carry no `alg` (default by key type: RS256, ES256/384/512 by curve, EdDSA); a key with `alg` accepts only that one',
      }),
    ),
    consumer: Type.Optional(
      Type.String({ minLength: 1, description: 'The consumer (id or username) these tokens authenticate' }),
    ),
  },
  { additionalProperties: false },
)

export const JwtSchema = Type.Object(
  {
    anonymous: AnonymousField,
    realm: Type.String({
      default: 'gatehouse',
      minLength: 1,
      description: 'The `realm` of the `WWW-Authenticate: Bearer` challenge',
    }),
    headers: Type.Array(HeaderName({ description: 'A request header' }), {
      default: ['authorization'],
      uniqueItems: true,
      description:
        'Headers the token is read from: `Bearer <token>` (RFC 6750 §2.1); in headers other than Authorization a bare token too',
    }),
    cookies: Type.Array(Type.String({ minLength: 1 }), {
      default: [],
      uniqueItems: true,
      description: 'Cookies the token is read from, after the headers',
    }),
    queryParams: Type.Array(Type.String({ minLength: 1 }), {
      default: [],
      uniqueItems: true,
      description: 'Query parameters the token is read from, last (RFC 6750 §2.3 discourages it)',
    }),
    keyClaim: Type.String({
      default: 'iss',
      minLength: 1,
      description:
        "The claim (or, when absent from the payload, header parameter such as `kid`) matched against consumers' credential `key`",
    }),
    consumerClaim: Type.Optional(
      Type.String({
        minLength: 1,
        description:
          'For config/JWKS keys not bound to a consumer: the claim naming the consumer (id or username), e.g. `sub`',
      }),
    ),
    keys: Type.Array(ConfigKeySchema, { default: [], description: 'Keys per issuer and/or kid' }),
    jwks: Type.Array(JwksSchema, { default: [], description: 'JSON Web Key Sets fetched over HTTP' }),
    issuers: Type.Optional(
      Type.Array(Type.String({ minLength: 1 }), {
        minItems: 1,
        description: 'The `iss` must be one of these (and is then required)',
      }),
    ),
    audiences: Type.Optional(
      Type.Array(Type.String({ minLength: 1 }), {
        minItems: 1,
        description: 'The `aud` (or one of its values) must be one of these (and is then required)',
      }),
    ),
    requiredClaims: Type.Array(Type.String({ minLength: 1 }), {
      default: [],
      uniqueItems: true,
      description: 'Claims every token must carry, e.g. `exp`, `sub`',
    }),
    clockSkew: Duration({
      default: 0,
      description: 'Leeway for `exp`, `nbf` and `iat` against this clock',
    }),
    maximumExpiration: Duration({
      default: 0,
      description:
        'When above 0: `exp` is required and may be at most this far in the future (Kong `maximum_expiration`)',
    }),
    claimsToHeaders: Type.Record(Type.String({ minLength: 1 }), HeaderName(), {
      default: {},
      description:
        'Claims sent upstream as headers, `{ claim: header }`; the same headers sent by the client are always removed',
    }),
    jwksRefreshInterval: Duration({
      default: '10s',
      description: 'A token with an unknown `kid` refetches a key set at most once per this interval',
    }),
    jwksCacheTtl: Duration({
      default: '10m',
      description: 'How long a fetched key set is used when its response has no Cache-Control max-age',
    }),
    jwksMaxTtl: Duration({
      default: '24h',
      description: 'Upper bound of a key set lifetime, whatever its Cache-Control says',
    }),
    jwksTimeout: Duration({ default: '5s', description: 'Timeout of one JWKS fetch' }),
    redis: Type.Optional(
      Type.String({
        pattern: REDIS_CONNECTION_NAME,
        description:
          'Share fetched JWKS between gateway nodes through Redis: the name of a connection in the top-level `redis` section (docs/redis.md). Redis is an optimisation: while it is down, each node fetches for itself',
      }),
    ),
  },
  { additionalProperties: false },
)

export type JwtConfig = Static<typeof JwtSchema>
export type ConfigKey = Static<typeof ConfigKeySchema>
export type CredentialConfig = Static<typeof CredentialSchema>
export type JwksConfig = Static<typeof JwksSchema>
