import t from 'tap'
import { setup, sleep } from './helpers/setup.js'

// RFC 5861: stale-while-revalidate and stale-if-error.

t.test(
  'stale-while-revalidate: the stale response is served at once and refreshed in the background',
  async (t) => {
    const s = await setup(t, {}, (_req, n) => ({
      headers: { 'cache-control': 'max-age=1, stale-while-revalidate=30' },
      body: `v${n}`,
      delay: n === 2 ? 200 : 0,
    }))
    t.equal((await s.get('/a')).text, 'v1')
    await sleep(1100)
    const stale = await s.get('/a')
    t.equal(stale.text, 'v1')
    t.equal(stale.headers['x-cache-status'], 'Stale')
    t.equal(stale.headers['cache-status'], 'gatehouse; hit; detail=stale-while-revalidate')
    const again = await s.get('/a')
    t.equal(again.text, 'v1', 'a second stale request does not start a second refresh')
    await sleep(400)
    t.equal(s.upstream.requests.length, 2, 'one background refresh')
    const fresh = await s.get('/a')
    t.equal(fresh.text, 'v2')
    t.equal(fresh.headers['x-cache-status'], 'Hit')
    t.equal(s.upstream.requests.length, 2)
  },
)

t.test('stale-while-revalidate refreshes with a conditional request when it can', async (t) => {
  const s = await setup(t, {}, (req) =>
    req.headers['if-none-match'] === '"e"'
      ? { status: 304, headers: { etag: '"e"', 'cache-control': 'max-age=60' } }
      : { headers: { etag: '"e"', 'cache-control': 'max-age=1, stale-while-revalidate=30' }, body: 'body' },
  )
  await s.get('/a')
  await sleep(1100)
  t.equal((await s.get('/a')).headers['x-cache-status'], 'Stale')
  await sleep(200)
  t.equal(s.upstream.requests[1]?.headers['if-none-match'], '"e"')
  const hit = await s.get('/a')
  t.equal(hit.headers['x-cache-status'], 'Hit')
  t.equal(hit.text, 'body')
  t.equal(s.upstream.requests.length, 2)
})

t.test('stale-if-error: an upstream 5xx is replaced by the stale response', async (t) => {
  const s = await setup(t, {}, (_req, n) =>
    n === 1
      ? { headers: { 'cache-control': 'max-age=1, stale-if-error=60' }, body: 'good' }
      : { status: 503, body: 'down' },
  )
  await s.get('/a')
  await sleep(1100)
  const r = await s.get('/a')
  t.equal(r.status, 200)
  t.equal(r.text, 'good')
  t.equal(r.headers['x-cache-status'], 'Stale')
  t.equal(r.headers['cache-status'], 'gatehouse; fwd=stale; fwd-status=503; detail=stale-if-error')
  t.equal(s.upstream.requests.length, 2)
})

t.test('stale-if-error: an unreachable upstream is replaced by the stale response', async (t) => {
  const s = await setup(t, {}, { headers: { 'cache-control': 'max-age=1, stale-if-error=60' }, body: 'good' })
  await s.get('/a')
  await s.upstream.close()
  await sleep(1100)
  const r = await s.get('/a')
  t.equal(r.status, 200)
  t.equal(r.text, 'good')
  t.equal(r.headers['x-cache-status'], 'Stale')
  t.equal(r.headers['cache-status'], 'gatehouse; fwd=stale; detail=stale-if-error')
})

t.test('without stale-if-error (or past it) the error reaches the client', async (t) => {
  const s = await setup(t, {}, (_req, n) =>
    n === 1 ? { headers: { 'cache-control': 'max-age=1', etag: '"x"' } } : { status: 503, body: 'down' },
  )
  await s.get('/a')
  await sleep(1100)
  const r = await s.get('/a')
  t.equal(r.status, 503)
})

t.test('must-revalidate forbids serving stale, even with stale-if-error', async (t) => {
  const s = await setup(t, {}, (_req, n) =>
    n === 1
      ? {
          headers: {
            'cache-control': 'max-age=1, must-revalidate, stale-if-error=60, stale-while-revalidate=60',
            etag: '"x"',
          },
        }
      : { status: 503, body: 'down' },
  )
  await s.get('/a')
  await sleep(1100)
  const r = await s.get('/a')
  t.equal(r.status, 503)
  t.equal(s.upstream.requests.length, 2)
})
