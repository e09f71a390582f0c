/**
 * What Redis holds: sessions (`browser.session.store: redis`) sealed as the cookie is, index keys
 * that name no claim, introspection answers readable only with the token; a value changed in Redis
 * is refused (the user logs in again, a warning is logged); `sessionSecret` rotation. A real
 * redis-server and the real OpenID Provider.
 */
import { setTimeout as sleep } from 'node:timers/promises'
import { captureLogs, request, startRedis } from '@gatehousejs/sdk/testing'
import { Redis } from 'ioredis'
import t, { type Test } from 'tap'
import { CookieSeal, type Session } from '../src/session.js'
import { tokenFromCodeFlow } from './fixtures/flow.js'
import { CLIENT_ID, CLIENT_SECRET, hop, Jar, loginAtProvider, logoutAtProvider } from './fixtures/provider.js'
import { browserConfig, gatewayFor, type Rig, redisSection, rig } from './fixtures/setup.js'

const OLD = 'an-old-session-secret-of-at-least-32-characters'
const NEW = 'a-new-session-secret-of-at-least-32-characters!'
const BACK = '/app/oidc/backchannel'
const code = (res: { body: Buffer }) => JSON.parse(res.body.toString()).code as string

async function login(r: Rig, jar: Jar, url = r.url) {
  const start = await hop(`${url}/app/home`, jar)
  const back = await loginAtProvider(start.location!, 'alice')
  await hop(back, jar)
}

const api = (url: string, jar: Jar) =>
  request(url, { path: '/app/data', headers: { cookie: jar.header(), accept: 'application/json' } })

/** Every key and value under the plugin's prefix, as text. */
async function dump(client: Redis): Promise<string> {
  const lines: string[] = []
  for (const key of await client.keys('gatehouse:oidc:*')) {
    const type = await client.type(key)
    const value =
      type === 'string'
        ? await client.get(key)
        : type === 'set'
          ? (await client.smembers(key)).join(' ')
          : `(${type})`
    lines.push(`${key} = ${value}`)
  }
  return lines.join('\n')
}

const browser = (url: string, extra: Record<string, unknown> = {}) => ({
  ...browserConfig(url),
  session: { store: 'redis' },
  backchannelLogoutPath: BACK,
  ...extra,
})

async function redisRig(t: Test, extra: Record<string, unknown> = {}, logger?: unknown) {
  const redis = await startRedis({ t })
  const r = await rig(
    t,
    (url) => ({ redis: 'default', browser: browser(url, extra) }),
    // Registered for back-channel logout: ID tokens then carry `sid`.
    { logger, backchannelLogoutPath: BACK, redis: redisSection(redis.url) },
  )
  const client = new Redis(redis.url)
  t.teardown(() => client.disconnect())
  return { redis, r, client }
}

t.test('Redis holds no token, no claim and no ID token in clear', async (t) => {
  const { r, client } = await redisRig(t)
  const jar = new Jar()
  await login(r, jar)
  t.equal((await api(r.url, jar)).status, 200)
  const id = jar.get('gh_oidc')!
  // The test opens the stored session with the gateway's secret, to know what must not be readable.
  const raw = await client.get(`gatehouse:oidc:s:${id}`)
  t.ok(raw, 'the session is in Redis')
  const seal = new CookieSeal(browserConfig(r.url).sessionSecret)
  const session = await seal.open<Session>('stored-session', raw!)
  t.ok(session?.at && session.rt && session.idt, 'access, refresh and ID tokens are in the session')
  t.equal(session?.claims.sub, 'alice')
  t.equal(
    await new CookieSeal(NEW).open<Session>('stored-session', raw!),
    undefined,
    'another secret opens nothing',
  )
  // An opaque bearer token, introspected and cached for the fleet.
  const opaque = await tokenFromCodeFlow(r.url, r.op)
  const res = await request(r.url, { path: '/app/x', headers: { authorization: `Bearer ${opaque}` } })
  t.equal(res.status, 200)

  const all = await dump(client)
  t.match(all, /gatehouse:oidc:s:/, 'the session key')
  t.match(all, /gatehouse:oidc:sid:/, 'the sid index')
  t.match(all, /gatehouse:oidc:sub:/, 'the sub index')
  t.ok(session!.claims.sid, 'the session has a sid')
  t.match(all, /gatehouse:oidc:intro:/, 'the introspection cache')
  const secrets: Array<[string, string]> = [
    ['access token', session!.at!],
    ['refresh token', session!.rt!],
    ['ID token', session!.idt!],
    ['ID token payload', session!.idt!.split('.')[1]!],
    ['sub', 'alice'],
    ['email', 'alice@example.com'],
    ['groups', 'staff'],
    ['sid', session!.claims.sid as string],
    ['opaque bearer token', opaque],
    ['client id (introspection answer)', 'gateway'],
  ]
  for (const [name, text] of secrets) t.notOk(all.includes(text), `no ${name} in Redis`)
})

