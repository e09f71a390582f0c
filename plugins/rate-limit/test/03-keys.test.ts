import type { GatewayConfig } from '@gatehousejs/sdk/config'
import { startGateway, startUpstream } from '@gatehousejs/sdk/testing'
import t from 'tap'
import rateLimit from '../src/index.js'
import { burst, routeConfig, statuses, testAuth } from './fixtures/helpers.js'

// What a counter is kept per (`limitBy`), and that a client cannot change its own key.

t.test('without trustProxy, invented X-Forwarded-For values do not escape the limit', async (t) => {
  const upstream = await startUpstream({ t })
  const gw = await startGateway({
    t,
    plugins: [rateLimit],
    config: routeConfig(upstream.url, { limits: { hour: 3 } }),
  })
  const results = []
  for (let i = 0; i < 6; i++) {
    results.push(await gw.request({ path: '/api', headers: { 'x-forwarded-for': `203.0.113.${i}` } }))
  }
  t.same(statuses(results), { 200: 3, 429: 3 })
  t.equal(upstream.requests.length, 3)
})

t.test(
  'behind a trusted proxy, the client address is the first untrusted hop; prepended values do not help',
  async (t) => {
    const upstream = await startUpstream({ t })
    const config: GatewayConfig = {
      ...routeConfig(upstream.url, { limits: { hour: 2 } }),
      trustProxy: ['loopback'],
    }
    const gw = await startGateway({ t, plugins: [rateLimit], config })
    // The trusted proxy (127.0.0.1) appends the real client, 198.51.100.7; the client invented the rest.
    const spoofs = ['1.1.1.1', '2.2.2.2, 3.3.3.3', '10.0.0.1', 'garbage']
    const results = []
    for (const spoof of spoofs) {
      results.push(
        await gw.request({ path: '/api', headers: { 'x-forwarded-for': `${spoof}, 198.51.100.7` } }),
      )
    }
    t.same(statuses(results), { 200: 2, 429: 2 }, 'one client, one counter, whatever it prepends')
    const other = await gw.request({ path: '/api', headers: { 'x-forwarded-for': '198.51.100.8' } })
    t.equal(other.status, 200, 'another client behind the same proxy has its own counter')
  },
)

t.test('limitBy header: one counter per header value, the IP when the header is absent', async (t) => {
  const upstream = await startUpstream({ t })
  const gw = await startGateway({
    t,
    plugins: [rateLimit],
    config: routeConfig(upstream.url, { limits: { hour: 2 }, limitBy: ['header'], header: 'X-Tenant' }),
  })
  const acme = await burst(gw, 3, { path: '/api', headers: { 'x-tenant': 'acme' } })
  t.same(statuses(acme), { 200: 2, 429: 1 })
  const globex = await burst(gw, 3, { path: '/api', headers: { 'x-tenant': 'globex' } })
  t.same(statuses(globex), { 200: 2, 429: 1 })
  const anonymous = await burst(gw, 3, { path: '/api' })
  t.same(statuses(anonymous), { 200: 2, 429: 1 }, 'no header: counted by IP')
  const huge = await gw.request({ path: '/api', headers: { 'x-tenant': 'x'.repeat(4_000) } })
  t.equal(huge.status, 200, 'a long value is a key like any other')
})

t.test('limitBy path: one counter per request path', async (t) => {
  const upstream = await startUpstream({ t })
  const gw = await startGateway({
    t,
    plugins: [rateLimit],
    config: routeConfig(upstream.url, { limits: { hour: 1 }, limitBy: ['path'] }),
  })
  t.equal((await gw.request({ path: '/api/a' })).status, 200)
  t.equal((await gw.request({ path: '/api/a' })).status, 429)
  t.equal((await gw.request({ path: '/api/b' })).status, 200)
  t.equal((await gw.request({ path: '/api/b?x=1' })).status, 429, 'the query string is not part of the path')
})

