/**
 * The edges of issue 22, each against the real OpenID Provider: rolling and absolute timeouts,
 * a refresh the provider refuses or cannot answer, the introspection cache's `exp`, max TTL and
 * size, API versus browser requests by `Accept` and by route, claim rules, scopes on sessions, and
 * the groups claim used by the real acl plugin.
 */
import { setTimeout as sleep } from 'node:timers/promises'
import acl from '@gatehousejs/plugin-acl'
import { request } from '@gatehousejs/sdk/testing'
import t from 'tap'
import { CookieSeal, type Session } from '../src/session.js'
import { revoke, tokenFromCodeFlow } from './fixtures/flow.js'
import { CLIENT_ID, CLIENT_SECRET, hop, Jar, loginAtProvider } from './fixtures/provider.js'
import { browserConfig, gatewayFor, type Rig, rig } from './fixtures/setup.js'

const code = (res: { body: Buffer | string }) => JSON.parse(res.body.toString()).code as string
const bearer = (token: string) => ({ authorization: `Bearer ${token}` })

async function login(r: Rig, jar: Jar, url = r.url) {
  const start = await hop(`${url}/app/home`, jar)
  await hop(await loginAtProvider(start.location!, 'alice'), jar)
}

/** An API call with the browser's cookies, keeping the cookie the gateway sends back (rolled, refreshed). */
const api = (url: string, jar: Jar) =>
  hop(`${url}/app/data`, jar, { headers: { accept: 'application/json' } })

const withBrowser =
  (extra: Record<string, unknown> = {}, top: Record<string, unknown> = {}) =>
  (url: string) => ({ ...top, browser: { ...browserConfig(url), ...extra } })

t.test('rolling timeout: a session in use outlives idleTimeout; left idle, it ends', async (t) => {
  const r = await rig(t, withBrowser({ idleTimeout: '3s' }))
  const jar = new Jar()
  await login(r, jar)
  // Used every second for 5 s: longer than the idle timeout since login, never idle that long.
  for (let i = 0; i < 5; i++) {
    await sleep(1_000)
    const res = await api(r.url, jar)
    t.equal(res.status, 200, `use ${i + 1}`)
  }
  await sleep(3_500)
  const idle = await api(r.url, jar)
  t.equal(idle.status, 401)
  t.equal(code(idle), 'GH_OIDC_SESSION_EXPIRED')
  t.match(idle.headers['set-cookie'], [/^gh_oidc=; .*Max-Age=0/])
})

t.test('absolute timeout: a session ends however much it is used; a browser logs in again', async (t) => {
  const r = await rig(t, withBrowser({ absoluteTimeout: '3s' }))
  const jar = new Jar()
  await login(r, jar)
  const cookie = jar.header()
  t.equal((await api(r.url, jar)).status, 200)
  // Used every second (so never idle), until past the absolute timeout.
  for (let i = 0; i < 4; i++) {
    await sleep(1_000)
    await api(r.url, jar)
  }
  const res = await request(r.url, { path: '/app/data', headers: { cookie, accept: 'application/json' } })
  t.equal(res.status, 401)
  t.equal(code(res), 'GH_OIDC_SESSION_EXPIRED')
  const nav = await request(r.url, { path: '/app/page', headers: { cookie, accept: 'text/html' } })
  t.equal(nav.status, 302, 'a navigation goes to the provider')
  t.equal(new URL(nav.headers.location as string).origin, r.op.issuer)
  t.match(nav.headers['set-cookie'], [/^gh_oidc=; .*Max-Age=0/, /^gh_oidc_tx=/])
})

t.test('refresh refused (refresh token revoked): 401 for APIs, a new login for browsers', async (t) => {
  // Access tokens live 5 s: every request needs a refresh.
  const r = await rig(t, withBrowser(), { accessTokenTtl: 5 })
  const jar = new Jar()
  await login(r, jar)
  const session = await new CookieSeal(browserConfig(r.url).sessionSecret).open<Session>(
    'session',
    jar.get('gh_oidc')!,
  )
  t.ok(session?.rt, 'the session holds a refresh token')
  await revoke(r.op, session!.rt!)
  const cookie = jar.header()
  const res = await api(r.url, jar)
  t.equal(res.status, 401)
  t.equal(code(res), 'GH_OIDC_SESSION_EXPIRED')
  t.equal(res.headers['www-authenticate'], 'Bearer realm="gatehouse"')
  const nav = await request(r.url, { path: '/app/page', headers: { cookie, accept: 'text/html' } })
  t.equal(nav.status, 302)
  t.equal(new URL(nav.headers.location as string).origin, r.op.issuer)
  t.equal(r.upstream.requests.length, 0)
})

