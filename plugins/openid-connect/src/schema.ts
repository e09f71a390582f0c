import { AnonymousField, Duration, HeaderName, Secret, type Static, Type } from '@gatehousejs/sdk'
import { REDIS_CONNECTION_NAME } from '@gatehousejs/sdk/redis'

const ClaimRule = Type.Object(
  {
    claim: Type.String({ minLength: 1, description: 'The claim (a dot path such as `realm_access.roles`)' }),
    equals: Type.Optional(Type.Unknown({ description: 'The claim must equal this value' })),
    contains: Type.Optional(
      Type.String({ description: 'The claim (an array, or a space-separated string) must contain this' }),
    ),
    anyOf: Type.Optional(
      Type.Array(Type.String(), {
        minItems: 1,
        description: 'The claim (or one of its values, for an array) must be one of these',
      }),
    ),
  },
  { additionalProperties: false },
)

const Browser = Type.Object(
  {
    redirectUri: Type.String({
      pattern: '^https?://',
      description:
        'The callback URL registered at the provider; its path must be served by a route this instance is on',
    }),
    sessionSecret: Secret({
      minLength: 32,
      description:
        'Key material (≥ 32 characters) that encrypts and authenticates the cookies and the sessions kept in Redis',
    }),
    previousSessionSecrets: Type.Optional(
      Type.Array(Secret({ minLength: 32 }), {
        description:
          'Older secrets, still accepted to open cookies and stored sessions (rotation: put the new secret in `sessionSecret` and the old one here until the longest session has ended)',
      }),
    ),
    scope: Type.Optional(
      Type.String({ default: 'openid', description: 'Scopes asked for at login (`openid` is required)' }),
    ),
    cookieName: Type.Optional(
      Type.String({
        pattern: '^[A-Za-z0-9_-]+$',
        default: 'gh_oidc',
        description: 'Session cookie name (the login transaction uses `<name>_tx`)',
      }),
    ),
    cookieSecure: Type.Optional(
      Type.Boolean({ description: 'Mark the cookies `Secure`; default: when `redirectUri` is https' }),
    ),
    idleTimeout: Type.Optional(
      Duration({ default: '30m', description: 'Rolling timeout: a session unused this long ends' }),
    ),
    absoluteTimeout: Type.Optional(
      Duration({ default: '8h', description: 'A session ends this long after login, used or not' }),
    ),
    logoutPath: Type.Optional(
      Type.String({
        pattern: '^/',
        default: '/logout',
        description: 'Path that ends the session (RP-initiated logout)',
      }),
    ),
    postLogoutRedirectUri: Type.Optional(
      Type.String({ pattern: '^https?://', description: 'Where the provider sends the user after logout' }),
    ),
    unauthenticated: Type.Optional(
      Type.Union([Type.Literal('auto'), Type.Literal('redirect'), Type.Literal('deny')], {
        default: 'auto',
        description:
          'Requests without a session: `redirect` to login, `deny` with 401, or `auto` (redirect when `Accept` asks for HTML)',
      }),
    ),
    session: Type.Optional(
      Type.Object(
        {
          store: Type.Union([Type.Literal('cookie'), Type.Literal('redis')], {
            default: 'cookie',
            description:
              '`cookie`: the session lives encrypted in the cookie (revocations kept in the plugin store). `redis`: the cookie holds a random id only and the session lives in `redis` (required)',
          }),
        },
        { additionalProperties: false, default: {}, description: 'Where sessions live' },
      ),
    ),
    backchannelLogoutPath: Type.Optional(
      Type.String({
        pattern: '^/',
        description:
          'Path that receives the provider’s back-channel `logout_token` POST (register `<origin><path>` as `backchannel_logout_uri`); off when unset',
      }),
    ),
    frontchannelLogoutPath: Type.Optional(
      Type.String({
        pattern: '^/',
        description:
          'Path the provider loads in an iframe with `iss` and `sid` (register it as `frontchannel_logout_uri`); off when unset',
      }),
    ),
    forwardAccessToken: Type.Optional(
      Type.Boolean({
        default: true,
        description: 'Send the session access token upstream as `Authorization: Bearer`',
      }),
    ),
  },
  {
    additionalProperties: false,
    description: 'Relying party mode: log users in with the authorization code flow',
  },
)

