/**
 * Redis: sessions that live server-side (the cookie holds a random id), shared by two gateways, ended
 * by every kind of logout; introspection answers and JWKS fetched once for the fleet. A real
 * redis-server and the real OpenID Provider.
 */
import { request, startRedis } from '@gatehousejs/sdk/testing'
import { Redis } from 'ioredis'
import t, { type Test } from 'tap'
import { tokenFromCodeFlow } from './fixtures/flow.js'
import { hop, Jar, loginAtProvider, logoutAtProvider } from './fixtures/provider.js'
import { browserConfig, type Rig, redisSection, rig } from './fixtures/setup.js'

const BACK = '/app/oidc/backchannel'
const code = (res: { body: Buffer }) => JSON.parse(res.body.toString()).code as string

async function login(r: Rig, jar: Jar, opJar = new Jar()) {
  const start = await hop(`${r.url}/app/home`, jar)
  const back = await loginAtProvider(start.location!, 'alice', opJar)
  await hop(back, jar)
}

const api = (url: string, jar: Jar) =>
  request(url, { path: '/app/data', headers: { cookie: jar.header(), accept: 'application/json' } })

async function redisRig(t: Test) {
  const redis = await startRedis({ t })
  const r = await rig(
    t,
    (url) => ({
      redis: 'default',
      browser: { ...browserConfig(url), session: { store: 'redis' }, backchannelLogoutPath: BACK },
    }),
    { gateways: 2, backchannelLogoutPath: BACK, redis: redisSection(redis.url) },
  )
  const client = new Redis(redis.url)
  t.teardown(() => client.disconnect())
  return { redis, r, client }
}

t.test('redis sessions: an opaque id in the cookie, the session usable on another gateway', async (t) => {
  const { r, client } = await redisRig(t)
  const jar = new Jar()
  await login(r, jar)
  const id = jar.get('gh_oidc')!
  t.match(id, /^[A-Za-z0-9_-]{43}$/, 'the cookie is a random id, nothing else')
  const ttl = await client.pttl(`gatehouse:oidc:s:${id}`)
  t.ok(ttl > 0 && ttl <= 8 * 3600_000, 'the session has a TTL in Redis')
  t.equal((await api(r.url, jar)).status, 200)
  const other = await api(r.second!.url, jar)
  t.equal(other.status, 200, 'the second gateway knows the session')
  t.equal(r.upstream.last()!.headers['x-consumer-id'], 'alice')

  const forged = await request(r.url, {
    path: '/app/data',
    headers: { cookie: `gh_oidc=${'A'.repeat(43)}`, accept: 'application/json' },
  })
  t.equal(forged.status, 401, 'an id Redis does not hold is no session')

  // RP-initiated logout on one gateway deletes the session for both.
  const out = await hop(`${r.url}/app/logout`, jar)
  t.equal(out.status, 302)
  t.equal(await client.exists(`gatehouse:oidc:s:${id}`), 0, 'deleted from Redis')
  const after = await request(r.second!.url, {
    path: '/app/data',
    headers: { cookie: `gh_oidc=${id}`, accept: 'application/json' },
  })
  t.equal(after.status, 401)
  t.equal(code(after), 'GH_OIDC_SESSION_EXPIRED')
})

t.test('redis sessions: back-channel logout at the provider deletes the session', async (t) => {
  const { r, client } = await redisRig(t)
  const jar = new Jar()
  const opJar = new Jar()
  await login(r, jar, opJar)
  const id = jar.get('gh_oidc')!
  t.equal((await api(r.second!.url, jar)).status, 200)
  await logoutAtProvider(`${r.op.issuer}/session/end`, opJar)
  t.same(r.op.backchannel, ['ok'])
  t.equal(await client.exists(`gatehouse:oidc:s:${id}`), 0)
  t.equal((await api(r.url, jar)).status, 401)
  t.equal((await api(r.second!.url, jar)).status, 401)
})

t.test('redis down: session lookups fail closed with 503 GH_STORE_UNAVAILABLE', async (t) => {
  const { r, redis } = await redisRig(t)
  const jar = new Jar()
  await login(r, jar)
  await redis.stop()
  const res = await api(r.url, jar)
  t.equal(res.status, 503)
  t.equal(code(res), 'GH_STORE_UNAVAILABLE')
  t.equal(res.headers['retry-after'], '1')
  t.equal(r.upstream.requests.length, 0, 'nothing reached the upstream unchecked')
})

t.test('two gateways introspect an opaque token once, and fetch the JWKS once', async (t) => {
  const redis = await startRedis({ t })
  const r = await rig(t, { redis: 'default' }, { gateways: 2, redis: redisSection(redis.url) })
  const opaque = await tokenFromCodeFlow(r.url, r.op)
  const count = (path: string) => r.op.requests.filter((p) => p === path).length
  for (const url of [r.url, r.second!.url, r.url, r.second!.url]) {
    const res = await request(url, { path: '/app/x', headers: { authorization: `Bearer ${opaque}` } })
    t.equal(res.status, 200)
  }
  t.equal(count('/token/introspection'), 1, 'one introspection for the fleet')

  const jwt = await r.op.sign({})
  for (const url of [r.url, r.second!.url, r.second!.url]) {
    const res = await request(url, { path: '/app/x', headers: { authorization: `Bearer ${jwt}` } })
    t.equal(res.status, 200)
  }
  t.equal(count('/jwks'), 1, 'one JWKS fetch for the fleet')

  // Redis down: each node asks the provider itself (still 200, never 5xx).
  await redis.stop()
  const other = await tokenFromCodeFlow(r.url, r.op)
  const before = count('/token/introspection')
  const res = await request(r.second!.url, { path: '/app/x', headers: { authorization: `Bearer ${other}` } })
  t.equal(res.status, 200)
  t.equal(count('/token/introspection'), before + 1)
})