t.test('provider down at refresh time: 503, the session kept for when it is back', async (t) => {
  const r = await rig(t, withBrowser(), { accessTokenTtl: 5 })
  const jar = new Jar()
  await login(r, jar)
  await r.op.close()
  const res = await api(r.url, jar)
  t.equal(res.status, 503)
  t.equal(code(res), 'GH_OIDC_PROVIDER_UNAVAILABLE')
  t.notOk(res.headers['set-cookie'], 'the cookie is not cleared: the user did nothing wrong')
})

t.test('provider down from the start: a browser navigation gets 503, never a hang', async (t) => {
  const r = await rig(t, withBrowser())
  await r.op.close()
  // A new gateway that has never reached the provider.
  const gw = await gatewayFor(t, {
    op: r.op,
    upstream: r.upstream,
    config: withBrowser({}, { timeout: '1s' })(r.url),
  })
  for (let i = 0; i < 2; i++) {
    const res = await request(gw.url!, {
      path: '/app/page',
      headers: { accept: 'text/html' },
      timeout: 5_000,
    })
    t.equal(res.status, 503)
    t.equal(code(res), 'GH_OIDC_PROVIDER_UNAVAILABLE')
  }
})

t.test('introspection cache: an answer is not used past the token exp', async (t) => {
  // 5 s (4 to 5 in whole seconds of exp): the code flow and two requests must fit in it, however
  // busy the machine.
  const r = await rig(t, {}, { accessTokenTtl: 5 })
  const count = () => r.op.requests.filter((p) => p === '/token/introspection').length
  const token = await tokenFromCodeFlow(r.url, r.op)
  t.equal((await request(r.url, { path: '/app', headers: bearer(token) })).status, 200)
  t.equal((await request(r.url, { path: '/app', headers: bearer(token) })).status, 200)
  t.equal(count(), 1, 'the second request was a cache hit')
  await sleep(5_500)
  const res = await request(r.url, { path: '/app', headers: bearer(token) })
  t.equal(res.status, 401, 'the cached answer ended at exp')
  t.equal(code(res), 'GH_OIDC_TOKEN_INVALID')
  t.equal(count(), 2, 'the provider was asked again')
})

t.test('introspection cache: introspectionCacheTtl bounds how long a revoked token passes', async (t) => {
  // 3 s: the revocation and the second request must fit in it, however busy the machine.
  const r = await rig(t, { introspectionCacheTtl: '3s' })
  const count = () => r.op.requests.filter((p) => p === '/token/introspection').length
  const token = await tokenFromCodeFlow(r.url, r.op)
  t.equal((await request(r.url, { path: '/app', headers: bearer(token) })).status, 200)
  await revoke(r.op, token)
  t.equal(
    (await request(r.url, { path: '/app', headers: bearer(token) })).status,
    200,
    'within the TTL the cached answer stands (the documented trade-off)',
  )
  t.equal(count(), 1)
  await sleep(3_200)
  const res = await request(r.url, { path: '/app', headers: bearer(token) })
  t.equal(res.status, 401, 'past the TTL the provider says the token is revoked')
  t.equal(code(res), 'GH_OIDC_TOKEN_INVALID')
  t.equal(count(), 2)
})

t.test('introspection cache: size 0 asks the provider every time; size 1 keeps one', async (t) => {
  const none = await rig(t, { introspectionCacheSize: 0 })
  const count = (r: Rig) => r.op.requests.filter((p) => p === '/token/introspection').length
  const token = await tokenFromCodeFlow(none.url, none.op)
  for (let i = 0; i < 3; i++)
    t.equal((await request(none.url, { path: '/app', headers: bearer(token) })).status, 200)
  t.equal(count(none), 3)

  const one = await rig(t, { introspectionCacheSize: 1 })
  const a = await tokenFromCodeFlow(one.url, one.op)
  const b = await tokenFromCodeFlow(one.url, one.op)
  for (const tok of [a, a, b, b, a])
    t.equal((await request(one.url, { path: '/app', headers: bearer(tok) })).status, 200)
  t.equal(count(one), 3, 'a, b, then a again after b pushed it out')
})

