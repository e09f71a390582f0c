import {
  captureLogs,
  type LogCapture,
  startGateway,
  startRedis,
  startUpstream,
  type TestGateway,
  type TestRedis,
} from '@gatehousejs/sdk/testing'
import { Redis } from 'ioredis'
import t, { type Test } from 'tap'
import rateLimit from '../src/index.js'
import { awayFromBoundary, burst, routeConfig, statuses } from './fixtures/helpers.js'

// The redis store on one node against a real redis-server: atomic counting, keys that expire on their
// own, and the two failure policies when Redis goes down or slows, with automatic recovery.

/** The warnings logged so far whose message matches. */
const warnings = (logs: LogCapture, msg: RegExp) => logs.withMsg(msg).filter((l) => l.level === 'warn')

async function setup(
  t: Test,
  store: Record<string, unknown>,
  limits: Record<string, number> = { hour: 3 },
  redisOptions: Record<string, unknown> = {},
) {
  const redis = await startRedis({ t })
  const upstream = await startUpstream({ t })
  const logs = captureLogs({ level: 'info' })
  const gw = await startGateway({
    t,
    plugins: [rateLimit],
    logger: logs.logger,
    config: routeConfig(
      upstream.url,
      { limits, limitBy: ['header'], header: 'x-client', redis: 'default', store },
      { url: redis.url, ...redisOptions },
    ),
  })
  const inspect = new Redis(redis.url, {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => 100,
  })
  inspect.on('error', () => {})
  t.teardown(() => inspect.disconnect())
  return { redis, upstream, gw, log: logs, inspect }
}

const client = (id: string) => ({ path: '/api', headers: { 'x-client': id } })

/** After a restart: sends requests as `id` until one is counted in Redis again (bounded: 5 s). */
async function untilShared(gw: TestGateway, inspect: Redis, id: string): Promise<void> {
  for (let i = 0; i < 50; i++) {
    await gw.request(client(id))
    const keys = await inspect.keys(`*${id}*`).catch(() => [])
    if (keys.length > 0) return
    await new Promise((r) => setTimeout(r, 100))
  }
  throw new Error('the gateway did not reconnect to redis within 5 s')
}

t.test('counters live in redis, with a TTL; 50 concurrent requests, limit 10: exactly 10 pass', async (t) => {
  // failClosed and a long timeout: on a loaded machine a slow reply must show as a 503, never be
  // silently counted twice (locally and in Redis), which would hide a counting error.
  const { upstream, gw, inspect } = await setup(
    t,
    { onFailure: 'failClosed' },
    { hour: 10, day: 1000 },
    { commandTimeout: '5s' },
  )
  await awayFromBoundary(3_600_000)
  const responses = await burst(gw, 50, client('c1'))
  t.same(statuses(responses), { 200: 10, 429: 40 })
  t.equal(upstream.requests.length, 10)
  const refused = responses.find((r) => r.status === 429)!
  t.equal(refused.json().code, 'GH_RATE_LIMITED')
  t.ok(Number(refused.headers['retry-after']) >= 1)
  t.equal(refused.headers['x-ratelimit-remaining-day'], '990', 'refusals count in no window')

  await inspect.connect()
  const keys = (await inspect.keys('gatehouse:rl:*')).sort()
  t.equal(keys.length, 2, 'one key per window')
  const hourKey = keys.find((k) => k.includes(':hour:'))!
  t.equal(await inspect.get(hourKey), '10')
  const ttl = await inspect.pttl(hourKey)
  t.ok(ttl > 0 && ttl <= 3_600_000 + 5_000, `the key expires on its own (PTTL ${ttl})`)
  t.match(
    hourKey,
    /^gatehouse:rl:\{[^}]+\}:hour:\d+$/,
    'all windows of a key share a hash tag (cluster slot)',
  )
})

