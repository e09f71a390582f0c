import { startGateway, startUpstream } from '@gatehousejs/sdk/testing'
import t from 'tap'
import rateLimit from '../src/index.js'
import { awayFromBoundary, burst, routeConfig, statuses } from './fixtures/helpers.js'

// Behaviour on one node (memory store): limits per window, the refusal, the headers, exactness.

t.test(
  'past the limit: 429 GH_RATE_LIMITED, Retry-After, a JSON body, and the upstream sees nothing',
  async (t) => {
    const upstream = await startUpstream({ t })
    const gw = await startGateway({
      t,
      plugins: [rateLimit],
      config: routeConfig(upstream.url, { limits: { hour: 3 } }),
    })
    await awayFromBoundary(3_600_000)
    for (let i = 0; i < 3; i++)
      t.equal((await gw.request({ path: '/api' })).status, 200, `request ${i + 1} passes`)
    t.equal(upstream.requests.length, 3)

    const res = await gw.request({ path: '/api' })
    t.equal(res.status, 429)
    t.match(res.headers['content-type'], /^application\/json/)
    t.match(res.json(), {
      statusCode: 429,
      code: 'GH_RATE_LIMITED',
      error: 'Too Many Requests',
      message: /rate limit exceeded/,
      requestId: res.headers['x-request-id'],
    })
    const retryAfter = Number(res.headers['retry-after'])
    const untilHourEnd = Math.ceil((3_600_000 - (Date.now() % 3_600_000)) / 1000)
    t.ok(
      retryAfter >= 1 && Math.abs(retryAfter - untilHourEnd) <= 2,
      `Retry-After ${retryAfter} ≈ ${untilHourEnd} s`,
    )
    t.equal(res.headers['ratelimit-remaining'], '0')
    t.equal(res.headers['x-ratelimit-remaining-hour'], '0')
    t.equal(upstream.requests.length, 3, 'the refused request never reached the upstream')
  },
)

t.test(
  'every response carries the headers for each window; the standard ones follow the tightest',
  async (t) => {
    const upstream = await startUpstream({ t })
    const gw = await startGateway({
      t,
      plugins: [rateLimit],
      config: routeConfig(upstream.url, { limits: { minute: 5, hour: 3, day: 100 } }),
    })
    await awayFromBoundary(60_000)
    const first = await gw.request({ path: '/api' })
    t.equal(first.status, 200)
    t.equal(first.headers['x-ratelimit-limit-minute'], '5')
    t.equal(first.headers['x-ratelimit-remaining-minute'], '4')
    t.equal(first.headers['x-ratelimit-limit-hour'], '3')
    t.equal(first.headers['x-ratelimit-remaining-hour'], '2')
    t.equal(first.headers['x-ratelimit-limit-day'], '100')
    t.equal(first.headers['x-ratelimit-remaining-day'], '99')
    t.equal(first.headers['x-ratelimit-limit-second'], undefined, 'no header for a window not configured')
    t.equal(first.headers['ratelimit-limit'], '3', 'the hour window has the fewest left')
    t.equal(first.headers['ratelimit-remaining'], '2')
    const reset = Number(first.headers['ratelimit-reset'])
    const untilHourEnd = Math.ceil((3_600_000 - (Date.now() % 3_600_000)) / 1000)
    t.ok(Math.abs(reset - untilHourEnd) <= 2, `RateLimit-Reset ${reset} is the seconds to the hour's end`)

    await gw.request({ path: '/api' })
    await gw.request({ path: '/api' })
    const refused = await gw.request({ path: '/api' })
    t.equal(refused.status, 429, 'the hour limit (3) refuses the 4th request although the minute allows 5')
    t.equal(refused.headers['x-ratelimit-remaining-minute'], '2', 'a refused request counts in no window')
    t.equal(refused.headers['x-ratelimit-remaining-day'], '97')
  },
)

