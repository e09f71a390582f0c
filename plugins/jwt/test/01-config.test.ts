import { createGateway } from '@gatehousejs/core'
import t, { type Test } from 'tap'
import jwt from '../src/index.js'
import { keyPair, SECRET } from './fixtures/helpers.js'

function load(jwtConfig: Record<string, unknown>, consumers?: unknown[]) {
  return createGateway(
    {
      services: [{ name: 'api', url: 'http://127.0.0.1:9', routes: [{ name: 'api', paths: ['/api'] }] }],
      plugins: [{ name: 'jwt', config: jwtConfig }],
      ...(consumers ? { consumers } : {}),
    } as never,
    { plugins: [jwt], logger: false },
  )
}

async function refused(
  t: Test,
  pointer: string,
  message: RegExp,
  cfg: Record<string, unknown>,
  consumers?: unknown[],
) {
  const err = (await load(cfg, consumers).then(
    (gw) => gw.close().then(() => undefined),
    (e: unknown) => e,
  )) as { code?: string; issues?: { pointer: string; plugin?: string; message: string }[] } | undefined
  t.equal(err?.code, 'GH_CONFIG_INVALID', `refused: ${pointer}`)
  const issue = err?.issues?.find((i) => i.pointer === pointer)
  t.ok(issue, `an issue at ${pointer} (got ${JSON.stringify(err?.issues)})`)
  t.equal(issue?.plugin, 'jwt')
  t.match(issue?.message, message)
}

t.test('a minimal config loads, with defaults', async (t) => {
  const gw = await load({ keys: [{ algorithm: 'HS256', secret: SECRET }] })
  t.teardown(() => gw.close())
  t.pass()
})

t.test('an unknown algorithm is refused by pointer', async (t) => {
  await refused(t, '/plugins/0/config/keys/0/algorithm', /must be one of "HS256"/, {
    keys: [{ algorithm: 'HS999', secret: SECRET }],
  })
})

t.test('an RS public key given as an HS secret is refused (HS/RS confusion)', async (t) => {
  const rsa = await keyPair('RS256')
  await refused(t, '/plugins/0/config/keys/0/secret', /must not be a public key/, {
    keys: [{ algorithm: 'HS256', secret: rsa.pem }],
  })
})

t.test('a secret for an RS algorithm, and a public key for HS, are refused', async (t) => {
  const rsa = await keyPair('RS256')
  await refused(t, '/plugins/0/config/keys/0/secret', /needs a "publicKey" or "jwk"/, {
    keys: [{ algorithm: 'RS256', secret: SECRET }],
  })
  await refused(t, '/plugins/0/config/keys/0/publicKey', /takes a "secret"/, {
    keys: [{ algorithm: 'HS256', publicKey: rsa.pem }],
  })
})

t.test('a PEM that does not parse is refused', async (t) => {
  await refused(t, '/plugins/0/config/keys/0/publicKey', /cannot be parsed|can be parsed/, {
    keys: [
      { algorithm: 'RS256', publicKey: '-----BEGIN PUBLIC KEY-----\nnot a key\n-----END PUBLIC KEY-----' },
    ],
  })
})

t.test('a key that does not fit the algorithm is refused', async (t) => {
  const ec = await keyPair('ES256')
  await refused(t, '/plugins/0/config/keys/0/publicKey', /cannot verify RS256/, {
    keys: [{ algorithm: 'RS256', publicKey: ec.pem }],
  })
  await refused(t, '/plugins/0/config/keys/0/publicKey', /cannot verify ES384/, {
    keys: [{ algorithm: 'ES384', publicKey: ec.pem }],
  })
})

