import { startGateway, startUpstream } from '@gatehousejs/sdk/testing'
import { exportPKCS8, importPKCS8 } from 'jose'
import t from 'tap'
import jwt from '../src/index.js'
import { bearer, ed448, forge, keyPair, now, routeConfig, sign } from './fixtures/helpers.js'

const ALGS: Array<[alg: string, crv?: string]> = [
  ['RS256'],
  ['RS384'],
  ['RS512'],
  ['PS256'],
  ['PS384'],
  ['PS512'],
  ['ES256'],
  ['ES384'],
  ['ES512'],
  ['EdDSA', 'Ed25519'],
]

t.test(
  'every asymmetric algorithm verifies, from a PEM and from a JWK, per kid and per issuer',
  async (t) => {
    const upstream = await startUpstream({ t })
    const pairs = await Promise.all(ALGS.map(([alg, crv]) => keyPair(alg, crv ? { crv } : {})))
    const keys = pairs.flatMap((p, i) => [
      { kid: `pem-${i}`, algorithm: p.alg, publicKey: p.pem },
      { issuer: `https://idp-${i}.example`, algorithm: p.alg, jwk: p.jwk },
    ])
    const gw = await startGateway({
      t,
      plugins: [jwt],
      config: routeConfig(upstream.url, { keys, claimsToHeaders: { sub: 'x-sub' } }),
    })
    for (const [i, p] of pairs.entries()) {
      const name = `${p.alg}${ALGS[i]?.[1] ? ` ${ALGS[i]?.[1]}` : ''}`
      const byKid = await sign({ sub: `kid-${i}`, exp: now() + 60 }, p.privateKey, {
        alg: p.alg,
        kid: `pem-${i}`,
      })
      let res = await gw.request({ path: '/api/x', headers: bearer(byKid) })
      t.equal(res.status, 200, `${name} by kid (PEM)`)
      t.equal(upstream.last()?.headers['x-sub'], `kid-${i}`)
      const byIss = await sign({ iss: `https://idp-${i}.example`, exp: now() + 60 }, p.privateKey, {
        alg: p.alg,
      })
      res = await gw.request({ path: '/api/x', headers: bearer(byIss) })
      t.equal(res.status, 200, `${name} by issuer (JWK)`)
      // Signed by a key of the same type that is not the configured one.
      const other = await keyPair(p.alg, ALGS[i]?.[1] ? { crv: ALGS[i]?.[1] } : {})
      const forged = await sign({ exp: now() + 60 }, other.privateKey, { alg: p.alg, kid: `pem-${i}` })
      res = await gw.request({ path: '/api/x', headers: bearer(forged) })
      t.equal(res.json().code, 'GH_JWT_INVALID_SIGNATURE', `${name}: another key's signature`)
    }
  },
)

t.test('EdDSA with Ed448, from a PEM and a JWK', async (t) => {
  const upstream = await startUpstream({ t })
  const k = ed448()
  const keys = [
    { kid: 'pem', algorithm: 'EdDSA', publicKey: k.pem },
    { kid: 'jwk', algorithm: 'EdDSA', jwk: k.jwk },
  ]
  const gw = await startGateway({ t, plugins: [jwt], config: routeConfig(upstream.url, { keys }) })
  for (const kid of ['pem', 'jwk']) {
    const res = await gw.request({ path: '/api/x', headers: bearer(k.sign({ exp: now() + 60 }, { kid })) })
    t.equal(res.status, 200, kid)
  }
  const other = ed448()
  const res = await gw.request({
    path: '/api/x',
    headers: bearer(other.sign({ exp: now() + 60 }, { kid: 'pem' })),
  })
  t.equal(res.json().code, 'GH_JWT_INVALID_SIGNATURE')
})

