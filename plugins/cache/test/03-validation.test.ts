import t from 'tap'
import { setup, sleep } from './helpers/setup.js'

// Vary, revalidation with the upstream (304), conditional requests from clients, and the client's
// own Cache-Control.

t.test('Vary: each variant is stored separately', async (t) => {
  const s = await setup(t, {}, (req) => ({
    headers: { 'cache-control': 'max-age=60', vary: 'Accept-Language' },
    body: `lang=${req.headers['accept-language'] ?? 'none'}`,
  }))
  t.equal((await s.get('/a', { 'accept-language': 'en' })).text, 'lang=en')
  t.equal(
    (await s.get('/a', { 'accept-language': 'fr' })).headers['cache-status'],
    'gatehouse; fwd=vary-miss; fwd-status=200; stored',
  )
  const en = await s.get('/a', { 'accept-language': 'en' })
  const fr = await s.get('/a', { 'accept-language': 'fr' })
  t.equal(en.text, 'lang=en')
  t.equal(en.headers['x-cache-status'], 'Hit')
  t.equal(fr.text, 'lang=fr')
  t.equal(fr.headers['x-cache-status'], 'Hit')
  const none = await s.get('/a')
  t.equal(none.text, 'lang=none', 'a request without the header is its own variant')
  t.equal(s.upstream.requests.length, 3)
})

t.test('Vary: * is never stored', async (t) => {
  const s = await setup(t, {}, { headers: { 'cache-control': 'max-age=60', vary: '*' } })
  await s.get('/a')
  const again = await s.get('/a')
  t.match(again.headers['cache-status'], /detail=vary-star/)
  t.equal(s.upstream.requests.length, 2)
})

t.test(
  'a stale entry with an ETag is revalidated: the upstream answers 304, the client gets the stored body',
  async (t) => {
    const s = await setup(t, {}, (req) =>
      req.headers['if-none-match'] === '"v1"'
        ? { status: 304, headers: { etag: '"v1"', 'cache-control': 'max-age=60' } }
        : { headers: { etag: '"v1"', 'cache-control': 'max-age=1' }, body: 'version one' },
    )
    await s.get('/doc')
    await sleep(1100)
    const refreshed = await s.get('/doc')
    t.equal(refreshed.status, 200)
    t.equal(refreshed.text, 'version one')
    t.equal(refreshed.headers['x-cache-status'], 'Refresh')
    t.equal(refreshed.headers['cache-status'], 'gatehouse; fwd=stale; fwd-status=304; stored')
    t.equal(refreshed.headers['cache-control'], 'max-age=60', 'headers updated from the 304')
    t.equal(refreshed.headers['content-length'], '11')
    t.equal(s.upstream.requests[1]?.headers['if-none-match'], '"v1"', 'the revalidation carried the ETag')
    const hit = await s.get('/doc')
    t.equal(hit.headers['x-cache-status'], 'Hit', 'fresh again for max-age=60 from the 304')
    t.equal(hit.text, 'version one')
    t.equal(s.upstream.requests.length, 2)
  },
)

t.test(
  'revalidation with Last-Modified sends If-Modified-Since; a changed resource replaces the entry',
  async (t) => {
    const lm = new Date(Date.now() - 60_000).toUTCString()
    const s = await setup(t, {}, (req, n) =>
      n === 1
        ? { headers: { 'last-modified': lm, 'cache-control': 'max-age=1' }, body: 'old' }
        : {
            headers: { 'last-modified': new Date().toUTCString(), 'cache-control': 'max-age=60' },
            body: `new ${req.headers['if-modified-since'] === lm}`,
          },
    )
    await s.get('/doc')
    await sleep(1100)
    const changed = await s.get('/doc')
    t.equal(changed.text, 'new true')
    t.equal(changed.headers['x-cache-status'], 'Refresh')
    t.equal((await s.get('/doc')).text, 'new true')
    t.equal(s.upstream.requests.length, 2)
  },
)

t.test("a client's conditional request is answered 304 from the cache", async (t) => {
  const s = await setup(
    t,
    {},
    {
      headers: {
        etag: 'W/"abc"',
        'cache-control': 'max-age=60',
        'last-modified': 'Wed, 01 Jan 2025 00:00:00 GMT',
      },
      body: 'data',
    },
  )
  await s.get('/a')
  const nm = await s.get('/a', { 'if-none-match': '"abc"' })
  t.equal(nm.status, 304)
  t.equal(nm.body.length, 0)
  t.equal(nm.headers.etag, 'W/"abc"')
  t.equal(nm.headers['x-cache-status'], 'Hit')
  const changed = await s.get('/a', { 'if-none-match': '"other"' })
  t.equal(changed.status, 200)
  t.equal(changed.text, 'data')
  const ims = await s.get('/a', { 'if-modified-since': 'Thu, 02 Jan 2025 00:00:00 GMT' })
  t.equal(ims.status, 304)
  t.equal(s.upstream.requests.length, 1)
})

