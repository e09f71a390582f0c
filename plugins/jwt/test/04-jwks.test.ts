import { startGateway, startUpstream } from '@gatehousejs/sdk/testing'
import { exportPKCS8, importPKCS8 } from 'jose'
import t from 'tap'
import jwt from '../src/index.js'
import { maxAgeOf } from '../src/jwks.js'
import { bearer, forge, keyPair, now, routeConfig, sign, startJwks } from './fixtures/helpers.js'

const ISS = 'https://idp.example'
const claims = () => ({ iss: ISS, sub: 'u-1', exp: now() + 300 })

t.test(
  'rotation: a new key works at once, with no failed request; a removed key stops after refresh',
  async (t) => {
    const a = await keyPair('RS256', { kid: 'a' })
    const b = await keyPair('ES256', { kid: 'b' })
    const jwks = await startJwks(t, [a.jwk], 'max-age=3')
    const upstream = await startUpstream({ t })
    const gw = await startGateway({
      t,
      plugins: [jwt],
      config: routeConfig(upstream.url, { issuers: [ISS], jwks: [{ url: jwks.url, issuer: ISS }] }),
    })
    t.equal(jwks.state.hits, 1, 'fetched once at load')
    const tokenA = await sign(claims(), a.privateKey, { alg: 'RS256', kid: 'a' })
    t.equal((await gw.request({ path: '/api/x', headers: bearer(tokenA) })).status, 200)

    // The provider publishes b and starts signing with it: 40 concurrent requests, mixed a and b.
    jwks.state.keys = [a.jwk, b.jwk]
    const tokenB = await sign(claims(), b.privateKey, { alg: 'ES256', kid: 'b' })
    const results = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        gw.request({ path: '/api/x', headers: bearer(i % 2 ? tokenA : tokenB) }),
      ),
    )
    t.same(
      results.map((r) => r.status),
      Array(40).fill(200),
      'no request failed',
    )
    t.equal(jwks.state.hits, 2, 'one refetch for the unknown kid, shared by all requests')

    // The provider drops a: once the set expires (max-age=3) and is refetched, a is refused.
    jwks.state.keys = [b.jwk]
    await new Promise((r) => setTimeout(r, 3100))
    const res = await gw.request({ path: '/api/x', headers: bearer(tokenA) })
    t.equal(res.status, 401)
    t.equal(res.json().code, 'GH_JWT_UNKNOWN_KEY')
    t.equal((await gw.request({ path: '/api/x', headers: bearer(tokenB) })).status, 200)
  },
)

t.test('unknown kids refetch at most once per jwksRefreshInterval', async (t) => {
  const a = await keyPair('RS256', { kid: 'a' })
  const jwks = await startJwks(t, [a.jwk])
  const upstream = await startUpstream({ t })
  const gw = await startGateway({
    t,
    plugins: [jwt],
    config: routeConfig(upstream.url, { jwks: [{ url: jwks.url }], jwksRefreshInterval: '1m' }),
  })
  for (let i = 0; i < 10; i++) {
    const tok = await sign(claims(), a.privateKey, { alg: 'RS256', kid: `random-${i}` })
    const res = await gw.request({ path: '/api/x', headers: bearer(tok) })
    t.equal(res.json().code, 'GH_JWT_UNKNOWN_KEY')
  }
  t.equal(jwks.state.hits, 2, 'the load, then one refetch')
  t.equal(upstream.requests.length, 0)
})

t.test('a JWKS key pins its algorithm: alg from the JWK, else by key type', async (t) => {
  const a = await keyPair('RS256', { kid: 'a' })
  const p = await keyPair('PS384', { kid: 'p' })
  const pjwk = { ...p.jwk, alg: 'PS384' }
  const jwks = await startJwks(t, [
    a.jwk,
    pjwk,
    { kty: 'oct', kid: 'h', k: Buffer.from('secret').toString('base64url') },
  ])
  const upstream = await startUpstream({ t })
  const gw = await startGateway({
    t,
    plugins: [jwt],
    config: routeConfig(upstream.url, { jwks: [{ url: jwks.url }] }),
  })
  t.equal(
    (
      await gw.request({
        path: '/api/x',
        headers: bearer(await sign(claims(), p.privateKey, { alg: 'PS384', kid: 'p' })),
      })
    ).status,
    200,
  )
  // An RSA key without alg accepts RS256 only, by default.
  const rs512 = await sign(claims(), await importPKCS8(await exportPKCS8(a.privateKey), 'RS512'), {
    alg: 'RS512',
    kid: 'a',
  })
  t.equal(
    (await gw.request({ path: '/api/x', headers: bearer(rs512) })).json().code,
    'GH_JWT_ALGORITHM_NOT_ALLOWED',
  )
  // A symmetric key in a JWKS is never used: anyone who can read the set could sign with it.
  const hs = forge({ alg: 'HS256', kid: 'h' }, claims(), 'secret')
  t.equal((await gw.request({ path: '/api/x', headers: bearer(hs) })).json().code, 'GH_JWT_UNKNOWN_KEY')
  t.equal(upstream.requests.length, 1)
})

t.test(
  'a JWKS that is down: 503 until it is first fetched; later outages keep the cached keys',
  async (t) => {
    const a = await keyPair('ES256', { kid: 'a' })
    const jwks = await startJwks(t, [a.jwk], 'max-age=1')
    jwks.state.status = 500
    const upstream = await startUpstream({ t })
    const gw = await startGateway({
      t,
      plugins: [jwt],
      config: routeConfig(upstream.url, { jwks: [{ url: jwks.url }] }),
    })
    const tok = await sign(claims(), a.privateKey, { alg: 'ES256', kid: 'a' })
    let res = await gw.request({ path: '/api/x', headers: bearer(tok) })
    t.equal(res.status, 503)
    t.equal(res.json().code, 'GH_JWT_KEYS_UNAVAILABLE')
    jwks.state.status = 200
    await new Promise((r) => setTimeout(r, 1100))
    res = await gw.request({ path: '/api/x', headers: bearer(tok) })
    t.equal(res.status, 200, 'fetched once the provider is back')
    jwks.state.status = 500
    await new Promise((r) => setTimeout(r, 1100))
    res = await gw.request({ path: '/api/x', headers: bearer(tok) })
    t.equal(res.status, 200, 'the expired set stays in use while the provider is down')
  },
)

t.test('Cache-Control max-age', async (t) => {
  t.equal(maxAgeOf('public, max-age=600'), 600_000)
  t.equal(maxAgeOf('s-maxage=60, max-age=600'), 60_000)
  t.equal(maxAgeOf('no-store'), 0)
  t.equal(maxAgeOf(null), undefined)
  t.equal(maxAgeOf('public'), undefined)
})
