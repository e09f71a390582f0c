import t from 'tap'
import { setup, sleep } from './helpers/setup.js'

// Freshness per RFC 9111: what is stored, for how long, and that a hit never reaches the upstream.

t.test('a fresh response is served from the cache: the upstream sees one request', async (t) => {
  const s = await setup(
    t,
    {},
    { headers: { 'cache-control': 'max-age=60', 'content-type': 'application/json' }, body: '{"a":1}' },
  )
  const first = await s.get('/items')
  t.equal(first.status, 200)
  t.equal(first.headers['x-cache-status'], 'Miss')
  t.equal(first.headers['cache-status'], 'gatehouse; fwd=uri-miss; fwd-status=200; stored')
  const second = await s.get('/items')
  t.equal(second.status, 200)
  t.equal(second.text, '{"a":1}')
  t.equal(second.headers['content-type'], 'application/json')
  t.equal(second.headers['content-length'], '7')
  t.equal(second.headers['x-cache-status'], 'Hit')
  t.equal(second.headers['cache-status'], 'gatehouse; hit')
  t.equal(second.headers.age, '0')
  t.ok(second.headers['x-request-id'], 'core still adds the request id to hits')
  t.equal(s.upstream.requests.length, 1, 'the hit did not reach the upstream')
})

t.test('Age grows while stored and the entry expires after max-age', async (t) => {
  // max-age=4 and a hit after 1.1 s: room for a busy machine. Age is checked against the time the
  // test itself saw pass, not one fixed value.
  const s = await setup(t, {}, { headers: { 'cache-control': 'max-age=4' } })
  const began = Date.now()
  await s.get('/a')
  await sleep(1100)
  const hit = await s.get('/a')
  const seen = Math.floor((Date.now() - began) / 1000)
  t.equal(hit.headers['x-cache-status'], 'Hit')
  const age = Number(hit.headers.age)
  t.ok(age >= 1 && age <= seen, `Age ${hit.headers.age} counts the whole seconds stored (1 to ${seen})`)
  await sleep(Math.max(0, began + 4100 - Date.now()))
  const after = await s.get('/a')
  t.equal(after.headers['x-cache-status'], 'Miss', 'expired (no validator to revalidate with): fetched again')
  t.equal(after.text, 'n=2')
  t.equal(s.upstream.requests.length, 2)
})

t.test('an upstream Age counts against max-age', async (t) => {
  const s = await setup(t, {}, { headers: { 'cache-control': 'max-age=10', age: '10' } })
  await s.get('/a')
  const again = await s.get('/a')
  t.equal(again.headers['x-cache-status'], 'Miss', 'already stale when received: never a hit')
  t.equal(s.upstream.requests.length, 2)
})

t.test('s-maxage wins over max-age for a shared cache', async (t) => {
  const s = await setup(t, {}, { headers: { 'cache-control': 'max-age=0, s-maxage=60' } })
  await s.get('/a')
  t.equal((await s.get('/a')).headers['x-cache-status'], 'Hit')
  t.equal(s.upstream.requests.length, 1)
})

t.test('Expires gives freshness when there is no max-age', async (t) => {
  const s = await setup(t, {}, () => ({
    headers: { date: new Date().toUTCString(), expires: new Date(Date.now() + 60_000).toUTCString() },
  }))
  await s.get('/a')
  t.equal((await s.get('/a')).headers['x-cache-status'], 'Hit')
  t.equal(s.upstream.requests.length, 1)
})

t.test('Last-Modified alone gives heuristic freshness (RFC 9111 §4.2.2)', async (t) => {
  const s = await setup(t, {}, () => ({
    headers: {
      date: new Date().toUTCString(),
      'last-modified': new Date(Date.now() - 3600_000).toUTCString(),
    },
  }))
  await s.get('/a')
  t.equal((await s.get('/a')).headers['x-cache-status'], 'Hit')
  t.equal(s.upstream.requests.length, 1)
})

t.test('no freshness information: not stored, unless defaultTtl is set', async (t) => {
  const s = await setup(t, {}, {})
  const first = await s.get('/a')
  t.equal(first.headers['cache-status'], 'gatehouse; fwd=uri-miss; fwd-status=200; detail=no-freshness')
  await s.get('/a')
  t.equal(s.upstream.requests.length, 2)

  const d = await setup(t, { defaultTtl: '1m' }, {})
  await d.get('/a')
  const hit = await d.get('/a')
  t.equal(hit.headers['x-cache-status'], 'Hit')
  t.notOk(hit.headers['cache-control'], 'the client sees no Cache-Control the upstream did not send')
  t.equal(d.upstream.requests.length, 1)
})

t.test('defaultTtl does not override explicit directives', async (t) => {
  const s = await setup(t, { defaultTtl: '1m' }, { headers: { 'cache-control': 'max-age=0' } })
  await s.get('/a')
  await s.get('/a')
  t.equal(s.upstream.requests.length, 2)
})

t.test('no-store, private and no-cache responses', async (t) => {
  for (const cc of ['no-store', 'private, max-age=60']) {
    const s = await setup(t, {}, { headers: { 'cache-control': cc } })
    await s.get('/a')
    const again = await s.get('/a')
    t.equal(again.headers['x-cache-status'], 'Miss', `${cc}: never stored`)
    t.equal(s.upstream.requests.length, 2, cc)
  }
  // no-cache with a validator is stored, but every use is revalidated with the upstream.
  const s = await setup(t, {}, (req) =>
    req.headers['if-none-match'] === '"v1"'
      ? { status: 304, headers: { etag: '"v1"', 'cache-control': 'no-cache' } }
      : { headers: { 'cache-control': 'no-cache', etag: '"v1"' }, body: 'full' },
  )
  await s.get('/a')
  const again = await s.get('/a')
  t.equal(again.status, 200)
  t.equal(again.text, 'full')
  t.equal(again.headers['x-cache-status'], 'Refresh')
  t.equal(s.upstream.requests.length, 2)
  t.equal(s.upstream.requests[1]?.headers['if-none-match'], '"v1"')
})