t.test('a JWK whose kty or crv does not fit the algorithm is refused', async (t) => {
  const ec = await keyPair('ES256')
  await refused(t, '/plugins/0/config/keys/0/jwk/kty', /kty "EC" cannot verify RS256/, {
    keys: [{ algorithm: 'RS256', jwk: ec.jwk }],
  })
  await refused(t, '/plugins/0/config/keys/0/jwk/crv', /needs curve P-384/, {
    keys: [{ algorithm: 'ES384', jwk: ec.jwk }],
  })
  await refused(t, '/plugins/0/config/keys/0/jwk/kty', /needs "oct"/, {
    keys: [{ algorithm: 'HS256', jwk: ec.jwk }],
  })
})

t.test('no key material, or two, is refused', async (t) => {
  await refused(t, '/plugins/0/config/keys/0', /one of "secret", "publicKey" or "jwk" is required/, {
    keys: [{ algorithm: 'HS256' }],
  })
  const rsa = await keyPair('RS256')
  await refused(t, '/plugins/0/config/keys/0', /only one of/, {
    keys: [{ algorithm: 'RS256', publicKey: rsa.pem, jwk: rsa.jwk }],
  })
})

t.test('bad consumer credentials are named by their pointer', async (t) => {
  const rsa = await keyPair('RS256')
  await refused(t, '/consumers/1/credentials/jwt/0/secret', /must not be a public key/, {}, [
    { username: 'ok', credentials: { jwt: [{ key: 'a', secret: SECRET }] } },
    { username: 'bad', credentials: { jwt: [{ key: 'b', algorithm: 'HS256', secret: rsa.pem }] } },
  ])
  await refused(t, '/consumers/0/credentials/jwt/0/algorithm', /.+/, {}, [
    { username: 'bad', credentials: { jwt: [{ key: 'b', algorithm: 'none', secret: SECRET }] } },
  ])
})

t.test('a key or JWKS bound to an unknown consumer, or an unknown anonymous, is refused', async (t) => {
  await refused(t, '/plugins/0/config/keys/0/consumer', /no consumer/, {
    keys: [{ algorithm: 'HS256', secret: SECRET, consumer: 'ghost' }],
  })
  await refused(t, '/plugins/0/config/jwks/0/consumer', /no consumer/, {
    jwks: [{ url: 'http://127.0.0.1:9/jwks', consumer: 'ghost' }],
  })
  await refused(t, '/plugins/0/config/anonymous', /no consumer/, { anonymous: 'ghost' })
})

t.test('a JWKS URL that is not http(s) is refused', async (t) => {
  await refused(t, '/plugins/0/config/jwks/0/url', /must match an http:\/\/ or https:\/\/ URL/, {
    jwks: [{ url: 'file:///etc/passwd' }],
  })
})

t.test('an HMAC secret shorter than the hash output is refused (RFC 7518 §3.2)', async (t) => {
  for (const [algorithm, min] of [
    ['HS256', 32],
    ['HS384', 48],
    ['HS512', 64],
  ] as const) {
    const short = 'k'.repeat(min - 1)
    await refused(
      t,
      '/plugins/0/config/keys/0/secret',
      new RegExp(`${algorithm} secret must be at least ${min} bytes.*has ${min - 1}`),
      {
        keys: [{ algorithm, secret: short }],
      },
    )
    await refused(t, '/plugins/0/config/keys/0/jwk/k', new RegExp(`at least ${min} bytes`), {
      keys: [{ algorithm, jwk: { kty: 'oct', k: Buffer.from(short).toString('base64url') } }],
    })
    await refused(t, '/consumers/0/credentials/jwt/0/secret', new RegExp(`at least ${min} bytes`), {}, [
      { username: 'weak', credentials: { jwt: [{ key: 'weak-app', algorithm, secret: short }] } },
    ])
    const gw = await load({ keys: [{ algorithm, secret: 'k'.repeat(min) }] })
    await gw.close()
  }
  // Bytes, not characters: 16 two-byte characters are 32 bytes.
  const gw = await load({ keys: [{ algorithm: 'HS256', secret: 'é'.repeat(16) }] })
  await gw.close()
})
