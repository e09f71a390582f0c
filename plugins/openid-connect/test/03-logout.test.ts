/**
 * Logout the browser does not carry: back-channel (the provider POSTs a logout token) and
 * front-channel (the provider loads an iframe), against the real OpenID Provider. Cookie sessions
 * (revoked by `sid`/`sub` in the plugin store).
 */
import { randomUUID } from 'node:crypto'
import { request, startRedis } from '@gatehousejs/sdk/testing'
import { Redis } from 'ioredis'
import { SignJWT } from 'jose'
import t from 'tap'
import { CookieSeal, type Session } from '../src/session.js'
import { CLIENT_ID, hop, Jar, loginAtProvider, logoutAtProvider, signingKey } from './fixtures/provider.js'
import { browserConfig, type Rig, redisSection, rig } from './fixtures/setup.js'

const BACK = '/app/oidc/backchannel'
const FRONT = '/app/oidc/frontchannel'
const EVENT = 'http://schemas.openid.net/event/backchannel-logout'

const config = (url: string) => ({
  browser: { ...browserConfig(url), backchannelLogoutPath: BACK, frontchannelLogoutPath: FRONT },
})

/** Logs alice in through the gateway; `opJar` keeps her session at the provider. */
async function login(r: Rig, jar: Jar, opJar = new Jar()) {
  const start = await hop(`${r.url}/app/home`, jar)
  const back = await loginAtProvider(start.location!, 'alice', opJar)
  await hop(back, jar)
  const cookie = jar.get('gh_oidc')!
  const session = await new CookieSeal(browserConfig(r.url).sessionSecret).open<Session>('session', cookie)
  return { sid: session?.claims.sid as string, sub: session?.claims.sub as string }
}

const api = (r: Rig, jar: Jar) =>
  request(r.url, { path: '/app/data', headers: { cookie: jar.header(), accept: 'application/json' } })

function post(r: Rig, body: string, method = 'POST') {
  return request(r.url, {
    method,
    path: BACK,
    body: method === 'GET' ? undefined : body,
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
  })
}

const code = (res: { body: Buffer }) => JSON.parse(res.body.toString()).code as string

/** A logout token as the provider signs one (Back-Channel Logout 1.0 §2.4), then `change`d. */
async function logoutToken(r: Rig, claims: Record<string, unknown>, key = r.op.keys[0]!) {
  return new SignJWT({ events: { [EVENT]: {} }, jti: randomUUID(), ...claims })
    .setProtectedHeader({ alg: 'RS256', kid: key.kid, typ: 'logout+jwt' })
    .setIssuer((claims.iss as string | undefined) ?? r.op.issuer)
    .setAudience((claims.aud as string | undefined) ?? CLIENT_ID)
    .setIssuedAt()
    .setExpirationTime('2m')
    .sign(key.privateKey)
}

t.test('back-channel: logging out at the provider ends the gateway session', async (t) => {
  const r = await rig(t, config, { backchannelLogoutPath: BACK })
  const jar = new Jar()
  const opJar = new Jar()
  const { sid } = await login(r, jar, opJar)
  t.ok(sid, 'the ID token carries sid (backchannel_logout_session_required)')
  t.equal((await api(r, jar)).status, 200)
  await logoutAtProvider(`${r.op.issuer}/session/end`, opJar)
  t.same(r.op.backchannel, ['ok'], 'the provider delivered the logout token and got 200')
  const after = await api(r, jar)
  t.equal(after.status, 401)
  t.equal(code(after), 'GH_OIDC_SESSION_EXPIRED')
  t.match(after.headers['set-cookie'], /gh_oidc=;/, 'the dead cookie is cleared')

  // A new login of the same user starts a new session that works.
  const again = new Jar()
  await login(r, again)
  t.equal((await api(r, again)).status, 200)
})

t.test('back-channel: a sub-only token ends all of the user’s sessions; 200 no-store', async (t) => {
  const r = await rig(t, config)
  const a = new Jar()
  const b = new Jar()
  await login(r, a)
  await login(r, b)
  const res = await post(r, `logout_token=${await logoutToken(r, { sub: 'alice' })}`)
  t.equal(res.status, 200)
  t.equal(res.headers['cache-control'], 'no-store')
  t.equal((await api(r, a)).status, 401)
  t.equal((await api(r, b)).status, 401)
  t.equal(r.upstream.requests.length, 0, 'the logout endpoint never reaches the upstream')
})

