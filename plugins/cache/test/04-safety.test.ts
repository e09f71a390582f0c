import t from 'tap'
import { type Reply, setup, testAuth } from './helpers/setup.js'

// A cache must never hand one user's response to another: Authorization, consumers, invalidation.

const echoUser = (req: import('node:http').IncomingMessage) => ({
  headers: { 'cache-control': 'max-age=60' },
  body: `user=${req.headers.authorization ?? req.headers['x-consumer-id'] ?? req.headers['x-user'] ?? 'anonymous'}`,
})

t.test(
  'a response to a request with Authorization is not stored unless it says public or s-maxage',
  async (t) => {
    const s = await setup(t, {}, echoUser)
    const alice = await s.get('/me', { authorization: 'Bearer alice' })
    t.equal(alice.text, 'user=Bearer alice')
    t.match(alice.headers['cache-status'], /detail=not-storable/)
    const bob = await s.get('/me', { authorization: 'Bearer bob' })
    t.equal(bob.text, 'user=Bearer bob', 'bob never sees alice’s response')
    t.equal(s.upstream.requests.length, 2)
  },
)

t.test('an anonymous entry is not served to a request with Authorization', async (t) => {
  const s = await setup(t, {}, echoUser)
  await s.get('/me')
  const withAuth = await s.get('/me', { authorization: 'Bearer carol' })
  t.equal(withAuth.text, 'user=Bearer carol')
  t.equal(s.upstream.requests.length, 2)
})

t.test('public or s-maxage responses to authorised requests are shared', async (t) => {
  for (const cc of ['public, max-age=60', 's-maxage=60']) {
    const s = await setup(t, {}, { headers: { 'cache-control': cc }, body: 'shared' })
    await s.get('/doc', { authorization: 'Bearer alice' })
    const other = await s.get('/doc', { authorization: 'Bearer bob' })
    t.equal(other.headers['x-cache-status'], 'Hit', cc)
    t.equal(s.upstream.requests.length, 1, cc)
  }
})

t.test('consumer isolation: each identified consumer has its own entries', async (t) => {
  const s = await setup(t, {}, echoUser, { extra: [testAuth], routePlugins: [{ name: 'test-auth' }] })
  t.equal((await s.get('/me', { 'x-user': 'alice' })).text, 'user=alice')
  const bob = await s.get('/me', { 'x-user': 'bob' })
  t.equal(bob.text, 'user=bob')
  t.equal(bob.headers['x-cache-status'], 'Miss')
  const alice = await s.get('/me', { 'x-user': 'alice' })
  t.equal(alice.text, 'user=alice')
  t.equal(alice.headers['x-cache-status'], 'Hit')
  const anon = await s.get('/me')
  t.equal(anon.text, 'user=anonymous', 'anonymous requests do not see a consumer’s entry')
  t.equal(s.upstream.requests.length, 3)
})

t.test(
  'consumer isolation also stores responses to requests with Authorization (the key separates them)',
  async (t) => {
    const s = await setup(t, {}, echoUser, { extra: [testAuth], routePlugins: [{ name: 'test-auth' }] })
    await s.get('/me', { 'x-user': 'alice', authorization: 'Bearer a' })
    const again = await s.get('/me', { 'x-user': 'alice', authorization: 'Bearer a' })
    t.equal(again.headers['x-cache-status'], 'Hit')
    const bob = await s.get('/me', { 'x-user': 'bob', authorization: 'Bearer b' })
    t.equal(bob.text, 'user=Bearer b')
    t.equal(s.upstream.requests.length, 2)
  },
)

t.test('consumerIsolation: false shares entries between consumers', async (t) => {
  const s = await setup(t, { consumerIsolation: false }, echoUser, {
    extra: [testAuth],
    routePlugins: [{ name: 'test-auth' }],
  })
  await s.get('/me', { 'x-user': 'alice' })
  const bob = await s.get('/me', { 'x-user': 'bob' })
  t.equal(bob.headers['x-cache-status'], 'Hit')
  t.equal(s.upstream.requests.length, 1)
})

