import { createHash } from 'node:crypto'
import type { GatewayConfig } from '@gatehousejs/core'
import { startGateway, startUpstream, type TestUpstream } from '@gatehousejs/sdk/testing'
import t, { type Test } from 'tap'
import keyAuth from '../src/index.js'

// A real gateway in front of a real upstream: what the client gets, and what the upstream receives.

const IDENTITY = [
  'x-consumer-id',
  'x-consumer-username',
  'x-consumer-custom-id',
  'x-consumer-groups',
  'x-credential-identifier',
  'x-anonymous-consumer',
]
const FORGED = Object.fromEntries(IDENTITY.map((h) => [h, 'forged']))

const consumers: GatewayConfig['consumers'] = [
  {
    id: 'c-alice',
    username: 'alice',
    customId: 'crm-17',
    groups: ['admins', 'staff'],
    credentials: { 'key-auth': [{ key: 'alice-key-1', id: 'alice-laptop' }, { key: 'alice-key-2' }] },
  },
  {
    username: 'bob',
    credentials: { 'key-auth': [{ keySha256: createHash('sha256').update('bob-key').digest('hex') }] },
  },
  { username: 'guest', groups: ['public'] },
]

async function setup(t: Test, config: Record<string, unknown> = {}) {
  const upstream = await startUpstream({ t })
  const gw = await startGateway({
    t,
    plugins: [keyAuth],
    config: {
      services: [
        {
          name: 'api',
          url: upstream.url,
          routes: [
            { name: 'private', paths: ['/private'], plugins: [{ name: 'key-auth', config }] },
            { name: 'public', paths: ['/public'] },
          ],
        },
      ],
      consumers,
    },
  })
  return { upstream, gw }
}

function identity(upstream: TestUpstream) {
  const h = upstream.last()!.headers
  return Object.fromEntries(IDENTITY.filter((n) => h[n] !== undefined).map((n) => [n, h[n]]))
}

t.test('a valid key in the apikey header identifies the consumer upstream', async (t) => {
  const { upstream, gw } = await setup(t)
  const res = await gw.request({ path: '/private/x', headers: { apikey: 'alice-key-1', ...FORGED } })
  t.equal(res.status, 200)
  t.same(identity(upstream), {
    'x-consumer-id': 'c-alice',
    'x-consumer-username': 'alice',
    'x-consumer-custom-id': 'crm-17',
    'x-consumer-groups': 'admins, staff',
    'x-credential-identifier': 'alice-laptop',
  })
  t.equal(upstream.last()!.headers.apikey, 'alice-key-1', 'the key is forwarded unless hideCredentials')

  await gw.request({ path: '/private/x', headers: { apikey: 'alice-key-2' } })
  t.equal(
    upstream.last()!.headers['x-credential-identifier'],
    'c-alice/key-auth/1',
    'default identifier, never the key',
  )

  await gw.request({ path: '/private/x', headers: { apikey: 'bob-key' } })
  t.same(
    identity(upstream),
    { 'x-consumer-id': 'bob', 'x-consumer-username': 'bob', 'x-credential-identifier': 'bob/key-auth/0' },
    'a key configured as its digest',
  )
})

t.test('no key: 401 GH_KEY_AUTH_MISSING with WWW-Authenticate, never proxied', async (t) => {
  const { upstream, gw } = await setup(t)
  const res = await gw.request({ path: '/private/x', headers: FORGED })
  t.equal(res.status, 401)
  t.equal(res.json().code, 'GH_KEY_AUTH_MISSING')
  t.equal(res.headers['www-authenticate'], 'Key realm="gatehouse"')
  const empty = await gw.request({ path: '/private/x', headers: { apikey: '' } })
  t.equal(empty.json().code, 'GH_KEY_AUTH_MISSING', 'an empty key is no key')
  t.equal(upstream.requests.length, 0)
})

t.test('a wrong key: 401 GH_KEY_AUTH_INVALID, never proxied', async (t) => {
  const { upstream, gw } = await setup(t, { realm: 'orders' })
  for (const key of ['alice-key-3', 'alice-key-1x', 'ALICE-KEY-1', 'x'.repeat(5000)]) {
    const res = await gw.request({ path: '/private/x', headers: { apikey: key } })
    t.equal(res.status, 401, key.slice(0, 20))
    t.equal(res.json().code, 'GH_KEY_AUTH_INVALID')
    t.equal(res.headers['www-authenticate'], 'Key realm="orders"')
    t.notMatch(res.text, /alice/, 'the answer says nothing about who exists')
  }
  t.equal(upstream.requests.length, 0)
})

t.test('a key sent twice is refused: 401 GH_KEY_AUTH_DUPLICATE', async (t) => {
  const { upstream, gw } = await setup(t)
  const res = await gw.request({ path: '/private/x?apikey=alice-key-1&apikey=bob-key' })
  t.equal(res.status, 401)
  t.equal(res.json().code, 'GH_KEY_AUTH_DUPLICATE')
  t.equal(res.headers['www-authenticate'], 'Key realm="gatehouse"')
  t.equal(upstream.requests.length, 0)
})

t.test('the key in the query string, and hideCredentials removes it', async (t) => {
  const { upstream, gw } = await setup(t, { hideCredentials: true, keyNames: ['apikey', 'X-Api-Key'] })
  let res = await gw.request({ path: '/private/x?a=1&apikey=alice-key-1&b=%2F' })
  t.equal(res.status, 200)
  t.equal(upstream.last()!.url, '/x?a=1&b=%2F', 'the key is gone, the rest kept as sent')
  t.equal(upstream.last()!.headers['x-consumer-id'], 'c-alice')

  res = await gw.request({ path: '/private/x', headers: { 'x-api-key': 'bob-key', apikey: '' } })
  t.equal(res.status, 200, 'the second name, in a header (case-insensitive)')
  t.equal(upstream.last()!.headers['x-api-key'], undefined, 'hidden')
  t.equal(upstream.last()!.headers['x-consumer-id'], 'bob')
})