t.test(
  "on a miss, the client's condition is held back, the full response stored, and the client gets 304",
  async (t) => {
    const s = await setup(t, {}, (req) => ({
      headers: { etag: '"e1"', 'cache-control': 'max-age=60' },
      body: `conditional=${req.headers['if-none-match'] !== undefined}`,
    }))
    const first = await s.get('/a', { 'if-none-match': '"e1"' })
    t.equal(first.status, 304)
    t.equal(first.headers['x-cache-status'], 'Miss')
    t.equal(
      s.upstream.requests[0]?.headers['if-none-match'],
      undefined,
      'the upstream was asked for the whole response',
    )
    const full = await s.get('/a')
    t.equal(full.status, 200)
    t.equal(full.text, 'conditional=false')
    t.equal(full.headers['x-cache-status'], 'Hit')
    t.equal(s.upstream.requests.length, 1)
  },
)

t.test(
  'request Cache-Control: no-cache and max-age=0 revalidate; max-age and min-fresh limit what is used',
  async (t) => {
    const s = await setup(t, {}, { headers: { 'cache-control': 'max-age=60', etag: '"x"' } })
    await s.get('/a')
    const nc = await s.get('/a', { 'cache-control': 'no-cache' })
    t.equal(nc.headers['x-cache-status'], 'Refresh')
    t.equal(nc.headers['cache-status'], 'gatehouse; fwd=request; fwd-status=200; stored')
    t.equal(s.upstream.requests.length, 2)
    await s.get('/a', { pragma: 'no-cache' })
    t.equal(s.upstream.requests.length, 3, 'Pragma: no-cache without Cache-Control counts too')
    await s.get('/a', { 'cache-control': 'max-age=0' })
    t.equal(s.upstream.requests.length, 4)
    const ok = await s.get('/a', { 'cache-control': 'max-age=30' })
    t.equal(ok.headers['x-cache-status'], 'Hit')
    await s.get('/a', { 'cache-control': 'min-fresh=120' })
    t.equal(s.upstream.requests.length, 5, 'not fresh enough for min-fresh=120')
  },
)

t.test('request max-stale accepts a stale entry', async (t) => {
  const s = await setup(t, {}, { headers: { 'cache-control': 'max-age=1', etag: '"x"' } })
  await s.get('/a')
  await sleep(1100)
  const stale = await s.get('/a', { 'cache-control': 'max-stale=60' })
  t.equal(stale.headers['x-cache-status'], 'Stale')
  t.equal(stale.headers['cache-status'], 'gatehouse; hit; detail=max-stale')
  t.equal(s.upstream.requests.length, 1)
})

t.test('only-if-cached: 504 GH_CACHE_MISS on a miss, the stored response on a hit', async (t) => {
  const s = await setup(t, {}, { headers: { 'cache-control': 'max-age=60' } })
  const miss = await s.get('/a', { 'cache-control': 'only-if-cached' })
  t.equal(miss.status, 504)
  t.equal(miss.json().code, 'GH_CACHE_MISS')
  t.equal(s.upstream.requests.length, 0)
  await s.get('/a')
  const hit = await s.get('/a', { 'cache-control': 'only-if-cached' })
  t.equal(hit.status, 200)
  t.equal(s.upstream.requests.length, 1)
})

t.test('request no-store: answered, but the response is not stored', async (t) => {
  const s = await setup(t, {}, { headers: { 'cache-control': 'max-age=60' } })
  const r = await s.get('/a', { 'cache-control': 'no-store' })
  t.match(r.headers['cache-status'], /detail=no-store/)
  await s.get('/a')
  t.equal(s.upstream.requests.length, 2)
})

t.test('requestCacheControl: false ignores the client directives (as nginx and Kong do)', async (t) => {
  const s = await setup(t, { requestCacheControl: false }, { headers: { 'cache-control': 'max-age=60' } })
  await s.get('/a')
  const r = await s.get('/a', { 'cache-control': 'no-cache' })
  t.equal(r.headers['x-cache-status'], 'Hit')
  t.equal(s.upstream.requests.length, 1)
})
