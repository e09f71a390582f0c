import { startGateway, startUpstream, type TestGateway } from '@gatehousejs/sdk/testing'
import t, { type Test } from 'tap'
import jwt from '../src/index.js'
import { bearer, forge, hsKey, now, routeConfig, SECRET, sign } from './fixtures/helpers.js'

const consumers = [
  {
    id: 'c-alice',
    username: 'alice',
    customId: 'A-1',
    groups: ['staff', 'admin'],
    credentials: {
      jwt: [
        { key: 'alice-app', secret: SECRET },
        { key: 'alice-384', algorithm: 'HS384', secret: `${SECRET}-${SECRET}-384` },
        {
          key: 'alice-512',
          algorithm: 'HS512',
          jwk: { kty: 'oct', k: Buffer.from(`${SECRET}-${SECRET}-512`).toString('base64url') },
        },
      ],
    },
  },
  { id: 'anon', username: 'anonymous' },
]

async function setup(t: Test, jwtConfig: Record<string, unknown> = {}) {
  const upstream = await startUpstream({ t })
  const gw = await startGateway({
    t,
    plugins: [jwt],
    config: routeConfig(upstream.url, jwtConfig, { consumers } as never),
  })
  return { upstream, gw }
}

const token = (payload: Record<string, unknown> = {}, alg = 'HS256', secret = SECRET) =>
  sign({ iss: 'alice-app', sub: 'u-42', ...payload }, hsKey(secret), { alg })

t.test('HS256/384/512 tokens of a consumer credential pass; identity reaches the upstream', async (t) => {
  const { upstream, gw } = await setup(t)
  for (const [iss, alg, secret] of [
    ['alice-app', 'HS256', SECRET],
    ['alice-384', 'HS384', `${SECRET}-${SECRET}-384`],
    ['alice-512', 'HS512', `${SECRET}-${SECRET}-512`],
  ] as const) {
    const tok = await sign({ iss, exp: now() + 60 }, hsKey(secret), { alg })
    const res = await gw.request({
      path: '/api/x',
      headers: { ...bearer(tok), 'x-consumer-id': 'forged', 'x-consumer-username': 'mallory' },
    })
    t.equal(res.status, 200, alg)
    const seen = upstream.last()?.headers ?? {}
    t.equal(seen['x-consumer-id'], 'c-alice')
    t.equal(seen['x-consumer-username'], 'alice')
    t.equal(seen['x-consumer-custom-id'], 'A-1')
    t.equal(seen['x-consumer-groups'], 'staff, admin')
    t.equal(seen['x-credential-identifier'], iss)
  }
})

t.test('no token: 401 GH_JWT_MISSING with a bare Bearer challenge, nothing proxied', async (t) => {
  const { upstream, gw } = await setup(t, { realm: 'api' })
  for (const headers of [{}, { authorization: 'Basic YTpi' }, { authorization: 'Bearer' }] as Record<
    string,
    string
  >[]) {
    const res = await gw.request({ path: '/api/x', headers })
    t.equal(res.status, 401)
    t.equal(res.json().code, 'GH_JWT_MISSING')
    t.equal(res.headers['www-authenticate'], 'Bearer realm="api"')
  }
  t.equal(upstream.requests.length, 0)
})

async function expect401(t: Test, gw: TestGateway, tok: string, code: string) {
  const res = await gw.request({ path: '/api/x', headers: bearer(tok) })
  t.equal(res.status, 401, code)
  t.equal(res.json().code, code)
  t.match(
    String(res.headers['www-authenticate']),
    /^Bearer realm="gatehouse", error="invalid_token", error_description=".+"$/,
  )
}

t.test('each bad token gets its own code and an invalid_token challenge; nothing is proxied', async (t) => {
  const { upstream, gw } = await setup(t, { maximumExpiration: '1h' })
  await expect401(t, gw, 'not-a-jwt', 'GH_JWT_MALFORMED')
  await expect401(t, gw, 'a.b.c', 'GH_JWT_MALFORMED')
  await expect401(t, gw, await token({ exp: now() - 10 }), 'GH_JWT_EXPIRED')
  await expect401(t, gw, await token({ exp: now() + 60, nbf: now() + 30 }), 'GH_JWT_NOT_YET_VALID')
  await expect401(
    t,
    gw,
    await token({ exp: now() + 60 }, 'HS256', 'another-secret'),
    'GH_JWT_INVALID_SIGNATURE',
  )
  await expect401(t, gw, await token({ exp: now() + 60 }, 'HS384'), 'GH_JWT_ALGORITHM_NOT_ALLOWED')
  await expect401(t, gw, await token({ iss: 'nobody', exp: now() + 60 }), 'GH_JWT_UNKNOWN_KEY')
  await expect401(t, gw, await token({ exp: now() + 7200 }), 'GH_JWT_LIFETIME_EXCEEDED')
  await expect401(t, gw, await token({}), 'GH_JWT_CLAIM_INVALID')
  await expect401(t, gw, await token({ exp: now() + 60, iat: now() + 600 }), 'GH_JWT_CLAIM_INVALID')
  // alg "none", with and without the signature part, in any case.
  for (const alg of ['none', 'None', 'NONE']) {
    await expect401(
      t,
      gw,
      forge({ alg, typ: 'JWT' }, { iss: 'alice-app', exp: now() + 60 }),
      'GH_JWT_ALGORITHM_NOT_ALLOWED',
    )
  }
  // A valid HS256 signature, but the header asks for its key from a URL or embeds one.
  for (const param of ['jku', 'x5u', 'jwk']) {
    const tok = forge(
      { alg: 'HS256', [param]: param === 'jwk' ? { kty: 'oct', k: 'AA' } : 'https://evil.example/keys' },
      { iss: 'alice-app', exp: now() + 60 },
      SECRET,
    )
    await expect401(t, gw, tok, 'GH_JWT_HEADER_NOT_ALLOWED')
  }
  t.equal(upstream.requests.length, 0)
})