t.test('must-revalidate: served while fresh', async (t) => {
  const s = await setup(t, {}, { headers: { 'cache-control': 'max-age=60, must-revalidate' } })
  await s.get('/a')
  t.equal((await s.get('/a')).headers['x-cache-status'], 'Hit')
  t.equal(s.upstream.requests.length, 1)
})

t.test(
  'Set-Cookie responses are not stored by default; storeSetCookie stores them without the cookie',
  async (t) => {
    const reply = { headers: { 'cache-control': 'max-age=60', 'set-cookie': 'sid=secret' } }
    const s = await setup(t, {}, reply)
    await s.get('/a')
    const again = await s.get('/a')
    t.match(again.headers['cache-status'], /detail=set-cookie/)
    t.equal(s.upstream.requests.length, 2)

    const k = await setup(t, { storeSetCookie: true }, reply)
    const miss = await k.get('/a')
    t.same(
      miss.headers['set-cookie'],
      ['sid=secret'],
      'the client whose request filled the cache gets its cookie',
    )
    const hit = await k.get('/a')
    t.equal(hit.headers['x-cache-status'], 'Hit')
    t.notOk(hit.headers['set-cookie'], 'the cookie is never replayed to another client')
  },
)

t.test('statuses: only configured ones are stored', async (t) => {
  const s = await setup(t, {}, { status: 404, headers: { 'cache-control': 'max-age=60' } })
  await s.get('/missing')
  t.equal((await s.get('/missing')).headers['x-cache-status'], 'Hit', '404 is cacheable by default')
  const only200 = await setup(
    t,
    { statuses: [200] },
    { status: 404, headers: { 'cache-control': 'max-age=60' } },
  )
  await only200.get('/missing')
  const again = await only200.get('/missing')
  t.match(again.headers['cache-status'], /detail=status/)
  t.equal(only200.upstream.requests.length, 2)
})

t.test('contentTypes: only matching media types are stored', async (t) => {
  const s = await setup(t, { contentTypes: ['application/json', 'text/*'] }, (req) => ({
    headers: {
      'cache-control': 'max-age=60',
      'content-type': req.url === '/img' ? 'image/png' : 'text/html; charset=utf-8',
    },
  }))
  await s.get('/page')
  t.equal((await s.get('/page')).headers['x-cache-status'], 'Hit', 'text/* matches text/html with parameters')
  await s.get('/img')
  t.match((await s.get('/img')).headers['cache-status'], /detail=content-type/)
})

t.test('maxBodySize: larger bodies are not stored (and still reach the client whole)', async (t) => {
  const big = 'x'.repeat(5000)
  const s = await setup(t, { maxBodySize: 4096 }, { headers: { 'cache-control': 'max-age=60' }, body: big })
  const first = await s.get('/big')
  t.equal(first.text, big)
  const again = await s.get('/big')
  t.equal(again.text, big)
  t.match(again.headers['cache-status'], /detail=too-large/)
  t.equal(s.upstream.requests.length, 2)
})

t.test('HEAD is answered from the stored GET response, without a body', async (t) => {
  const s = await setup(t, {}, { headers: { 'cache-control': 'max-age=60' }, body: 'hello' })
  await s.get('/a')
  const head = await s.send({ method: 'HEAD', path: '/a' })
  t.equal(head.status, 200)
  t.equal(head.headers['x-cache-status'], 'Hit')
  t.equal(head.headers['content-length'], '5')
  t.equal(head.body.length, 0)
  t.equal(s.upstream.requests.length, 1)
})

t.test('HEAD can be left out of the cached methods', async (t) => {
  const s = await setup(t, { methods: ['GET'] }, { headers: { 'cache-control': 'max-age=60' } })
  await s.get('/a')
  const head = await s.send({ method: 'HEAD', path: '/a' })
  t.equal(head.headers['x-cache-status'], 'Bypass')
  t.equal(head.headers['cache-status'], 'gatehouse; fwd=method; fwd-status=200')
  t.equal(s.upstream.requests.length, 2)
})

t.test('gzip upstream bodies are stored decoded and served to any client', async (t) => {
  const { gzipSync } = await import('node:zlib')
  const { createGateway } = await import('@gatehousejs/core')
  const { startGateway, startUpstream, request } = await import('@gatehousejs/sdk/testing')
  const cache = (await import('../src/index.js')).default
  const upstream = await startUpstream({
    t,
    handler(_req, res) {
      const body = gzipSync('compressed body')
      res.writeHead(200, {
        'content-encoding': 'gzip',
        'cache-control': 'max-age=60',
        'content-length': body.length,
      })
      res.end(body)
    },
  })
  const gw = await startGateway({
    t,
    createGateway,
    plugins: [cache],
    config: {
      services: [{ name: 'a', url: upstream.url, routes: [{ paths: ['/'], plugins: [{ name: 'cache' }] }] }],
    },
  })
  await request(gw.url, { path: '/z', headers: { 'accept-encoding': 'gzip' } })
  const hit = await request(gw.url, { path: '/z' })
  t.equal(hit.headers['x-cache-status'], 'Hit')
  t.notOk(hit.headers['content-encoding'])
  t.equal(hit.text, 'compressed body')
  t.equal(upstream.requests.length, 1)
})
