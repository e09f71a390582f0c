import { createGateway } from '@gatehousejs/core'
import { request, startGateway, startRedis, startUpstream, type TestLike } from '@gatehousejs/sdk/testing'
import t from 'tap'
import cache, { cacheInstances } from '../src/index.js'
import { until } from './helpers/setup.js'

// The Redis store: shared by every gateway node, entries expire on their own, and an outage means
// the cache is bypassed, never an error or a hang.

async function cluster(t: TestLike, redisUrl: string, extra: Record<string, unknown> = {}) {
  let n = 0
  const upstream = await startUpstream({
    t,
    handler(req, res) {
      n++
      const tag = req.url?.startsWith('/tagged') ? 'blue' : 'none'
      res.writeHead(200, { 'content-type': 'text/plain', 'cache-control': 'max-age=60', 'cache-tag': tag })
      res.end(`n=${n}`)
    },
  })
  const config = {
    // Generous timeouts: ioredis's timer can fire after a stall even though Redis answered, which
    // would turn a Hit into a Bypass on a busy machine. An outage is seen at once (the connection
    // closes), not by timing out.
    redis: { default: { url: redisUrl, commandTimeout: '5s', connectTimeout: '5s', ...extra } },
    services: [
      {
        name: 'api',
        url: upstream.url,
        routes: [
          {
            paths: ['/'],
            plugins: [
              {
                name: 'cache',
                config: { redis: 'default' },
              },
            ],
          },
        ],
      },
    ],
  }
  const a = await startGateway({ t, createGateway, plugins: [cache], config })
  const b = await startGateway({ t, createGateway, plugins: [cache], config })
  return { upstream, a, b }
}

/** ioredis connects in the background: wait until every node's cache reaches Redis (no more Bypass). */
async function connected(...urls: string[]) {
  for (const url of urls) {
    await until(async () => {
      const r = await request(url, { path: '/__warmup' })
      return r.headers['x-cache-status'] !== 'Bypass' ? true : undefined
    })
  }
}

t.test('two gateway nodes share one Redis: one fills, the other hits', async (t) => {
  const redis = await startRedis({ t })
  const { upstream, a, b } = await cluster(t, redis.url)
  await connected(a.url, b.url)
  const before = upstream.requests.length
  const miss = await request(a.url, { path: '/shared?x=1' })
  t.equal(miss.headers['x-cache-status'], 'Miss')
  t.match(miss.headers['cache-status'], /stored/)
  const hit = await request(b.url, { path: '/shared?x=1' })
  t.equal(hit.status, 200)
  t.equal(hit.headers['x-cache-status'], 'Hit', 'node B answers from what node A stored')
  t.equal(hit.text, miss.text)
  t.equal(upstream.requests.length - before, 1)
})

t.test('invalidation and purge by tag reach every node', async (t) => {
  const redis = await startRedis({ t })
  const { upstream, a, b } = await cluster(t, redis.url)
  await connected(a.url, b.url)
  await request(a.url, { path: '/items' })
  await request(b.url, { path: '/items', method: 'POST', body: { x: 1 } })
  t.equal(
    (await request(a.url, { path: '/items' })).headers['x-cache-status'],
    'Miss',
    'B’s POST invalidated A’s entry',
  )
  await request(a.url, { path: '/tagged/1' })
  await request(a.url, { path: '/tagged/2' })
  const n = await Promise.all(cacheInstances().map((c) => c.purge({ tag: 'blue' })))
  t.equal(
    n.reduce((x, y) => x + y, 0),
    2,
    'removed once, from the shared store',
  )
  t.equal((await request(b.url, { path: '/tagged/1' })).headers['x-cache-status'], 'Miss')
  await request(a.url, { path: '/p/one' })
  await request(a.url, { path: '/q/one' })
  const host = new URL(a.url).hostname
  const removed = await cacheInstances()[0]!.purge({ prefix: '/p/', host })
  t.equal(removed, 1)
  t.equal((await request(b.url, { path: '/q/one' })).headers['x-cache-status'], 'Hit')
  t.ok(upstream.requests.length > 0)
})

t.test(
  'Redis killed mid-test: requests bypass the cache (no errors), and caching resumes when it is back',
  async (t) => {
    const redis = await startRedis({ t })
    const { upstream, a, b } = await cluster(t, redis.url)
    await connected(a.url, b.url)
    await request(a.url, { path: '/r' })
    t.equal((await request(b.url, { path: '/r' })).headers['x-cache-status'], 'Hit')

    await redis.stop()
    const before = upstream.requests.length
    const during = await Promise.all(
      Array.from({ length: 10 }, (_, i) => request(i % 2 ? a.url : b.url, { path: '/r', timeout: 5000 })),
    )
    t.ok(
      during.every((r) => r.status === 200),
      'every request answered 200',
    )
    t.ok(during.every((r) => r.headers['x-cache-status'] === 'Bypass'))
    t.match(during[0]!.headers['cache-status'], /fwd=bypass; fwd-status=200; detail=store-unavailable/)
    t.equal(upstream.requests.length - before, 10, 'all went to the upstream')

    await redis.start()
    // ioredis retries with a growing delay (up to 2 s): polled for up to 10 s.
    const status = await until(async () => {
      await request(a.url, { path: '/back' })
      const s = (await request(b.url, { path: '/back' })).headers['x-cache-status']
      return s === 'Hit' ? s : undefined
    })
    t.equal(status, 'Hit', 'reconnected on its own and caching again')
  },
)

t.test('Redis down at start: the gateway starts and bypasses', async (t) => {
  const redis = await startRedis({ t })
  await redis.stop()
  const { a } = await cluster(t, redis.url)
  const r = await request(a.url, { path: '/x', timeout: 5000 })
  t.equal(r.status, 200)
  t.equal(r.headers['x-cache-status'], 'Bypass')
})

t.test('entries expire in Redis on their own', async (t) => {
  const redis = await startRedis({ t })
  let n = 0
  const upstream = await startUpstream({
    t,
    handler(_req, res) {
      n++
      // Long enough for the checks below on a busy machine; the key's PTTL is bounded by it.
      res.writeHead(200, { 'cache-control': 'max-age=5' })
      res.end(`n=${n}`)
    },
  })
  const gw = await startGateway({
    t,
    createGateway,
    plugins: [cache],
    config: {
      redis: { default: { url: redis.url } },
      services: [
        {
          name: 'a',
          url: upstream.url,
          routes: [
            {
              paths: ['/'],
              plugins: [{ name: 'cache', config: { redis: 'default' } }],
            },
          ],
        },
      ],
    },
  })
  await connected(gw.url)
  await request(gw.url, { path: '/e' })
  t.equal((await request(gw.url, { path: '/e' })).headers['x-cache-status'], 'Hit')
  const { Redis } = await import('ioredis')
  const client = new Redis(redis.url)
  t.teardown(() => client.disconnect())
  const keys = await client.keys('gatehouse:cache:k:GET * /e')
  t.equal(keys.length, 1)
  const pttl = await client.pttl(keys[0]!)
  t.ok(pttl > 0 && pttl <= 5000, `expires within max-age (pttl ${pttl})`)
})