t.test('clockSkew tolerates a slightly expired token', async (t) => {
  const { gw } = await setup(t, { clockSkew: '30s' })
  const res = await gw.request({ path: '/api/x', headers: bearer(await token({ exp: now() - 10 })) })
  t.equal(res.status, 200)
  await expect401(t, gw, await token({ exp: now() - 60 }), 'GH_JWT_EXPIRED')
})

t.test('issuers, audiences and required claims', async (t) => {
  const { gw } = await setup(t, {
    issuers: ['alice-app'],
    audiences: ['orders', 'billing'],
    requiredClaims: ['sub'],
  })
  t.equal(
    (await gw.request({ path: '/api/x', headers: bearer(await token({ aud: ['x', 'billing'] })) })).status,
    200,
  )
  await expect401(t, gw, await token({ aud: 'payroll' }), 'GH_JWT_CLAIM_INVALID')
  await expect401(t, gw, await token({}), 'GH_JWT_CLAIM_INVALID')
  await expect401(t, gw, await token({ aud: 'orders', sub: undefined }), 'GH_JWT_CLAIM_INVALID')
})

t.test('the token may come from a cookie or a query parameter when configured', async (t) => {
  const { upstream, gw } = await setup(t, { cookies: ['session'], queryParams: ['jwt'] })
  const tok = await token()
  t.equal((await gw.request({ path: '/api/x', headers: { cookie: `a=1; session=${tok}; b=2` } })).status, 200)
  t.equal((await gw.request({ path: `/api/x?jwt=${tok}` })).status, 200)
  t.equal(upstream.requests.length, 2)
  const res = await gw.request({ path: '/api/x', headers: { cookie: `other=${tok}` } })
  t.equal(res.json().code, 'GH_JWT_MISSING')
})

t.test(
  'claimsToHeaders forwards claims; client copies of those headers never reach the upstream',
  async (t) => {
    const { upstream, gw } = await setup(t, {
      claimsToHeaders: { sub: 'X-User-Id', scope: 'x-scopes', roles: 'x-roles' },
    })
    const tok = await token({ scope: 'read write', roles: ['a', 'b'] })
    await gw.request({ path: '/api/x', headers: { ...bearer(tok), 'x-user-id': 'forged' } })
    const seen = upstream.last()?.headers ?? {}
    t.equal(seen['x-user-id'], 'u-42')
    t.equal(seen['x-scopes'], 'read write')
    t.equal(seen['x-roles'], 'a, b')
    const tok2 = await token({ sub: undefined })
    await gw.request({ path: '/api/x', headers: { ...bearer(tok2), 'x-user-id': 'forged' } })
    t.equal(
      upstream.last()?.headers['x-user-id'],
      undefined,
      'absent claim: the forged header is still removed',
    )
  },
)

t.test('with anonymous, a missing or bad token passes as the anonymous consumer', async (t) => {
  const { upstream, gw } = await setup(t, { anonymous: 'anonymous' })
  t.equal((await gw.request({ path: '/api/x' })).status, 200)
  t.equal(upstream.last()?.headers['x-anonymous-consumer'], 'true')
  t.equal(upstream.last()?.headers['x-consumer-id'], 'anon')
  const bad = await token({ exp: now() - 100 })
  t.equal((await gw.request({ path: '/api/x', headers: bearer(bad) })).status, 200)
  t.equal(upstream.last()?.headers['x-consumer-id'], 'anon')
  await gw.request({ path: '/api/x', headers: bearer(await token()) })
  t.equal(upstream.last()?.headers['x-consumer-id'], 'c-alice')
  t.equal(upstream.last()?.headers['x-anonymous-consumer'], undefined)
})

t.test('keyClaim "kid" looks credentials up by the header kid', async (t) => {
  const { gw } = await setup(t, { keyClaim: 'kid' })
  const tok = await sign({ iss: 'whoever' }, hsKey(), { alg: 'HS256', kid: 'alice-app' })
  t.equal((await gw.request({ path: '/api/x', headers: bearer(tok) })).status, 200)
})