t.test('a successful POST, PUT, PATCH or DELETE invalidates the URL', async (t) => {
  for (const method of ['POST', 'PUT', 'PATCH', 'DELETE']) {
    const s = await setup(t, {}, (req) => ({ headers: { 'cache-control': 'max-age=60' }, body: req.method }))
    await s.get('/items?b=2&a=1')
    t.equal(
      (await s.get('/items?a=1&b=2')).headers['x-cache-status'],
      'Hit',
      'the sorted query is the same key',
    )
    const write = await s.send({
      method,
      path: '/items?a=1&b=2',
      body: method === 'DELETE' ? undefined : { x: 1 },
    })
    t.equal(write.status, 200)
    const after = await s.get('/items?a=1&b=2')
    t.equal(after.headers['x-cache-status'], 'Miss', `${method} invalidated the stored response`)
    t.equal(s.upstream.requests.length, 3, method)
  }
})

t.test(
  'a failed unsafe request invalidates nothing; Location on the same host is invalidated too',
  async (t) => {
    const s = await setup(
      t,
      {},
      (req): Reply =>
        req.method === 'POST'
          ? req.url === '/fail'
            ? { status: 500 }
            : { status: 201, headers: { location: '/items/7' } }
          : { headers: { 'cache-control': 'max-age=60' } },
    )
    await s.get('/fail')
    await s.send({ method: 'POST', path: '/fail' })
    t.equal((await s.get('/fail')).headers['x-cache-status'], 'Hit', 'a 500 invalidates nothing')
    await s.get('/items/7')
    await s.send({ method: 'POST', path: '/items' })
    t.equal(
      (await s.get('/items/7')).headers['x-cache-status'],
      'Miss',
      'the Location target was invalidated',
    )
  },
)

t.test('invalidation removes every consumer’s and every variant’s entry', async (t) => {
  const s = await setup(
    t,
    {},
    { headers: { 'cache-control': 'max-age=60', vary: 'accept' } },
    {
      extra: [testAuth],
      routePlugins: [{ name: 'test-auth' }],
    },
  )
  await s.get('/x', { 'x-user': 'alice', accept: 'a' })
  await s.get('/x', { 'x-user': 'bob', accept: 'b' })
  await s.send({ method: 'DELETE', path: '/x' })
  t.equal((await s.get('/x', { 'x-user': 'alice', accept: 'a' })).headers['x-cache-status'], 'Miss')
  t.equal((await s.get('/x', { 'x-user': 'bob', accept: 'b' })).headers['x-cache-status'], 'Miss')
})

t.test('query rules: ignore and include', async (t) => {
  const s = await setup(
    t,
    { query: { ignore: ['utm_source'] } },
    { headers: { 'cache-control': 'max-age=60' } },
  )
  await s.get('/p?id=1&utm_source=mail')
  t.equal((await s.get('/p?utm_source=web&id=1')).headers['x-cache-status'], 'Hit')
  t.equal((await s.get('/p?id=2')).headers['x-cache-status'], 'Miss')
  const i = await setup(t, { query: { include: ['id'] } }, { headers: { 'cache-control': 'max-age=60' } })
  await i.get('/p?id=1&session=abc')
  t.equal((await i.get('/p?session=xyz&id=1')).headers['x-cache-status'], 'Hit')
})

t.test('the host is part of the key', async (t) => {
  const s = await setup(t, {}, (req) => ({
    headers: { 'cache-control': 'max-age=60' },
    body: String(req.headers['x-forwarded-host'] ?? req.headers.host),
  }))
  await s.get('/a', { host: 'one.example' })
  const two = await s.get('/a', { host: 'two.example' })
  t.equal(two.headers['x-cache-status'], 'Miss')
  t.equal(s.upstream.requests.length, 2)
})
