import { AnonymousField, type Static, Type } from '@gatehousejs/sdk'

/** A key name is both a header name (RFC 9110 token) and a query parameter / body field name. */
const KEY_NAME = "^[!#$%&'*+.^_`|~0-9A-Za-z-]+$"

/** The `key-auth` plugin's configuration. Every field has a default, so `{}` is a valid config. */
export const KeyAuthSchema = Type.Object(
  {
    keyNames: Type.Array(Type.String({ pattern: KEY_NAME }), {
      default: ['apikey'],
      minItems: 1,
      uniqueItems: true,
      description:
        'Names to look for the key under, in order: a header (case-insensitive), a query parameter or a body field',
    }),
    keyInHeader: Type.Boolean({ default: true, description: 'Look for the key in request headers' }),
    keyInQuery: Type.Boolean({ default: true, description: 'Look for the key in query parameters' }),
    keyInCookie: Type.Boolean({
      default: false,
      description: 'Look for the key in a cookie (OpenAPI `apiKey` with `in: cookie`), after the query',
    }),
    keyInBody: Type.Boolean({
      default: false,
      description:
        'Look for the key in a JSON or form body field (makes the gateway buffer request bodies on this route)',
    }),
    hideCredentials: Type.Boolean({
      default: false,
      description:
        'Remove the key (header, query parameter, cookie or body field) from the request sent upstream',
    }),
    anonymous: AnonymousField,
    realm: Type.String({
      default: 'gatehouse',
      pattern: '^[\\x20-\\x21\\x23-\\x5b\\x5d-\\x7e]*$',
      description: 'The realm in `WWW-Authenticate: Key realm="..."` on a 401',
    }),
    runOnPreflight: Type.Boolean({
      default: true,
      description: 'Also authenticate CORS preflight requests (OPTIONS with Access-Control-Request-Method)',
    }),
  },
  { additionalProperties: false },
)

export type KeyAuthConfig = Static<typeof KeyAuthSchema>

/**
 * One key-auth credential under `consumers[i].credentials['key-auth']`: the key itself, or only its
 * SHA-256 digest so the configuration never holds the key in clear.
 */
export const KeyCredentialSchema = Type.Object(
  {
    key: Type.Optional(
      Type.String({ minLength: 1, writeOnly: true, gatehouse: 'secret', description: 'The API key' }),
    ),
    keySha256: Type.Optional(
      Type.String({
        pattern: '^[0-9a-fA-F]{64}$',
        description:
          'The key\'s SHA-256 digest in hex, instead of `key` (e.g. `printf %s "$KEY" | sha256sum`)',
      }),
    ),
    id: Type.Optional(
      Type.String({
        pattern: '^[\\x21-\\x7e]+$',
        description:
          'A non-secret name for this key, sent upstream as X-Credential-Identifier (default `<consumer id>/key-auth/<index>`)',
      }),
    ),
  },
  { additionalProperties: false },
)

export type KeyCredential = Static<typeof KeyCredentialSchema>
