/**
 * Browser mode against a real OpenID Provider: the authorization code flow with PKCE driven over
 * HTTP through the provider's own login and consent pages, the session cookie, refresh, logout,
 * and the callbacks an attacker would send.
 */
import { request } from '@gatehousejs/sdk/testing'
import t from 'tap'
import { hop, Jar, loginAtProvider } from './fixtures/provider.js'
import { browserConfig, rig } from './fixtures/setup.js'

/** Starts a login at the gateway and completes it at the provider; returns the callback URL unvisited. */
async function startLogin(url: string, jar: Jar, path = '/app/orders?page=2') {
  const start = await hop(`${url}${path}`, jar)
  return { start, back: await loginAtProvider(start.location!, 'alice') }
}

const browser =
  (extra: Record<string, unknown> = {}) =>
  (url: string) => ({
    groupsClaim: 'groups',
    claimsToHeaders: { email: 'x-user-email' },
    browser: { ...browserConfig(url), ...extra },
  })

t.test('the full code flow, then the session cookie carries the user upstream', async (t) => {
  const { url, op, upstream } = await rig(t, browser())
  const jar = new Jar()
  const { start, back } = await startLogin(url, jar)
  t.equal(start.status, 302)
  const authorize = new URL(start.location!)
  t.equal(authorize.origin, op.issuer)
  t.equal(authorize.searchParams.get('code_challenge_method'), 'S256')
  t.ok(authorize.searchParams.get('state') && authorize.searchParams.get('nonce'), 'state and nonce sent')
  t.ok(jar.get('gh_oidc_tx'), 'the login transaction cookie')
  t.match(back, `${url}/app/callback?code=`)
  const done = await hop(back, jar)
  t.equal(done.status, 302)
  t.equal(done.location, `${url}/app/orders?page=2`, 'back where the user was going')
  t.match(done.headers['set-cookie'], [
    /^gh_oidc=[^;]+; Path=\/; Max-Age=\d+; HttpOnly; SameSite=Lax$/,
    /^gh_oidc_tx=; .*Max-Age=0/,
  ])
  t.ok(jar.get('gh_oidc'))
  t.equal(upstream.requests.length, 0, 'the flow itself never reached the upstream')

  const page = await hop(`${url}/app/orders`, jar)
  t.equal(page.status, 200)
  const h = upstream.last()!.headers
  t.equal(h['x-consumer-id'], 'alice')
  t.equal(h['x-consumer-groups'], 'staff')
  t.equal(h['x-user-email'], 'alice@example.com')
  t.match(h.authorization, /^Bearer \S+$/, 'the access token goes upstream')
  t.notOk(String(h.cookie ?? '').includes('gh_oidc'), 'our cookies never reach the upstream')
  t.same(op.grants, ['authorization_code'])
})

t.test('state replay, forged state, a callback without its cookie: 400', async (t) => {
  const { url, upstream } = await rig(t, browser())
  const jar = new Jar()
  const { back } = await startLogin(url, jar)
  const tx = jar.get('gh_oidc_tx')!
  t.equal((await hop(back, jar)).status, 302)
  // Replayed: the same callback with the same transaction cookie.
  jar.set('gh_oidc_tx', tx)
  const replay = await request(url, {
    path: new URL(back).pathname + new URL(back).search,
    headers: { cookie: `gh_oidc_tx=${tx}` },
  })
  t.equal(replay.status, 400)
  t.equal(replay.json().code, 'GH_OIDC_STATE_INVALID')
  // Forged: another state than the one this browser's transaction holds.
  const other = new Jar()
  const second = await startLogin(url, other)
  const forged = new URL(second.back)
  forged.searchParams.set('state', 'forged-state')
  const f = await request(url, { path: forged.pathname + forged.search, headers: { cookie: other.header() } })
  t.equal(f.status, 400)
  t.equal(f.json().code, 'GH_OIDC_STATE_INVALID')
  // Another browser's callback (login CSRF): its state does not match this browser's transaction.
  const victim = new Jar()
  await hop(`${url}/app/x`, victim)
  const csrf = await request(url, {
    path: new URL(second.back).pathname + new URL(second.back).search,
    headers: { cookie: victim.header() },
  })
  t.equal(csrf.status, 400)
  t.equal(csrf.json().code, 'GH_OIDC_STATE_INVALID')
  const bare = await request(url, { path: '/app/callback?code=x&state=y' })
  t.equal(bare.status, 400)
  t.equal(upstream.requests.length, 0)
})

t.test('a code used with another transaction (nonce and PKCE verifier of another login): 400', async (t) => {
  const { url } = await rig(t, browser())
  const a = new Jar()
  await hop(`${url}/app/a`, a)
  const b = new Jar()
  const { back } = await startLogin(url, b)
  // b's code, presented with a's transaction cookie and a's state.
  const aState = new URL((await hop(`${url}/app/a`, a)).location!).searchParams.get('state')!
  const swapped = new URL(back)
  swapped.searchParams.set('state', aState)
  const res = await request(url, { path: swapped.pathname + swapped.search, headers: { cookie: a.header() } })
  t.equal(res.status, 400)
  t.equal(res.json().code, 'GH_OIDC_CALLBACK_INVALID')
})

