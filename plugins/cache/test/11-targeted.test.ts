import t from 'tap'
import { type Reply, setup } from './helpers/setup.js'

// RFC 9213: a targeted field (CDN-Cache-Control, or a name of the operator's) governs this cache
// instead of Cache-Control and Expires, when configured and valid; other caches see Cache-Control.

t.test('CDN-Cache-Control overrides Cache-Control for this cache only', async (t) => {
  const s = await setup(
    t,
    { targetedCacheControl: 'CDN-Cache-Control' },
    { headers: { 'cache-control': 'no-store', 'cdn-cache-control': 'max-age=600' } },
  )
  const first = await s.get('/page')
  t.match(first.headers['cache-status'], /stored/)
  t.equal(first.headers['cdn-cache-control'], undefined, 'not forwarded once obeyed (RFC 9213 §3 MAY)')
  t.equal(first.headers['cache-control'], 'no-store', 'clients and their caches still get Cache-Control')
  const hit = await s.get('/page')
  t.equal(hit.headers['x-cache-status'], 'Hit')
  t.equal(hit.headers['cdn-cache-control'], undefined)
  t.equal(hit.headers['cache-control'], 'no-store')
  t.equal(s.upstream.requests.length, 1)
})

t.test('the targeted field can forbid what Cache-Control allows, and ignores Expires', async (t) => {
  const s = await setup(
    t,
    { targetedCacheControl: 'Gatehouse-Cache-Control' },
    (req): Reply => ({
      headers:
        req.url === '/no-store'
          ? { 'cache-control': 'public, max-age=600', 'gatehouse-cache-control': 'no-store' }
          : { expires: 'Sun, 01 Dec 2030 00:00:00 GMT', 'gatehouse-cache-control': 'private' },
    }),
  )
  for (const path of ['/no-store', '/private']) {
    await s.get(path)
    t.equal((await s.get(path)).headers['x-cache-status'], 'Miss', path)
  }
  t.equal(s.upstream.requests.length, 4)
})

t.test(
  'an invalid targeted field (not a Structured Fields Dictionary) falls back to Cache-Control',
  async (t) => {
    for (const value of ['Max-Age=600', 'max-age=600,,', 'max-age="600']) {
      const s = await setup(
        t,
        { targetedCacheControl: 'CDN-Cache-Control' },
        { headers: { 'cache-control': 'no-store', 'cdn-cache-control': value } },
      )
      await s.get('/page')
      t.equal((await s.get('/page')).headers['x-cache-status'], 'Miss', value)
    }
  },
)

t.test('the targeted field reads stale-while-revalidate and string arguments', async (t) => {
  const s = await setup(
    t,
    { targetedCacheControl: 'CDN-Cache-Control' },
    {
      headers: {
        'cache-control': 'no-store',
        'cdn-cache-control': 'max-age=60, no-cache="x-user"',
        'x-user': 'alice',
      },
    },
  )
  await s.get('/page')
  const hit = await s.get('/page')
  t.equal(hit.headers['x-cache-status'], 'Hit')
  t.equal(hit.headers['x-user'], undefined)
})

t.test('not configured: CDN-Cache-Control changes nothing and is passed through', async (t) => {
  const s = await setup(
    t,
    {},
    { headers: { 'cache-control': 'no-store', 'cdn-cache-control': 'max-age=600' } },
  )
  const first = await s.get('/page')
  t.equal(first.headers['cdn-cache-control'], 'max-age=600')
  t.equal((await s.get('/page')).headers['x-cache-status'], 'Miss')
})

t.test('forwardTargetedCacheControl: true passes the field on to a downstream CDN', async (t) => {
  const s = await setup(
    t,
    { targetedCacheControl: 'CDN-Cache-Control', forwardTargetedCacheControl: true },
    { headers: { 'cache-control': 'no-store', 'cdn-cache-control': 'max-age=600' } },
  )
  t.equal((await s.get('/page')).headers['cdn-cache-control'], 'max-age=600')
  const hit = await s.get('/page')
  t.equal(hit.headers['x-cache-status'], 'Hit')
  t.equal(hit.headers['cdn-cache-control'], 'max-age=600')
})