t.test(
  'failOpen: Redis down → counted in this process with the same limits, one warning; back → shared again',
  async (t) => {
    // A long command timeout: a stall of a busy machine must not look like an outage (an extra
    // warning, a request counted locally); a stopped Redis closes the connection and is seen at once.
    const { redis, upstream, gw, log, inspect } = await setup(
      t,
      { onFailure: 'failOpen' },
      { hour: 3 },
      { commandTimeout: '5s' },
    )
    await awayFromBoundary(3_600_000)
    t.same(statuses(await burst(gw, 2, client('before'))), { 200: 2 })

    await redis.stop()
    const during = await burst(gw, 5, client('during'))
    t.same(statuses(during), { 200: 3, 429: 2 }, 'the same limit, enforced locally')
    t.equal(during.find((r) => r.status === 429)?.json().code, 'GH_RATE_LIMITED')
    t.equal(during.find((r) => r.status === 200)?.headers['x-ratelimit-limit-hour'], '3')
    t.same(statuses(await burst(gw, 5, client('during-2'))), { 200: 3, 429: 2 })
    t.equal(
      warnings(log, /unavailable: counting in this process/).length,
      1,
      'one warning for the whole outage',
    )
    t.equal(upstream.requests.length, 2 + 3 + 3)

    await redis.start()
    await inspect.connect()
    await untilShared(gw, inspect, 'probe')
    t.ok(log.withMsg(/is back/).length > 0, 'recovery is logged')
    const after = await burst(gw, 5, client('after'))
    t.same(statuses(after), { 200: 3, 429: 2 })
    const key = (await inspect.keys('*after*'))[0]!
    t.equal(await inspect.get(key), '3', 'counted in redis again')

    await redis.stop()
    await burst(gw, 1, client('second-outage'))
    t.equal(warnings(log, /unavailable/).length, 2, 'a new outage warns again')
  },
)

t.test(
  'failClosed: Redis down → 503 GH_STORE_UNAVAILABLE, never reaching the upstream; back → served',
  async (t) => {
    const { redis, upstream, gw, log, inspect } = await setup(
      t,
      { onFailure: 'failClosed' },
      { hour: 3 },
      { commandTimeout: '5s' },
    )
    t.equal((await gw.request(client('a'))).status, 200)
    await redis.stop()
    const down = await burst(gw, 3, client('a'))
    for (const res of down) {
      t.equal(res.status, 503)
      t.match(res.json(), { statusCode: 503, code: 'GH_STORE_UNAVAILABLE', message: /unavailable/ })
      t.equal(res.headers['retry-after'], '1', 'the 503 says when to retry')
      t.notMatch(res.text, /ECONNREFUSED|redis|127\.0\.0\.1/i, 'no internals in the body')
    }
    t.equal(upstream.requests.length, 1)
    t.equal(warnings(log, /unavailable: refusing requests with 503/).length, 1)

    await redis.start()
    await inspect.connect()
    let status = 0
    for (let i = 0; i < 50 && status !== 200; i++) {
      status = (await gw.request(client('b'))).status
      if (status !== 200) await new Promise((r) => setTimeout(r, 100))
    }
    t.equal(status, 200, 'served again once Redis is back, with nobody restarting anything')
  },
)

t.test('a slow Redis costs at most the command timeout, then the fallback applies', async (t) => {
  const { gw, inspect, log } = await setup(
    t,
    { onFailure: 'failClosed' },
    { hour: 3 },
    { commandTimeout: '1s' },
  )
  t.equal((await gw.request(client('s'))).status, 200)
  await inspect.connect()
  // Every other client is paused for 3 s: Redis is up but does not answer.
  await inspect.call('CLIENT', 'PAUSE', '3000', 'ALL')
  const res = await gw.request({ ...client('s'), timeout: 2_500 })
  t.equal(res.status, 503, 'answered before Redis wakes up: the 1 s command timeout, not a hang')
  t.equal(res.json().code, 'GH_STORE_UNAVAILABLE')
  t.equal(warnings(log, /unavailable/).length, 1)
})

t.test(
  'a gateway that starts while Redis is down serves per its policy, then shares once Redis is up',
  async (t) => {
    const redis: TestRedis = await startRedis({ t })
    await redis.stop()
    const upstream = await startUpstream({ t })
    const gw = await startGateway({
      t,
      plugins: [rateLimit],
      config: routeConfig(
        upstream.url,
        { limits: { hour: 2 }, redis: 'default' },
        { url: redis.url, connectTimeout: '300ms' },
      ),
    })
    t.same(statuses(await burst(gw, 3)), { 200: 2, 429: 1 }, 'fail open by default, with the local limit')
    await redis.start()
    const inspect = new Redis(redis.url)
    t.teardown(() => inspect.disconnect())
    let keys: string[] = []
    for (let i = 0; i < 50 && keys.length === 0; i++) {
      await gw.request({ path: '/api', headers: { 'x-forwarded-for': 'ignored' } })
      keys = await inspect.keys('gatehouse:rl:*')
      if (keys.length === 0) await new Promise((r) => setTimeout(r, 100))
    }
    t.equal(keys.length, 1, 'counting moved to redis')
  },
)
