/**
 * Bearer mode against a real OpenID Provider: JWT access tokens verified with the provider's JWKS
 * (found by discovery), opaque ones by introspection, and what the upstream receives.
 */

import { createGateway } from '@gatehousejs/core'
import { request } from '@gatehousejs/sdk/testing'
import t from 'tap'
import openidConnect from '../src/index.js'
import { tokenFromCodeFlow } from './fixtures/flow.js'
import { CLIENT_ID, freePort, signingKey } from './fixtures/provider.js'
import { rig } from './fixtures/setup.js'

const now = () => Math.floor(Date.now() / 1000)
const bearer = (token: string) => ({ authorization: `Bearer ${token}` })

t.test('a JWT access token from the provider passes; identity headers go upstream', async (t) => {
  const { url, op, upstream } = await rig(t, {
    groupsClaim: 'groups',
    claimsToHeaders: { email: 'x-user-email' },
  })
  const token = await op.sign({
    sub: 'alice',
    email: 'alice@example.com',
    groups: ['staff', 'ops'],
    scope: 'read',
  })
  const res = await request(url, {
    path: '/app/x',
    headers: { ...bearer(token), 'x-user-email': 'forged@evil' },
  })
  t.equal(res.status, 200)
  const h = upstream.last()!.headers
  t.equal(h['x-consumer-id'], 'alice')
  t.equal(h['x-consumer-groups'], 'staff, ops')
  t.equal(h['x-user-email'], 'alice@example.com')
  t.equal(h['x-credential-identifier'], 'alice')
})

t.test('expired, tampered, wrong audience, wrong issuer, unsigned: 401 with a challenge', async (t) => {
  const { url, op, upstream } = await rig(t)
  const good = await op.sign({})
  const cases: Array<[string, string, string]> = [
    ['expired', await op.sign({ exp: now() - 3600 }), 'GH_OIDC_TOKEN_EXPIRED'],
    [
      'tampered',
      `${good.split('.')[0]}.${Buffer.from(JSON.stringify({ iss: op.issuer, aud: CLIENT_ID, sub: 'root', exp: now() + 60 })).toString('base64url')}.${good.split('.')[2]}`,
      'GH_OIDC_TOKEN_INVALID',
    ],
    ['wrong audience', await op.sign({ aud: 'someone-else' }), 'GH_OIDC_TOKEN_INVALID'],
    ['wrong issuer', await op.sign({ iss: 'https://evil.example' }), 'GH_OIDC_TOKEN_INVALID'],
    ['unknown key', await op.sign({}, await signingKey('stranger')), 'GH_OIDC_TOKEN_INVALID'],
    ['unsigned', `${good.split('.').slice(0, 2).join('.')}.`, 'GH_OIDC_TOKEN_INVALID'],
  ]
  for (const [name, token, code] of cases) {
    const res = await request(url, { path: '/app', headers: bearer(token) })
    t.equal(res.status, 401, name)
    t.equal(res.json().code, code, name)
    t.match(res.headers['www-authenticate'], /^Bearer realm="gatehouse", error="invalid_token"/, name)
  }
  const none = await request(url, { path: '/app' })
  t.equal(none.status, 401)
  t.equal(none.json().code, 'GH_OIDC_MISSING')
  t.equal(none.headers['www-authenticate'], 'Bearer realm="gatehouse"')
  const huge = await request(url, { path: '/app', headers: bearer('a'.repeat(9000)) })
  t.equal(huge.status, 400)
  t.equal(huge.json().code, 'GH_OIDC_TOKEN_TOO_LARGE')
  t.equal(upstream.requests.length, 0, 'nothing reached the upstream')
})

t.test('key rotation: a token signed with a key the provider just published passes at once', async (t) => {
  const { url, op } = await rig(t, { jwksCooldown: '0s' })
  t.equal((await request(url, { path: '/app', headers: bearer(await op.sign({})) })).status, 200)
  const k2 = await signingKey('k2')
  op.rotate([k2, ...op.keys])
  const res = await request(url, { path: '/app', headers: bearer(await op.sign({}, k2)) })
  t.equal(res.status, 200, 'the new kid made the gateway refetch the JWKS')
})