t.test(
  'attacks on an RSA key: HS/RS confusion, another RS alg, alg none — all 401, never proxied',
  async (t) => {
    const upstream = await startUpstream({ t })
    const rsa = await keyPair('RS256')
    const gw = await startGateway({
      t,
      plugins: [jwt],
      config: routeConfig(upstream.url, {}, {
        consumers: [
          { username: 'svc', credentials: { jwt: [{ key: 'svc', algorithm: 'RS256', publicKey: rsa.pem }] } },
        ],
      } as never),
    })
    const payload = { iss: 'svc', exp: now() + 60 }
    t.equal(
      (
        await gw.request({
          path: '/api/x',
          headers: bearer(await sign(payload, rsa.privateKey, { alg: 'RS256' })),
        })
      ).status,
      200,
    )
    const before = upstream.requests.length

    // The classic: HS256 "signed" with the RSA public key (PEM text) as the HMAC secret.
    const confused = forge({ alg: 'HS256', typ: 'JWT' }, payload, rsa.pem)
    let res = await gw.request({ path: '/api/x', headers: bearer(confused) })
    t.equal(res.status, 401)
    t.equal(res.json().code, 'GH_JWT_ALGORITHM_NOT_ALLOWED')
    // The key is pinned to RS256: PS256 with the right private key is still refused.
    const asPss = await importPKCS8(await exportPKCS8(rsa.privateKey), 'PS256')
    res = await gw.request({ path: '/api/x', headers: bearer(await sign(payload, asPss, { alg: 'PS256' })) })
    t.equal(res.json().code, 'GH_JWT_ALGORITHM_NOT_ALLOWED')
    res = await gw.request({ path: '/api/x', headers: bearer(forge({ alg: 'none' }, payload)) })
    t.equal(res.json().code, 'GH_JWT_ALGORITHM_NOT_ALLOWED')
    // A token that embeds its own key in the header.
    const attacker = await keyPair('RS256')
    res = await gw.request({
      path: '/api/x',
      headers: bearer(await sign(payload, attacker.privateKey, { alg: 'RS256', jwk: attacker.jwk })),
    })
    t.equal(res.json().code, 'GH_JWT_HEADER_NOT_ALLOWED')
    t.equal(upstream.requests.length, before, 'no attack reached the upstream')
  },
)

t.test('tokens from a key bound to no consumer pass without one; consumerClaim picks one', async (t) => {
  const upstream = await startUpstream({ t })
  const ec = await keyPair('ES256')
  const consumers = [{ id: 'u-1', username: 'bob' }]
  const gw = await startGateway({
    t,
    plugins: [jwt],
    config: routeConfig(upstream.url, { keys: [{ issuer: 'idp', algorithm: 'ES256', publicKey: ec.pem }] }, {
      consumers,
    } as never),
  })
  const res = await gw.request({
    path: '/api/x',
    headers: bearer(await sign({ iss: 'idp', sub: 'bob' }, ec.privateKey, { alg: 'ES256' })),
  })
  t.equal(res.status, 200)
  t.equal(upstream.last()?.headers['x-consumer-id'], undefined, 'no consumer: no identity headers')

  const upstream2 = await startUpstream({ t })
  const gw2 = await startGateway({
    t,
    plugins: [jwt],
    config: routeConfig(
      upstream2.url,
      { consumerClaim: 'sub', keys: [{ issuer: 'idp', algorithm: 'ES256', publicKey: ec.pem }] },
      { consumers } as never,
    ),
  })
  t.equal(
    (
      await gw2.request({
        path: '/api/x',
        headers: bearer(await sign({ iss: 'idp', sub: 'bob' }, ec.privateKey, { alg: 'ES256' })),
      })
    ).status,
    200,
  )
  t.equal(upstream2.last()?.headers['x-consumer-id'], 'u-1')
  t.equal(upstream2.last()?.headers['x-credential-identifier'], 'idp')
  const unknown = await gw2.request({
    path: '/api/x',
    headers: bearer(await sign({ iss: 'idp', sub: 'eve' }, ec.privateKey, { alg: 'ES256' })),
  })
  t.equal(unknown.status, 401)
  t.equal(unknown.json().code, 'GH_JWT_UNKNOWN_CONSUMER')
  t.equal(upstream2.requests.length, 1)
})