t.test('a session changed in Redis is refused: 401 for APIs, a new login for browsers', async (t) => {
  const logs = captureLogs()
  const { r, client } = await redisRig(t, {}, logs.logger)
  const jar = new Jar()
  await login(r, jar)
  const id = jar.get('gh_oidc')!
  const key = `gatehouse:oidc:s:${id}`
  const raw = (await client.get(key))!
  // One bit flipped in the ciphertext (the fourth part of the JWE).
  const parts = raw.split('.')
  const ct = Buffer.from(parts[3]!, 'base64url')
  ct[0] = ct[0]! ^ 1
  parts[3] = ct.toString('base64url')
  await client.set(key, parts.join('.'), 'KEEPTTL')
  const res = await api(r.url, jar)
  t.equal(res.status, 401)
  t.equal(code(res), 'GH_OIDC_SESSION_INVALID')
  t.equal(res.headers['www-authenticate'], 'Bearer realm="gatehouse"')
  t.match(res.headers['set-cookie'], [/^gh_oidc=; .*Max-Age=0/], 'the cookie is cleared')
  t.equal(await client.exists(key), 0, 'the unusable session is deleted')
  t.equal(
    logs.withMsg(/a session in the store failed authentication/).filter((l) => l.level === 'warn').length,
    1,
    'a warning names what happened',
  )
  t.equal(r.upstream.requests.length, 0, 'nothing reached the upstream')

  // A browser with the same kind of cookie is sent to log in again.
  const second = new Jar()
  await login(r, second)
  const id2 = second.get('gh_oidc')!
  await client.set(`gatehouse:oidc:s:${id2}`, 'not-a-sealed-session', 'KEEPTTL')
  const nav = await hop(`${r.url}/app/page`, second)
  t.equal(nav.status, 302)
  t.equal(new URL(nav.location!).origin, r.op.issuer, 'to the provider')
  t.match(nav.headers['set-cookie'], [/^gh_oidc=; .*Max-Age=0/, /^gh_oidc_tx=/])
})

t.test('a sealed session copied to another session id does not open there', async (t) => {
  const { r, client } = await redisRig(t)
  const alice = new Jar()
  await login(r, alice)
  const mallory = new Jar()
  await login(r, mallory)
  const aliceValue = (await client.get(`gatehouse:oidc:s:${alice.get('gh_oidc')!}`))!
  await client.set(`gatehouse:oidc:s:${mallory.get('gh_oidc')!}`, aliceValue, 'KEEPTTL')
  const res = await api(r.url, mallory)
  t.equal(res.status, 401)
  t.equal(code(res), 'GH_OIDC_SESSION_INVALID')
  t.equal((await api(r.url, alice)).status, 200, "alice's own session still works")
})