export const OidcSchema = Type.Object(
  {
    issuer: Type.String({
      pattern: '^https?://',
      description: 'The provider; its metadata is read from `<issuer>/.well-known/openid-configuration`',
    }),
    clientId: Type.String({ minLength: 1, description: 'This gateway’s client id at the provider' }),
    clientSecret: Type.Optional(
      Secret({
        description: 'Client secret (client_secret_basic): needed for introspection and the code flow',
      }),
    ),
    audience: Type.Optional(
      Type.Array(Type.String({ minLength: 1 }), {
        minItems: 1,
        description: 'Accepted `aud` of JWT access tokens; default the client id',
      }),
    ),
    bearer: Type.Optional(
      Type.Boolean({ default: true, description: 'Accept `Authorization: Bearer` access tokens' }),
    ),
    introspection: Type.Optional(
      Type.Boolean({
        default: true,
        description: 'Check opaque (non-JWT) access tokens at the introspection endpoint (RFC 7662)',
      }),
    ),
    introspectionCacheTtl: Type.Optional(
      Duration({
        default: '5m',
        description: 'Longest time an introspection answer is cached (never past `exp`)',
      }),
    ),
    introspectionCacheSize: Type.Optional(
      Type.Integer({
        minimum: 0,
        default: 10_000,
        description: 'Introspection answers kept (by token hash)',
      }),
    ),
    jwksCooldown: Type.Optional(
      Duration({
        default: '30s',
        description: 'Least time between two JWKS fetches caused by an unknown `kid`',
      }),
    ),
    jwksCacheTtl: Type.Optional(
      Duration({
        default: '10m',
        description: 'With `redis`: how long a JWKS document fetched by one node is shared with the others',
      }),
    ),
    redis: Type.Optional(
      Type.String({
        pattern: REDIS_CONNECTION_NAME,
        description:
          'Share state between gateway nodes through Redis: the name of a connection in the top-level `redis` section (docs/redis.md). Holds sessions (`browser.session.store: redis`), revocations and used logout tokens, introspection answers and JWKS. While Redis is down, session checks fail closed (503 GH_STORE_UNAVAILABLE) and the caches ask the provider',
      }),
    ),
    timeout: Type.Optional(Duration({ default: '5s', description: 'Longest wait for the provider' })),
    clockSkew: Type.Optional(Duration({ default: '30s', description: 'Tolerance on `exp` / `nbf` / `iat`' })),
    maxTokenLength: Type.Optional(
      Type.Integer({ minimum: 64, default: 8192, description: 'Longer bearer tokens are refused (400)' }),
    ),
    scopes: Type.Optional(
      Type.Array(Type.String({ minLength: 1 }), {
        description: 'Scopes the token must all have (403 otherwise)',
      }),
    ),
    claims: Type.Optional(
      Type.Array(ClaimRule, { description: 'Rules the claims must all pass (403 otherwise)' }),
    ),
    consumerClaim: Type.Optional(
      Type.String({
        minLength: 1,
        default: 'sub',
        description:
          'Claim naming the consumer: a configured consumer (id or username) or, else, one made from the claim',
      }),
    ),
    consumerRequired: Type.Optional(
      Type.Boolean({
        default: false,
        description: 'Refuse (401) a token whose consumer claim names no configured consumer',
      }),
    ),
    groupsClaim: Type.Optional(
      Type.String({
        minLength: 1,
        description: 'Claim (dot path) whose values become the consumer’s groups, for acl',
      }),
    ),
    claimsToHeaders: Type.Optional(
      Type.Record(Type.String({ minLength: 1 }), HeaderName(), {
        default: {},
        description: 'Claims sent upstream as headers, e.g. `{ "email": "x-user-email" }`',
      }),
    ),
    realm: Type.Optional(Type.String({ default: 'gatehouse', description: '`WWW-Authenticate` realm' })),
    browser: Type.Optional(Browser),
    anonymous: AnonymousField,
  },
  { additionalProperties: false },
)

export type OidcConfig = Static<typeof OidcSchema>
export type BrowserConfig = Static<typeof Browser>
export type ClaimRuleConfig = Static<typeof ClaimRule>