t.test('back-channel: invalid logout tokens get 400 GH_OIDC_LOGOUT_TOKEN_INVALID', async (t) => {
  const r = await rig(t, config, { backchannelLogoutPath: BACK })
  const jar = new Jar()
  const { sid } = await login(r, jar)
  t.ok(sid)
  const other = await signingKey('k1')
  const cases: [string, string, RegExp][] = [
    ['no token', 'x=1', /logout_token/],
    ['not a JWT', 'logout_token=abc', /well-formed/],
    ['wrong audience', `logout_token=${await logoutToken(r, { sid, aud: 'another' })}`, /"aud"/],
    ['wrong issuer', `logout_token=${await logoutToken(r, { sid, iss: 'http://evil' })}`, /"iss"/],
    ['forged signature', `logout_token=${await logoutToken(r, { sid }, other)}`, /signature/],
    ['no event', `logout_token=${await logoutToken(r, { sid, events: { other: {} } })}`, /event/],
    ['a nonce', `logout_token=${await logoutToken(r, { sid, nonce: 'n' })}`, /nonce/],
    ['neither sid nor sub', `logout_token=${await logoutToken(r, {})}`, /neither/],
  ]
  for (const [name, body, message] of cases) {
    const res = await post(r, body)
    t.equal(res.status, 400, name)
    t.equal(code(res), 'GH_OIDC_LOGOUT_TOKEN_INVALID', name)
    t.match(JSON.parse(res.body.toString()).message, message, name)
  }
  const get = await post(r, '', 'GET')
  t.equal(get.status, 400)
  t.equal(get.headers.allow, 'POST')
  t.equal((await api(r, jar)).status, 200, 'no invalid token ended the session')

  const token = await logoutToken(r, { sid })
  const first = await post(r, `logout_token=${token}`)
  t.equal(first.status, 200, first.body.toString())
  const replay = await post(r, `logout_token=${token}`)
  t.equal(replay.status, 400, 'a jti is used once')
  t.match(JSON.parse(replay.body.toString()).message, /already used/)
  t.equal((await api(r, jar)).status, 401)
})

t.test(
  'front-channel: iss and sid end that session, even without the cookie (a third-party iframe)',
  async (t) => {
    const r = await rig(t, config, { backchannelLogoutPath: BACK })
    const jar = new Jar()
    const { sid } = await login(r, jar)
    const wrong = await request(r.url, {
      path: `${FRONT}?iss=${encodeURIComponent('http://evil')}&sid=${sid}`,
    })
    t.equal(wrong.status, 400)
    t.equal(code(wrong), 'GH_OIDC_LOGOUT_REQUEST_INVALID')
    const noIss = await request(r.url, { path: `${FRONT}?sid=${sid}` })
    t.equal(code(noIss), 'GH_OIDC_LOGOUT_REQUEST_INVALID')
    t.equal((await api(r, jar)).status, 200, 'still logged in')

    const ok = await request(r.url, { path: `${FRONT}?iss=${encodeURIComponent(r.op.issuer)}&sid=${sid}` })
    t.equal(ok.status, 200)
    t.match(ok.headers['cache-control'], /no-store/)
    t.match(ok.headers['content-type'], /text\/html/)
    t.equal((await api(r, jar)).status, 401)
  },
)

t.test('front-channel: without sid, the session of the cookie ends and the cookie is cleared', async (t) => {
  const r = await rig(t, config)
  const jar = new Jar()
  await login(r, jar)
  const res = await hop(`${r.url}${FRONT}?iss=${encodeURIComponent(r.op.issuer)}`, jar)
  t.equal(res.status, 200)
  t.match(res.headers['set-cookie'], [/^gh_oidc=;.*Max-Age=0/])
  const none = await request(r.url, { path: FRONT })
  t.equal(none.status, 400, 'no sid and no cookie: nothing to end')
  t.equal(code(none), 'GH_OIDC_LOGOUT_REQUEST_INVALID')
})