t.test('scopes and claim rules: 403 with insufficient_scope', async (t) => {
  const { url, op } = await rig(t, {
    scopes: ['orders:read'],
    claims: [
      { claim: 'email_verified', equals: true },
      { claim: 'groups', contains: 'staff' },
      { claim: 'tenant', anyOf: ['acme', 'globex'] },
    ],
  })
  const ok = { scope: 'openid orders:read', email_verified: true, groups: ['staff'], tenant: 'acme' }
  t.equal((await request(url, { path: '/app', headers: bearer(await op.sign(ok)) })).status, 200)
  const noScope = await request(url, {
    path: '/app',
    headers: bearer(await op.sign({ ...ok, scope: 'openid' })),
  })
  t.equal(noScope.status, 403)
  t.equal(noScope.json().code, 'GH_OIDC_INSUFFICIENT_SCOPE')
  t.match(noScope.headers['www-authenticate'], /error="insufficient_scope", scope="orders:read"/)
  for (const bad of [{ email_verified: false }, { groups: ['guests'] }, { tenant: 'initech' }]) {
    const res = await request(url, { path: '/app', headers: bearer(await op.sign({ ...ok, ...bad })) })
    t.equal(res.status, 403)
    t.equal(res.json().code, 'GH_OIDC_CLAIM_REJECTED')
  }
})

t.test(
  "consumers: a configured consumer by claim (groups merged with the claim's), consumerRequired",
  async (t) => {
    const { url, op, upstream } = await rig(
      t,
      { consumerClaim: 'email', consumerRequired: true, groupsClaim: 'groups' },
      {
        consumers: [{ id: 'c-1', username: 'alice@example.com', groups: ['customers'] }],
      },
    )
    const alice = await op.sign({ email: 'alice@example.com', groups: ['staff'] })
    const res = await request(url, { path: '/app', headers: bearer(alice) })
    t.equal(res.status, 200)
    t.equal(upstream.last()!.headers['x-consumer-id'], 'c-1')
    t.equal(upstream.last()!.headers['x-consumer-groups'], 'customers, staff')
    const stranger = await request(url, {
      path: '/app',
      headers: bearer(await op.sign({ email: 'bob@example.com' })),
    })
    t.equal(stranger.status, 401)
    t.equal(stranger.json().code, 'GH_OIDC_UNKNOWN_CONSUMER')
  },
)

t.test('opaque tokens: introspection, cached by token hash; inactive tokens refused', async (t) => {
  const { url, op, upstream } = await rig(t, {})
  // A real opaque access token, from the provider's code flow.
  const token = await tokenFromCodeFlow(url, op)
  t.notOk(token.includes('.'), 'the provider issued an opaque token')
  const res = await request(url, { path: '/app', headers: bearer(token) })
  t.equal(res.status, 200)
  t.equal(upstream.last()!.headers['x-consumer-id'], 'alice')
  // The answer is cached: with the provider gone, the token still passes.
  await op.close()
  t.equal((await request(url, { path: '/app', headers: bearer(token) })).status, 200, 'served from the cache')
  const unknown = await request(url, {
    path: '/app',
    headers: bearer('an-opaque-token-the-provider-never-issued'),
  })
  t.equal(unknown.status, 503, 'an uncached token needs the provider')
  t.equal(unknown.json().code, 'GH_OIDC_PROVIDER_UNAVAILABLE')
})

t.test('an inactive opaque token is 401', async (t) => {
  const { url } = await rig(t, {})
  const res = await request(url, {
    path: '/app',
    headers: bearer('an-opaque-token-the-provider-never-issued'),
  })
  t.equal(res.status, 401)
  t.equal(res.json().code, 'GH_OIDC_TOKEN_INVALID')
})

t.test('provider down from the start: bearer requests get 503 at once, never a hang', async (t) => {
  const dead = `http://127.0.0.1:${await freePort()}`
  const gw = await createGateway(
    {
      services: [{ name: 'app', url: 'http://127.0.0.1:9', routes: [{ paths: ['/app'] }] }],
      plugins: [{ name: 'openid-connect', config: { issuer: dead, clientId: CLIENT_ID, timeout: '1s' } }],
    },
    { plugins: [openidConnect], logger: false, handleSignals: false },
  )
  const url = await gw.listen({ port: 0, host: '127.0.0.1' })
  t.teardown(() => gw.close())
  for (let i = 0; i < 3; i++) {
    const res = await request(url, { path: '/app', headers: bearer('opaque-token'), timeout: 5_000 })
    t.equal(res.status, 503)
    t.equal(res.json().code, 'GH_OIDC_PROVIDER_UNAVAILABLE')
  }
})