t.test('each kind of header can be switched off', async (t) => {
  const upstream = await startUpstream({ t })
  const standardOnly = await startGateway({
    t,
    plugins: [rateLimit],
    config: routeConfig(upstream.url, { limits: { hour: 10 }, headers: { perWindow: false } }),
  })
  const a = await standardOnly.request({ path: '/api' })
  t.equal(a.headers['ratelimit-limit'], '10')
  t.equal(a.headers['x-ratelimit-limit-hour'], undefined)

  const perWindowOnly = await startGateway({
    t,
    plugins: [rateLimit],
    config: routeConfig(upstream.url, { limits: { hour: 10 }, headers: { standard: false } }),
  })
  const b = await perWindowOnly.request({ path: '/api' })
  t.equal(b.headers['ratelimit-limit'], undefined)
  t.equal(b.headers['x-ratelimit-limit-hour'], '10')

  const none = await startGateway({
    t,
    plugins: [rateLimit],
    config: routeConfig(upstream.url, {
      limits: { hour: 1 },
      headers: { standard: false, perWindow: false },
    }),
  })
  t.equal((await none.request({ path: '/api' })).headers['ratelimit-limit'], undefined)
  const refused = await none.request({ path: '/api' })
  t.equal(refused.status, 429)
  t.equal(refused.headers['ratelimit-remaining'], undefined)
  t.equal(refused.headers['x-ratelimit-remaining-hour'], undefined)
  t.ok(Number(refused.headers['retry-after']) >= 1, 'Retry-After is always sent with a 429')
})

t.test('concurrency: 50 requests at once against a limit of 10 let exactly 10 through', async (t) => {
  const upstream = await startUpstream({ t })
  const gw = await startGateway({
    t,
    plugins: [rateLimit],
    config: routeConfig(upstream.url, { limits: { hour: 10 } }),
  })
  await awayFromBoundary(3_600_000)
  const responses = await burst(gw, 50)
  t.same(statuses(responses), { 200: 10, 429: 40 })
  t.equal(upstream.requests.length, 10)
  const remaining = responses
    .filter((r) => r.status === 200)
    .map((r) => Number(r.headers['ratelimit-remaining']))
  t.same(
    remaining.sort((x, y) => x - y),
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
    'each success saw a distinct count',
  )
})

t.test('a second window resets at the next second', async (t) => {
  const upstream = await startUpstream({ t })
  const gw = await startGateway({
    t,
    plugins: [rateLimit],
    config: routeConfig(upstream.url, { limits: { second: 2 } }),
  })
  await gw.request({ path: '/api' }) // warm the connection
  // Start at the beginning of a second, so three requests fit in it.
  await new Promise((r) => setTimeout(r, 1_000 - (Date.now() % 1_000) + 10))
  const [a, b, c] = await burst(gw, 3)
  t.same([a?.status, b?.status, c?.status].sort(), [200, 200, 429])
  const refused = [a, b, c].find((r) => r?.status === 429)
  t.equal(refused?.headers['retry-after'], '1')
  t.equal(refused?.headers['x-ratelimit-remaining-second'], '0')
  await new Promise((r) => setTimeout(r, 1_000 - (Date.now() % 1_000) + 10))
  const next = await gw.request({ path: '/api' })
  t.equal(next.status, 200, 'a new second, a new count')
  t.equal(next.headers['x-ratelimit-remaining-second'], '1')
})

t.test('a route-scoped instance counts only its own route', async (t) => {
  const upstream = await startUpstream({ t })
  const gw = await startGateway({
    t,
    plugins: [rateLimit],
    config: {
      services: [
        {
          name: 'api',
          url: upstream.url,
          routes: [
            {
              name: 'limited',
              paths: ['/limited'],
              plugins: [{ name: 'rate-limit', config: { limits: { hour: 1 } } }],
            },
            { name: 'open', paths: ['/open'] },
          ],
        },
      ],
    },
  })
  t.equal((await gw.request({ path: '/limited' })).status, 200)
  t.equal((await gw.request({ path: '/limited' })).status, 429)
  const open = await burst(gw, 5, { path: '/open' })
  t.same(statuses(open), { 200: 5 })
  t.equal(open[0]?.headers['ratelimit-limit'], undefined, 'no headers where no instance applies')
})