/**
 * What the provider's logout page does (Front-Channel Logout 1.0 §2–§3): it renders an iframe whose
 * `src` is the registered `frontchannel_logout_uri` with `iss` and `sid` added to its query, and the
 * browser loads it as a cross-site subresource: a GET with `Sec-Fetch-Dest: iframe`, the provider as
 * `Referer`, and (SameSite=Lax) without our cookie. oidc-provider 9 no longer implements front-channel
 * logout, so the test plays the provider's page with the real `sid` the real provider issued.
 */
function iframeRequest(r: Rig, registered: string, sid: string, cookie?: string) {
  const src = new URL(registered)
  src.searchParams.append('iss', r.op.issuer)
  src.searchParams.append('sid', sid)
  return request(r.url, {
    path: src.pathname + src.search,
    headers: {
      accept: 'text/html,application/xhtml+xml',
      'sec-fetch-dest': 'iframe',
      'sec-fetch-mode': 'navigate',
      'sec-fetch-site': 'cross-site',
      referer: `${r.op.issuer}/session/end/confirm`,
      ...(cookie === undefined ? {} : { cookie }),
    },
  })
}

/** The `sid` of the browser's session, which the test reads with the gateway's secret. */
async function sidOf(r: Rig, jar: Jar, redisUrl: string | undefined): Promise<string> {
  const seal = new CookieSeal(browserConfig(r.url).sessionSecret)
  const value = jar.get('gh_oidc')!
  if (redisUrl === undefined) return (await seal.open<Session>('session', value))?.claims.sid as string
  const client = new Redis(redisUrl)
  try {
    const raw = await client.get(`gatehouse:oidc:s:${value}`)
    return (await seal.open<Session>('stored-session', raw!))?.claims.sid as string
  } finally {
    client.disconnect()
  }
}

t.test('front-channel: the iframe the provider renders ends the session on every gateway', async (t) => {
  for (const store of ['cookie', 'redis'] as const) {
    const redis = store === 'redis' ? await startRedis({ t }) : undefined
    const r = await rig(
      t,
      (url) => ({
        ...(redis === undefined ? {} : { redis: 'default' }),
        browser: { ...config(url).browser, session: { store } },
      }),
      // Registered for back-channel too, so that the provider puts `sid` in the ID token.
      {
        backchannelLogoutPath: BACK,
        gateways: 2,
        ...(redis === undefined ? {} : { redis: redisSection(redis.url) }),
      },
    )
    const jar = new Jar()
    const start = await hop(`${r.url}/app/home`, jar)
    await hop(await loginAtProvider(start.location!, 'alice'), jar)
    const other = new Jar()
    const start2 = await hop(`${r.url}/app/home`, other)
    await hop(await loginAtProvider(start2.location!, 'bob'), other)
    // The sid: from the ID token's claims in the session (cookie mode: the test opens the cookie).
    const sid = await sidOf(r, jar, redis?.url)
    t.ok(sid, `${store}: the provider's sid`)
    const registered = `${r.url}${FRONT}?from=op`
    const res = await iframeRequest(r, registered, sid)
    t.equal(res.status, 200, `${store}: ${res.text}`)
    t.match(res.headers['content-type'], /^text\/html/)
    t.match(res.headers['cache-control'], /no-store/)
    t.notOk(res.headers['set-cookie'], 'no cookie came, none is cleared')
    // Both gateways refuse the session now (the revocation or the deletion is shared, or local).
    const gateways = store === 'redis' ? [r.url, r.second!.url] : [r.url]
    for (const url of gateways) {
      const after = await request(url, {
        path: '/app/data',
        headers: { cookie: jar.header(), accept: 'application/json' },
      })
      t.equal(after.status, 401, `${store}: ${url}`)
      t.equal(code(after), 'GH_OIDC_SESSION_EXPIRED')
    }
    t.equal((await api(r, other)).status, 200, `${store}: another provider session is untouched`)
    // A browser that does send the cookie (same-site deployment) gets it cleared.
    const jar3 = new Jar()
    const start3 = await hop(`${r.url}/app/home`, jar3)
    await hop(await loginAtProvider(start3.location!, 'carol'), jar3)
    const sid3 = await sidOf(r, jar3, redis?.url)
    const withCookie = await iframeRequest(r, registered, sid3, jar3.header())
    t.equal(withCookie.status, 200)
    t.match(withCookie.headers['set-cookie'], [/^gh_oidc=;.*Max-Age=0/])
  }
})