/** Service `one` (routes `/a`, `/b`) and service `two` (route `/c`), with one global instance. */
function twoServices(upstreamUrl: string, config: Record<string, unknown>): GatewayConfig {
  return {
    services: [
      {
        name: 'one',
        url: upstreamUrl,
        routes: [
          { name: 'a', paths: ['/a'] },
          { name: 'b', paths: ['/b'] },
        ],
      },
      { name: 'two', url: upstreamUrl, routes: [{ name: 'c', paths: ['/c'] }] },
    ],
    plugins: [{ name: 'rate-limit', config }],
  }
}

t.test('a global instance limited by route and ip counts each route separately', async (t) => {
  const upstream = await startUpstream({ t })
  const gw = await startGateway({
    t,
    plugins: [rateLimit],
    config: twoServices(upstream.url, { limits: { hour: 1 }, limitBy: ['route', 'ip'] }),
  })
  for (const path of ['/a', '/b', '/c']) {
    t.equal((await gw.request({ path })).status, 200, `${path}: first`)
    t.equal((await gw.request({ path })).status, 429, `${path}: second`)
  }
})

t.test('limitBy service: every client of a service shares one counter', async (t) => {
  const upstream = await startUpstream({ t })
  const gw = await startGateway({
    t,
    plugins: [rateLimit],
    config: {
      ...twoServices(upstream.url, { limits: { hour: 2 }, limitBy: ['service'] }),
      trustProxy: ['loopback'],
    },
  })
  t.equal((await gw.request({ path: '/a', headers: { 'x-forwarded-for': '198.51.100.1' } })).status, 200)
  t.equal((await gw.request({ path: '/b', headers: { 'x-forwarded-for': '198.51.100.2' } })).status, 200)
  t.equal((await gw.request({ path: '/a', headers: { 'x-forwarded-for': '198.51.100.3' } })).status, 429)
  t.equal((await gw.request({ path: '/c' })).status, 200, 'another service, another counter')
})

t.test('limitBy consumer (the default): per consumer once known, per IP before', async (t) => {
  const upstream = await startUpstream({ t })
  const gw = await startGateway({
    t,
    plugins: [testAuth, rateLimit],
    config: {
      services: [{ name: 'api', url: upstream.url, routes: [{ name: 'api', paths: ['/api'] }] }],
      consumers: [{ username: 'alice' }, { username: 'bob' }],
      plugins: [{ name: 'test-auth' }, { name: 'rate-limit', config: { limits: { hour: 2 } } }],
    },
  })
  const alice = await burst(gw, 3, { path: '/api', headers: { 'x-consumer': 'alice' } })
  t.same(statuses(alice), { 200: 2, 429: 1 })
  const bob = await burst(gw, 3, { path: '/api', headers: { 'x-consumer': 'bob' } })
  t.same(statuses(bob), { 200: 2, 429: 1 }, 'bob has his own counter, from the same IP')
  const anonymous = await burst(gw, 3, { path: '/api' })
  t.same(statuses(anonymous), { 200: 2, 429: 1 }, 'no consumer: counted by IP, apart from the consumers')
})

t.test('limitBy credential: per credential, the IP without one', async (t) => {
  const upstream = await startUpstream({ t })
  const gw = await startGateway({
    t,
    plugins: [testAuth, rateLimit],
    config: {
      services: [{ name: 'api', url: upstream.url, routes: [{ name: 'api', paths: ['/api'] }] }],
      consumers: [{ username: 'alice' }],
      plugins: [
        { name: 'test-auth' },
        { name: 'rate-limit', config: { limits: { hour: 1 }, limitBy: ['credential'] } },
      ],
    },
  })
  t.equal((await gw.request({ path: '/api', headers: { 'x-consumer': 'alice' } })).status, 200)
  t.equal((await gw.request({ path: '/api', headers: { 'x-consumer': 'alice' } })).status, 429)
  t.equal((await gw.request({ path: '/api' })).status, 200)
  t.equal((await gw.request({ path: '/api' })).status, 429)
})