t.test('API or browser by route: unauthenticated deny and redirect, on their own routes', async (t) => {
  const r = await rig(t, withBrowser())
  const instance = (unauthenticated: string) => ({
    name: 'openid-connect',
    config: {
      issuer: r.op.issuer,
      clientId: CLIENT_ID,
      clientSecret: CLIENT_SECRET,
      browser: { ...browserConfig(r.url), unauthenticated },
    },
  })
  // Same secret and callback as the first gateway: a session made there opens here.
  const gw = await gatewayFor(t, {
    op: r.op,
    upstream: r.upstream,
    config: withBrowser()(r.url),
    routes: [
      { name: 'api', paths: ['/app/api'], plugins: [instance('deny')] },
      { name: 'always', paths: ['/app/always'], plugins: [instance('redirect')] },
    ],
  })
  const url = gw.url!
  const html = { accept: 'text/html' }
  const json = { accept: 'application/json' }
  const deny = await request(url, { path: '/app/api/orders', headers: html })
  t.equal(deny.status, 401, 'an API route answers 401 even to a browser')
  t.equal(deny.json().code, 'GH_OIDC_MISSING')
  t.equal(deny.headers['www-authenticate'], 'Bearer realm="gatehouse"')
  for (const [method, headers] of [
    ['GET', json],
    ['POST', json],
  ] as const) {
    const res = await request(url, { method, path: '/app/always/x', headers })
    t.equal(res.status, 302, `redirect route, ${method} ${headers.accept}`)
    t.equal(new URL(res.headers.location as string).origin, r.op.issuer)
  }
  t.equal((await request(url, { path: '/app/x', headers: html })).status, 302, 'auto: HTML is redirected')
  t.equal((await request(url, { path: '/app/x', headers: json })).status, 401, 'auto: JSON gets 401')

  const jar = new Jar()
  await login(r, jar)
  const ok = await request(url, { path: '/app/api/orders', headers: { ...json, cookie: jar.header() } })
  t.equal(ok.status, 200)
  t.equal(r.upstream.last()!.headers['x-consumer-id'], 'alice')
})

t.test('claim rules: contains on a space-separated claim, anyOf on an array, dot paths', async (t) => {
  const { url, op, upstream } = await rig(t, {
    claims: [
      { claim: 'roles', contains: 'editor' },
      { claim: 'realm_access.roles', anyOf: ['admin', 'ops'] },
      { claim: 'org', equals: { id: 7, name: 'acme' } },
    ],
  })
  const ok = {
    roles: 'viewer editor',
    realm_access: { roles: ['user', 'ops'] },
    org: { id: 7, name: 'acme' },
  }
  const res = await request(url, { path: '/app', headers: bearer(await op.sign(ok)) })
  t.equal(res.status, 200, res.text)
  const refused: Array<[string, Record<string, unknown>]> = [
    ['contains is a whole word, not a substring', { roles: 'viewer editors' }],
    ['anyOf: no value in the list', { realm_access: { roles: ['user'] } }],
    ['anyOf: the claim missing', { realm_access: {} }],
    ['equals compares the whole value', { org: { id: 7, name: 'acme', extra: 1 } }],
  ]
  for (const [name, change] of refused) {
    const r = await request(url, { path: '/app', headers: bearer(await op.sign({ ...ok, ...change })) })
    t.equal(r.status, 403, name)
    t.equal(r.json().code, 'GH_OIDC_CLAIM_REJECTED', name)
  }
  t.equal(upstream.requests.length, 1)
})

t.test('sessions: required scopes and claim rules apply to the logged-in user too', async (t) => {
  const ok = await rig(
    t,
    withBrowser({}, { scopes: ['email'], claims: [{ claim: 'groups', contains: 'staff' }] }),
  )
  const jar = new Jar()
  await login(ok, jar)
  t.equal((await api(ok.url, jar)).status, 200)

  const strict = await rig(t, withBrowser({}, { scopes: ['admin'] }))
  const jar2 = new Jar()
  await login(strict, jar2)
  const res = await api(strict.url, jar2)
  t.equal(res.status, 403)
  t.equal(code(res), 'GH_OIDC_INSUFFICIENT_SCOPE')
  t.equal(strict.upstream.requests.length, 0)
})

t.test('groups from the token drive the real acl plugin', async (t) => {
  const r = await rig(
    t,
    { groupsClaim: 'groups' },
    {
      definitions: [acl],
      routes: [
        { name: 'staff', paths: ['/app/staff'], plugins: [{ name: 'acl', config: { allow: ['staff'] } }] },
        { name: 'admin', paths: ['/app/admin'], plugins: [{ name: 'acl', config: { allow: ['admins'] } }] },
      ],
    },
  )
  const staff = await r.op.sign({ groups: ['staff'] })
  t.equal((await request(r.url, { path: '/app/staff/x', headers: bearer(staff) })).status, 200)
  const denied = await request(r.url, { path: '/app/admin/x', headers: bearer(staff) })
  t.equal(denied.status, 403)
  t.match(denied.json().code, /^GH_ACL_/)
  t.equal(r.upstream.requests.length, 1)
})