t.test(
  'sessionSecret rotation: the old secret listed keeps sessions; dropped, users log in again',
  async (t) => {
    const redis = await startRedis({ t })
    const client = new Redis(redis.url)
    t.teardown(() => client.disconnect())
    const section = redisSection(redis.url)
    // idleTimeout 8 s: the session is sealed again at most every 2 s of use (a quarter), and the
    // logins and gateway starts below fit well inside it on a busy machine.
    const r = await rig(
      t,
      (url) => ({ redis: 'default', browser: browser(url, { sessionSecret: OLD, idleTimeout: '8s' }) }),
      { redis: section },
    )
    const jar = new Jar()
    await login(r, jar)
    const id = jar.get('gh_oidc')!
    const key = `gatehouse:oidc:s:${id}`
    t.ok(
      await new CookieSeal(OLD).open('stored-session', (await client.get(key))!),
      'sealed with the old secret',
    )

    // The same node after a change: the new secret first, the old one still listed.
    const rotated = await gatewayFor(t, {
      op: r.op,
      upstream: r.upstream,
      redis: section,
      config: {
        redis: 'default',
        browser: browser(r.url, { sessionSecret: NEW, previousSessionSecrets: [OLD], idleTimeout: '8s' }),
      },
    })
    const rotatedUrl = rotated.url!
    await sleep(2_100)
    t.equal((await api(rotatedUrl, jar)).status, 200, 'the old session opens')
    t.ok(
      await new CookieSeal(NEW).open('stored-session', (await client.get(key))!),
      'and was sealed again with the new secret when it rolled',
    )

    // Another session still sealed with the old secret, on a node that no longer lists it.
    const stale = new Jar()
    await login(r, stale)
    const dropped = await gatewayFor(t, {
      op: r.op,
      upstream: r.upstream,
      redis: section,
      config: { redis: 'default', browser: browser(r.url, { sessionSecret: NEW, idleTimeout: '8s' }) },
    })
    const droppedUrl = dropped.url!
    const res = await api(droppedUrl, stale)
    t.equal(res.status, 401)
    t.equal(code(res), 'GH_OIDC_SESSION_INVALID')
    t.equal((await api(droppedUrl, jar)).status, 200, 'the resealed session works without the old secret')
  },
)

t.test('sessionSecret rotation with cookie sessions', async (t) => {
  const r = await rig(t, (url) => ({ browser: { ...browserConfig(url), sessionSecret: OLD } }))
  const jar = new Jar()
  await login(r, jar)
  const rotated = await gatewayFor(t, {
    op: r.op,
    upstream: r.upstream,
    config: { browser: { ...browserConfig(r.url), sessionSecret: NEW, previousSessionSecrets: [OLD] } },
  })
  const dropped = await gatewayFor(t, {
    op: r.op,
    upstream: r.upstream,
    config: { browser: { ...browserConfig(r.url), sessionSecret: NEW } },
  })
  t.equal((await api(rotated.url!, jar)).status, 200)
  const res = await api(dropped.url!, jar)
  t.equal(res.status, 401)
  t.equal(code(res), 'GH_OIDC_SESSION_INVALID')
})

t.test('back-channel logout finds sessions by hashed sid after a rotation', async (t) => {
  const redis = await startRedis({ t })
  const client = new Redis(redis.url)
  t.teardown(() => client.disconnect())
  const section = redisSection(redis.url)
  const r = await rig(t, (url) => ({ redis: 'default', browser: browser(url, { sessionSecret: OLD }) }), {
    backchannelLogoutPath: BACK,
    redis: section,
  })
  const jar = new Jar()
  const opJar = new Jar()
  const start = await hop(`${r.url}/app/home`, jar)
  await hop(await loginAtProvider(start.location!, 'alice', opJar), jar)
  const id = jar.get('gh_oidc')!
  // The node that receives the logout token now seals with NEW and still lists OLD.
  await r.gw.reload({
    redis: section,
    services: [{ name: 'app', url: r.upstream.url, routes: [{ paths: ['/app'] }] }],
    plugins: [
      {
        name: 'openid-connect',
        service: 'app',
        config: {
          issuer: r.op.issuer,
          clientId: CLIENT_ID,
          clientSecret: CLIENT_SECRET,
          redis: 'default',
          browser: browser(r.url, { sessionSecret: NEW, previousSessionSecrets: [OLD] }),
        },
      },
    ],
  })
  await logoutAtProvider(`${r.op.issuer}/session/end`, opJar)
  t.same(r.op.backchannel, ['ok'])
  t.equal(await client.exists(`gatehouse:oidc:s:${id}`), 0, 'the session is deleted')
})
