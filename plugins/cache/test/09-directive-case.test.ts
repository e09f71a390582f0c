import type http from 'node:http'
import t from 'tap'
import { setup } from './helpers/setup.js'

// RFC 9111 §5.2: cache directive names are case-insensitive. One client's private answer must never
// reach another client, however the origin spells `private` or `no-store`.

/** The origin answers with the identity it saw (a session cookie or a bearer token). */
const identity = (req: http.IncomingMessage) =>
  String(req.headers.cookie ?? req.headers.authorization ?? 'anonymous')

for (const cc of [
  'Private, max-age=60',
  'PRIVATE, max-age=60',
  'private, Max-Age=60',
  'No-Store, max-age=60',
]) {
  t.test(`Cache-Control: ${cc} is never served to another user`, async (t) => {
    const s = await setup(t, {}, (req) => ({
      headers: { 'cache-control': cc },
      body: `account of ${identity(req)}`,
    }))
    const alice = await s.get('/account', { cookie: 'session=alice' })
    t.equal(alice.text, 'account of session=alice')
    t.match(alice.headers['cache-status'], /fwd=uri-miss; fwd-status=200; detail=not-storable/)
    const bob = await s.get('/account', { cookie: 'session=bob' })
    t.equal(bob.text, 'account of session=bob', 'bob gets his own account, not alice’s')
    t.equal(bob.headers['x-cache-status'], 'Miss')
    t.equal(s.upstream.requests.length, 2, 'both requests reached the origin')
  })
}

t.test('PRIVATE with s-maxage to requests with Authorization is not shared either', async (t) => {
  const s = await setup(t, {}, (req) => ({
    headers: { 'cache-control': 'PRIVATE, s-maxage=60' },
    body: `account of ${identity(req)}`,
  }))
  await s.get('/account', { authorization: 'Bearer alice' })
  const bob = await s.get('/account', { authorization: 'Bearer bob' })
  t.equal(bob.text, 'account of Bearer bob')
  t.equal(s.upstream.requests.length, 2)
})

for (const cc of ['No-Cache, max-age=60', 'NO-CACHE, max-age=60']) {
  t.test(`Cache-Control: ${cc} is revalidated with the origin on every request`, async (t) => {
    const s = await setup(t, {}, (req) => ({
      headers: { 'cache-control': cc, etag: `"${identity(req)}"` },
      body: `account of ${identity(req)}`,
    }))
    await s.get('/account', { cookie: 'session=alice' })
    const bob = await s.get('/account', { cookie: 'session=bob' })
    t.equal(bob.text, 'account of session=bob', 'the origin was asked, and answered for bob')
    t.equal(bob.headers['x-cache-status'], 'Refresh')
    t.equal(s.upstream.requests.length, 2)
    t.equal(s.upstream.requests[1]!.headers['if-none-match'], '"session=alice"', 'asked with the validator')
  })
}

t.test('upper-case request directives are honoured too (No-Cache, Max-Age=0, No-Store)', async (t) => {
  const s = await setup(t, {}, { headers: { 'cache-control': 'max-age=60' } })
  await s.get('/doc')
  t.equal((await s.get('/doc')).headers['x-cache-status'], 'Hit')
  for (const cc of ['No-Cache', 'Max-Age=0']) {
    const r = await s.get('/doc', { 'cache-control': cc })
    t.equal(r.headers['x-cache-status'], 'Refresh', cc)
  }
  await s.get('/other', { 'cache-control': 'No-Store' })
  t.equal((await s.get('/other')).headers['x-cache-status'], 'Miss', 'No-Store: the response was not stored')
})
