import t from 'tap'
import { setup, sleep, until } from './helpers/setup.js'

// RFC 5861: stale-while-revalidate and stale-if-error.

t.test(
  'stale-while-revalidate: the stale response is served at once and refreshed in the background',
  async (t) => {
    // The refresh is held at the upstream until the test lets it go, so "served at once" and "no
    // second refresh" do not depend on how fast the machine is.
    let release!: () => void
    const held = new Promise<void>((resolve) => {
      release = resolve
    })
    const s = await setup(t, {}, async (_req, n) => {
      if (n === 2) await held
      return { headers: { 'cache-control': 'max-age=1, stale-while-revalidate=30' }, body: `v${n}` }
    })
    t.equal((await s.get('/a')).text, 'v1')
    await sleep(1100)
    const stale = await s.get('/a')
    t.equal(stale.text, 'v1')
    t.equal(stale.headers['x-cache-status'], 'Stale')
    t.equal(stale.headers['cache-status'], 'gatehouse; hit; detail=stale-while-revalidate')
    const again = await s.get('/a')
    t.equal(again.text, 'v1', 'served stale while the refresh is still at the upstream')
    t.equal(again.headers['x-cache-status'], 'Stale')
    t.equal(s.upstream.requests.length, 2, 'a second stale request does not start a second refresh')
    release()
    const fresh = await until(async () => {
      const r = await s.get('/a')
      return r.headers['x-cache-status'] === 'Hit' ? r : undefined
    })
    t.equal(fresh?.text, 'v2', 'the refreshed response is stored')
    t.equal(s.upstream.requests.length, 2, 'one background refresh')
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
  const hit = await until(async () => {
    const r = await s.get('/a')
    return r.headers['x-cache-status'] === 'Hit' ? r : undefined
  })
  t.equal(s.upstream.requests[1]?.headers['if-none-match'], '"e"')
  t.equal(hit?.headers['x-cache-status'], 'Hit', 'the 304 freshened the stored response')
  t.equal(hit?.text, 'body')
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