t.test(
  'API requests without a session get 401 with a challenge, browsers a redirect; bad cookies cleared',
  async (t) => {
    const { url, op } = await rig(t, browser())
    const api = await request(url, { path: '/app/data', headers: { accept: 'application/json' } })
    t.equal(api.status, 401)
    t.equal(api.json().code, 'GH_OIDC_MISSING')
    t.equal(api.headers['www-authenticate'], 'Bearer realm="gatehouse"', 'RFC 9110: a 401 has a challenge')
    const post = await request(url, { method: 'POST', path: '/app/data', headers: { accept: 'text/html' } })
    t.equal(post.status, 401, 'only GET/HEAD navigations are redirected')
    for (const cookie of [
      'gh_oidc=garbage',
      'gh_oidc=eyJhbGciOiJkaXIiLCJlbmMiOiJBMjU2R0NNIn0..a.b.c',
      `gh_oidc=${'x'.repeat(5000)}`,
    ]) {
      const res = await request(url, { path: '/app/data', headers: { accept: 'application/json', cookie } })
      t.equal(res.status, 401)
      t.equal(res.json().code, 'GH_OIDC_SESSION_INVALID')
      t.equal(res.headers['www-authenticate'], 'Bearer realm="gatehouse"')
      t.match(res.headers['set-cookie'], [/^gh_oidc=; .*Max-Age=0/])
      // A browser navigation with the same cookie: no session, so a new login (the bad cookie cleared).
      const nav = await request(url, { path: '/app/data', headers: { accept: 'text/html', cookie } })
      t.equal(nav.status, 302)
      t.equal(new URL(nav.headers.location as string).origin, op.issuer)
      t.match(nav.headers['set-cookie'], [/^gh_oidc=; .*Max-Age=0/, /^gh_oidc_tx=[^;]+;/])
    }
  },
)

t.test('a tampered session cookie is refused', async (t) => {
  const { url } = await rig(t, browser())
  const jar = new Jar()
  const { back } = await startLogin(url, jar)
  await hop(back, jar)
  const sealed = jar.get('gh_oidc')!
  const parts = sealed.split('.')
  const ct = Buffer.from(parts[3]!, 'base64url')
  ct[0] = ct[0]! ^ 1
  parts[3] = ct.toString('base64url')
  const res = await request(url, { path: '/app', headers: { cookie: `gh_oidc=${parts.join('.')}` } })
  t.equal(res.status, 401)
  t.equal(res.json().code, 'GH_OIDC_SESSION_INVALID')
})

t.test('an expiring access token is refreshed with the refresh token; the cookie rolls', async (t) => {
  // Access tokens live 5 s: within the refresh margin at once.
  const { url, op, upstream } = await rig(t, browser(), { accessTokenTtl: 5 })
  const jar = new Jar()
  const { back } = await startLogin(url, jar)
  await hop(back, jar)
  const first = jar.get('gh_oidc')
  const res = await hop(`${url}/app/x`, jar)
  t.equal(res.status, 200)
  t.same(op.grants, ['authorization_code', 'refresh_token'])
  t.match(res.headers['set-cookie'], [/^gh_oidc=/], 'the refreshed session is sent back')
  t.not(jar.get('gh_oidc'), first)
  t.match(upstream.last()!.headers.authorization, /^Bearer /)
})

t.test('idle timeout: a session unused too long ends', async (t) => {
  const { url } = await rig(t, browser({ idleTimeout: '1ms' }))
  const jar = new Jar()
  const { back } = await startLogin(url, jar)
  await hop(back, jar)
  await new Promise((r) => setTimeout(r, 20))
  const res = await request(url, { path: '/app', headers: { cookie: jar.header() } })
  t.equal(res.status, 401)
  t.equal(res.json().code, 'GH_OIDC_SESSION_EXPIRED')
})

t.test('logout: the cookie is cleared and the user goes to the provider end-session endpoint', async (t) => {
  const { url, op } = await rig(t, browser())
  const jar = new Jar()
  const { back } = await startLogin(url, jar)
  await hop(back, jar)
  const out = await hop(`${url}/app/logout`, jar)
  t.equal(out.status, 302)
  const end = new URL(out.location!)
  t.equal(end.origin, op.issuer)
  t.ok(end.searchParams.get('id_token_hint'), 'id_token_hint')
  t.equal(end.searchParams.get('post_logout_redirect_uri'), `${url}/bye`)
  t.notOk(jar.get('gh_oidc'), 'session cookie cleared')
  const after = await request(url, {
    path: '/app',
    headers: { cookie: jar.header(), accept: 'application/json' },
  })
  t.equal(after.status, 401)
  // The provider accepts the request: its logout confirmation page.
  const page = await hop(out.location!, new Jar())
  t.equal(page.status, 200)
  t.match(page.body, /logout/i)
})

t.test('provider down: browser logins get 503 GH_OIDC_PROVIDER_UNAVAILABLE, never a hang', async (t) => {
  const { url, op } = await rig(t, browser())
  const jar = new Jar()
  const { back } = await startLogin(url, jar)
  await op.close()
  const cb = await hop(back, jar)
  t.equal(cb.status, 503)
  t.equal(JSON.parse(cb.body).code, 'GH_OIDC_PROVIDER_UNAVAILABLE')
})