t.test('keyInHeader / keyInQuery restrict where the key is read', async (t) => {
  const { upstream, gw } = await setup(t, { keyInQuery: false })
  const res = await gw.request({ path: '/private/x?apikey=alice-key-1' })
  t.equal(res.json().code, 'GH_KEY_AUTH_MISSING')
  t.equal(upstream.requests.length, 0)

  const h = await setup(t, { keyInHeader: false })
  const r2 = await h.gw.request({ path: '/private/x', headers: { apikey: 'alice-key-1' } })
  t.equal(r2.json().code, 'GH_KEY_AUTH_MISSING')
})

t.test('keyInCookie reads the key from a cookie, and hideCredentials removes only that cookie', async (t) => {
  const { upstream, gw } = await setup(t, {
    keyInCookie: true,
    keyInHeader: false,
    keyInQuery: false,
    hideCredentials: true,
    keyNames: ['session_key'],
  })
  let res = await gw.request({
    path: '/private/x',
    headers: { cookie: 'theme=dark; session_key=alice-key-1; lang=en' },
  })
  t.equal(res.status, 200)
  t.equal(upstream.last()!.headers['x-consumer-id'], 'c-alice')
  t.equal(upstream.last()!.headers.cookie, 'theme=dark; lang=en', 'the other cookies go on')

  res = await gw.request({ path: '/private/x', headers: { cookie: 'session_key=wrong' } })
  t.equal(res.status, 401)
  t.equal(res.json().code, 'GH_KEY_AUTH_INVALID')
  res = await gw.request({ path: '/private/x?session_key=alice-key-1' })
  t.equal(res.json().code, 'GH_KEY_AUTH_MISSING', 'not read from the query when keyInQuery is false')

  const off = await setup(t, { keyNames: ['session_key'] })
  const r2 = await off.gw.request({ path: '/private/x', headers: { cookie: 'session_key=alice-key-1' } })
  t.equal(r2.json().code, 'GH_KEY_AUTH_MISSING', 'cookies are not read by default')
})

t.test('keyInBody reads a JSON or form field, and hideCredentials removes it', async (t) => {
  const { upstream, gw } = await setup(t, { keyInBody: true, keyInHeader: false, hideCredentials: true })
  let res = await gw.request({
    method: 'POST',
    path: '/private/x',
    body: { apikey: 'alice-key-1', order: 7 },
  })
  t.equal(res.status, 200)
  t.same(upstream.last()!.json, { order: 7 })
  t.equal(upstream.last()!.headers['x-consumer-id'], 'c-alice')

  res = await gw.request({
    method: 'POST',
    path: '/private/x',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: 'order=8&apikey=bob-key',
  })
  t.equal(res.status, 200)
  t.equal(upstream.last()!.body.toString(), 'order=8')
  t.equal(upstream.last()!.headers['x-consumer-id'], 'bob')

  res = await gw.request({ method: 'POST', path: '/private/x', body: { apikey: 'nope' } })
  t.equal(res.json().code, 'GH_KEY_AUTH_INVALID')
})

t.test('anonymous: a request without a valid key goes on as the anonymous consumer', async (t) => {
  const { upstream, gw } = await setup(t, { anonymous: 'guest' })
  let res = await gw.request({ path: '/private/x', headers: FORGED })
  t.equal(res.status, 200)
  t.same(identity(upstream), {
    'x-consumer-id': 'guest',
    'x-consumer-username': 'guest',
    'x-consumer-groups': 'public',
    'x-anonymous-consumer': 'true',
  })
  res = await gw.request({ path: '/private/x', headers: { apikey: 'wrong' } })
  t.equal(res.status, 200)
  t.equal(upstream.last()!.headers['x-anonymous-consumer'], 'true')
  res = await gw.request({ path: '/private/x', headers: { apikey: 'alice-key-1' } })
  t.equal(upstream.last()!.headers['x-consumer-id'], 'c-alice')
  t.equal(upstream.last()!.headers['x-anonymous-consumer'], undefined)
})

t.test('forged identity headers never reach the upstream, on a route without auth too', async (t) => {
  const { upstream, gw } = await setup(t)
  const res = await gw.request({ path: '/public/x', headers: { ...FORGED, 'X-Consumer-ID': 'admin' } })
  t.equal(res.status, 200)
  t.same(identity(upstream), {})
})

t.test('runOnPreflight: false lets CORS preflights through unauthenticated', async (t) => {
  const { upstream, gw } = await setup(t, { runOnPreflight: false })
  const preflight = { origin: 'https://app.example', 'access-control-request-method': 'POST' }
  let res = await gw.request({ method: 'OPTIONS', path: '/private/x', headers: preflight })
  t.equal(res.status, 200)
  t.same(identity(upstream), {})
  res = await gw.request({ method: 'OPTIONS', path: '/private/x' })
  t.equal(res.json().code, 'GH_KEY_AUTH_MISSING', 'a plain OPTIONS is not a preflight')

  const strict = await setup(t)
  res = await strict.gw.request({ method: 'OPTIONS', path: '/private/x', headers: preflight })
  t.equal(res.status, 401, 'by default preflights are authenticated too (Kong)')
})
