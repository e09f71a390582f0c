import { createGateway, type GatewayConfig } from '@gatehousejs/core'
import { configIssues, startGateway, startRedis, startUpstream } from '@gatehousejs/sdk/testing'
import { Redis } from 'ioredis'
import t from 'tap'
import rateLimit from '../src/index.js'
import { awayFromBoundary, routeConfig } from './fixtures/helpers.js'

// Windows of any duration ("5s", "90s", "15m"), beside second/minute/hour/day: counted, refused and
// reported like the named ones, in memory and in Redis.

const BASE = '/services/0/routes/0/plugins/0/config'

function configWith(config: Record<string, unknown>): GatewayConfig {
  return {
    services: [
      {
        name: 'api',
        url: 'http://127.0.0.1:9',
        routes: [{ name: 'api', paths: ['/'], plugins: [{ name: 'rate-limit', config }] }],
      },
    ],
  }
}

t.test('a 15-minute and a 90-second window: counted, refused, and reported per window', async (t) => {
  const upstream = await startUpstream({ t })
  const gw = await startGateway({
    t,
    plugins: [rateLimit],
    config: routeConfig(upstream.url, { limits: { '90s': 100, '15m': 3 } }),
  })
  // Every 15-minute boundary is a 90-second one too: clear of the next 90-second boundary, the three
  // requests fall in one window of each.
  await awayFromBoundary(90_000, 5_000)
  for (let i = 0; i < 3; i++) {
    const ok = await gw.request({ path: '/api' })
    t.equal(ok.status, 200)
    t.equal(ok.headers['x-ratelimit-limit-15m'], '3')
    t.equal(ok.headers['x-ratelimit-remaining-15m'], String(2 - i))
    t.equal(ok.headers['x-ratelimit-limit-90s'], '100')
    t.equal(ok.headers['x-ratelimit-remaining-90s'], String(99 - i))
  }
  const refused = await gw.request({ path: '/api' })
  t.equal(refused.status, 429)
  t.equal(refused.json().code, 'GH_RATE_LIMITED')
  t.equal(refused.headers['ratelimit-limit'], '3', 'the standard headers follow the tightest window')
  t.equal(refused.headers['ratelimit-remaining'], '0')
  const untilEnd = Math.ceil((900_000 - (Date.now() % 900_000)) / 1000)
  const reset = Number(refused.headers['ratelimit-reset'])
  const retryAfter = Number(refused.headers['retry-after'])
  t.ok(reset <= 900 && Math.abs(reset - untilEnd) <= 2, `Reset ${reset} ≈ ${untilEnd} s`)
  t.ok(Math.abs(retryAfter - untilEnd) <= 2, `Retry-After ${retryAfter} ≈ ${untilEnd} s`)
  t.equal(upstream.requests.length, 3)
})

t.test('a 5-second window refuses past its limit, with Retry-After within 5 s', async (t) => {
  const upstream = await startUpstream({ t })
  const gw = await startGateway({
    t,
    plugins: [rateLimit],
    config: routeConfig(upstream.url, { limits: { '5s': 2 }, algorithm: 'sliding' }),
  })
  await awayFromBoundary(5_000, 2_500)
  t.equal((await gw.request({ path: '/api' })).status, 200)
  t.equal((await gw.request({ path: '/api' })).status, 200)
  const refused = await gw.request({ path: '/api' })
  t.equal(refused.status, 429)
  const retryAfter = Number(refused.headers['retry-after'])
  t.ok(retryAfter >= 1 && retryAfter <= 10, `Retry-After ${retryAfter}`)
  t.equal(refused.headers['x-ratelimit-limit-5s'], '2')
})

t.test('Redis: a 90-second window has its own key that expires on its own', async (t) => {
  const redis = await startRedis({ t })
  const upstream = await startUpstream({ t })
  const gw = await startGateway({
    t,
    plugins: [rateLimit],
    config: routeConfig(
      upstream.url,
      {
        limits: { '90s': 2 },
        limitBy: ['header'],
        header: 'x-client',
        redis: 'default',
        store: { onFailure: 'failClosed' },
      },
      { url: redis.url, commandTimeout: '5s' },
    ),
  })
  await awayFromBoundary(90_000, 5_000)
  const req = { path: '/api', headers: { 'x-client': 'c90' } }
  t.equal((await gw.request(req)).status, 200)
  t.equal((await gw.request(req)).status, 200)
  t.equal((await gw.request(req)).status, 429)
  const inspect = new Redis(redis.url, { maxRetriesPerRequest: 0 })
  t.teardown(() => inspect.disconnect())
  const keys = await inspect.keys('gatehouse:rl:*')
  t.equal(keys.length, 1)
  t.match(keys[0], /:90s:\d+$/)
  t.equal(Number(keys[0]!.split(':').pop()) % 90_000, 0, 'aligned to 90-second windows')
  t.equal(await inspect.get(keys[0]!), '2')
  const ttl = await inspect.pttl(keys[0]!)
  t.ok(ttl > 0 && ttl <= 90_000 + 5_000, `PTTL ${ttl}`)
})

t.test('durations are validated; two names for one window are refused', async (t) => {
  for (const name of ['0s', '5x', '500ms', '1.5m', 'week']) {
    const issues = await configIssues({
      plugins: [rateLimit],
      config: configWith({ limits: { [name]: 10 } }),
    })
    t.match(
      issues,
      [{ pointer: `${BASE}/limits`, plugin: 'rate-limit', message: `unknown property "${name}"` }],
      name,
    )
  }
  for (const [a, b] of [
    ['minute', '60s'],
    ['1m', '60s'],
    ['hour', '60m'],
  ]) {
    const err = await createGateway(configWith({ limits: { [a!]: 10, [b!]: 20 } }), {
      plugins: [rateLimit],
      logger: false,
    }).then(
      (gw) => gw.close().then(() => undefined),
      (e: Error) => e,
    )
    t.match(err?.message, /are the same window/, `${a} and ${b}`)
  }
})
