import { AnonymousField, type Static, Type } from '@gatehousejs/sdk'

/** The `basic-auth` plugin's configuration. Every field has a default, so `{}` is a valid config. */
export const BasicAuthSchema = Type.Object(
  {
    realm: Type.String({
      default: 'gatehouse',
      pattern: '^[\\x20-\\x21\\x23-\\x5b\\x5d-\\x7e]*$',
      description: 'The realm in `WWW-Authenticate: Basic realm="..."` on a 401',
    }),
    hideCredentials: Type.Boolean({
      default: false,
      description: 'Remove the Authorization header from the request sent upstream',
    }),
    anonymous: AnonymousField,
    cacheSize: Type.Integer({
      default: 1000,
      minimum: 0,
      maximum: 1_000_000,
      description:
        'How many verified user/password pairs to remember (as keyed digests, never the password), so a ' +
        'client that sends the same credentials again skips the slow hash; 0 turns it off',
    }),
  },
  { additionalProperties: false },
)

export type BasicAuthConfig = Static<typeof BasicAuthSchema>

/** One credential under `consumers[i].credentials['basic-auth']`: a user name and a password hash. */
export const BasicCredentialSchema = Type.Object(
  {
    username: Type.String({
      minLength: 1,
      pattern: '^[^:\\x00-\\x1f\\x7f]+$',
      description: 'The user name the client sends (no ":"); sent upstream as X-Credential-Identifier',
    }),
    password: Type.String({
      minLength: 1,
      writeOnly: true,
      description:
        'A password hash: `$scrypt$ln=15,r=8,p=1$<salt>$<hash>` or bcrypt `$2b$12$...`; make one with `gatehouse-basic-auth-hash`',
    }),
  },
  { additionalProperties: false },
)

export type BasicCredential = Static<typeof BasicCredentialSchema>
