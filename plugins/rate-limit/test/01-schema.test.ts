import { createGateway, type GatewayConfig } from '@gatehousejs/core'
import { configIssues } from '@gatehousejs/sdk/testing'
import t from 'tap'
import rateLimit from '../src/index.js'

// Schema first: what an operator sees when the config is wrong, and what `init` gets when it is right.

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

function issuesFor(config: Record<string, unknown>) {
  return configIssues({ plugins: [rateLimit], config: configWith(config) })
}

const BASE = '/services/0/routes/0/plugins/0/config'

t.test('a config with only limits is valid and gets every default', async (t) => {
  const gw = await createGateway(configWith({ limits: { minute: 100 } }), {
    plugins: [rateLimit],
    logger: false,
  })
  t.teardown(() => gw.close())
  t.same(gw.config.services?.[0]?.routes?.[0]?.plugins?.[0]?.config, {
    limits: { minute: 100 },
    limitBy: ['consumer'],
    algorithm: 'fixed',
    headers: { standard: true, perWindow: true },
    store: { type: 'memory', maxKeys: 100_000, onFailure: 'failOpen' },
  })
})

t.test('limits are required, with at least one window', async (t) => {
  t.match(await issuesFor({}), [{ pointer: BASE, plugin: 'rate-limit', message: /limits/ }])
  t.match(await issuesFor({ limits: {} }), [{ pointer: `${BASE}/limits`, plugin: 'rate-limit' }])
})

t.test('a window unit that does not exist is refused, naming it', async (t) => {
  const issues = await issuesFor({ limits: { minute: 10, week: 100 } })
  t.match(issues, [{ pointer: `${BASE}/limits`, plugin: 'rate-limit', message: 'unknown property "week"' }])
})

t.test('a negative, zero or fractional limit is refused, by pointer', async (t) => {
  t.match(await issuesFor({ limits: { minute: -5 } }), [
    { pointer: `${BASE}/limits/minute`, plugin: 'rate-limit', message: /must be >= 1/ },
  ])
  t.match(await issuesFor({ limits: { second: 0 } }), [{ pointer: `${BASE}/limits/second` }])
  t.match(await issuesFor({ limits: { hour: 2.5 } }), [
    { pointer: `${BASE}/limits/hour`, message: /integer/ },
  ])
})

t.test('an unknown key source or algorithm is refused, by pointer', async (t) => {
  t.match(await issuesFor({ limits: { minute: 1 }, limitBy: ['cookie'] }), [
    { pointer: `${BASE}/limitBy/0`, plugin: 'rate-limit' },
  ])
  t.match(await issuesFor({ limits: { minute: 1 }, algorithm: 'leaky' }), [
    { pointer: `${BASE}/algorithm`, plugin: 'rate-limit' },
  ])
})

t.test('a redis URL that does not parse is refused, naming the field', async (t) => {
  const notRedis = await issuesFor({
    limits: { minute: 1 },
    store: { type: 'redis', redis: { url: 'http://127.0.0.1:6379' } },
  })
  t.match(notRedis, [{ pointer: `${BASE}/store/redis/url`, plugin: 'rate-limit', message: /pattern/ }])

  const badPort = await issuesFor({
    limits: { minute: 1 },
    store: { type: 'redis', redis: { url: 'redis://127.0.0.1:99999' } },
  })
  t.equal(badPort.length, 1)
  t.match(badPort[0], {
    plugin: 'rate-limit',
    message: /init failed: store\.redis\.url: .*redis:\/\/127\.0\.0\.1:99999/,
  })

  const badDb = await issuesFor({
    limits: { minute: 1 },
    store: { type: 'redis', redis: { url: 'redis://127.0.0.1:6379/zero' } },
  })
  t.match(badDb[0], { message: /store\.redis\.url: .*database number/ })

  const badCluster = await issuesFor({
    limits: { minute: 1 },
    store: { type: 'redis', redis: { cluster: ['redis://[::1'] } },
  })
  t.match(badCluster[0], { message: /store\.redis\.cluster\/0: .*not a valid redis URL/ })
})

t.test('store redis without a connection is refused, naming the field', async (t) => {
  t.match(await issuesFor({ limits: { minute: 1 }, store: { type: 'redis' } }), [
    { plugin: 'rate-limit', message: /init failed: store\.redis: required/ },
  ])
  t.match(await issuesFor({ limits: { minute: 1 }, store: { type: 'redis', redis: {} } }), [
    { plugin: 'rate-limit', message: /init failed: store\.redis: set `url`/ },
  ])
})

t.test('limitBy header needs the header name', async (t) => {
  t.match(await issuesFor({ limits: { minute: 1 }, limitBy: ['header'] }), [
    { plugin: 'rate-limit', message: /init failed: header: required/ },
  ])
  t.match(await issuesFor({ limits: { minute: 1 }, limitBy: ['header'], header: 'bad header' }), [
    { pointer: `${BASE}/header` },
  ])
})

t.test('a negative store timeout is refused, by pointer', async (t) => {
  t.match(
    await issuesFor({
      limits: { minute: 1 },
      store: { type: 'redis', redis: { url: 'redis://127.0.0.1:6379', timeout: -1 } },
    }),
    [{ pointer: `${BASE}/store/redis/timeout` }],
  )
})
