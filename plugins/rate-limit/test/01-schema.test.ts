import { createGateway, type GatewayConfig } from '@gatehousejs/core'
import { configIssues } from '@gatehousejs/sdk/testing'
import t from 'tap'
import rateLimit from '../src/index.js'

// Schema first: what an operator sees when the config is wrong, and what `init` gets when it is right.

function configWith(config: Record<string, unknown>, redis?: Record<string, unknown>): GatewayConfig {
  return {
    ...(redis ? { redis: redis as GatewayConfig['redis'] } : {}),
    services: [
      {
        name: 'api',
        url: 'http://127.0.0.1:9',
        routes: [{ name: 'api', paths: ['/'], plugins: [{ name: 'rate-limit', config }] }],
      },
    ],
  }
}

function issuesFor(config: Record<string, unknown>, redis?: Record<string, unknown>) {
  return configIssues({ plugins: [rateLimit], config: configWith(config, redis) })
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
    store: { maxKeys: 100_000, onFailure: 'failOpen' },
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

t.test('a redis connection that cannot be used is refused at /redis/<name>, naming the field', async (t) => {
  const limits = { limits: { minute: 1 }, redis: 'default' }
  const notRedis = await issuesFor(limits, { default: { url: 'http://127.0.0.1:6379' } })
  t.match(notRedis, [{ pointer: '/redis/default/url', message: /must match a Redis URL/ }])

  const badPort = await issuesFor(limits, { default: { url: 'redis://127.0.0.1:99999' } })
  t.same(
    badPort.map((i) => i.pointer),
    ['/redis/default/url'],
  )
  t.match(badPort[0], { message: /redis:\/\/127\.0\.0\.1:99999.*not a valid redis URL/ })

  const badDb = await issuesFor(limits, { default: { url: 'redis://127.0.0.1:6379/zero' } })
  t.match(badDb[0], { pointer: '/redis/default/url', message: /database number/ })

  const badCluster = await issuesFor(limits, { default: { nodes: ['redis://[::1'] } })
  t.match(badCluster[0], { pointer: '/redis/default/nodes/0', message: /not a valid redis URL/ })

  const secret = await issuesFor(limits, { default: { url: 'redis://app:s3cret@127.0.0.1:99999' } })
  t.notMatch(JSON.stringify(secret), /s3cret/, 'a password in the URL never appears in the message')
})

t.test('a connection needs exactly one topology; Sentinel needs the master name', async (t) => {
  const limits = { limits: { minute: 1 }, redis: 'default' }
  t.match(await issuesFor(limits, { default: {} }), [
    { pointer: '/redis/default', message: /set one of `url`/ },
  ])
  t.match(
    await issuesFor(limits, {
      default: { url: 'redis://127.0.0.1:6379', nodes: ['redis://127.0.0.1:7000'] },
    }),
    [{ pointer: '/redis/default', message: /only one of/ }],
  )
  t.match(await issuesFor(limits, { default: { sentinels: ['redis://127.0.0.1:26379'] } }), [
    { pointer: '/redis/default/name', message: /required with `sentinels`/ },
  ])
  t.match(await issuesFor(limits, { 'bad name!': { url: 'redis://127.0.0.1:6379' } }), [
    { pointer: '/redis', message: /unknown property "bad name!"/ },
  ])
})

t.test('redis naming a connection the config does not have is refused, naming the field', async (t) => {
  t.match(await issuesFor({ limits: { minute: 1 }, redis: 'shared' }), [
    {
      pointer: `${BASE}/redis`,
      plugin: 'rate-limit',
      message:
        'no Redis connection named "shared" in the top-level `redis` section (the config has no `redis` section)',
    },
  ])
  t.match(
    await issuesFor(
      { limits: { minute: 1 }, redis: 'shared' },
      { default: { url: 'redis://127.0.0.1:6379' } },
    ),
    [
      {
        pointer: `${BASE}/redis`,
        plugin: 'rate-limit',
        message: /no Redis connection named "shared" .*\(known: default\)/,
      },
    ],
  )
  t.match(await issuesFor({ limits: { minute: 1 }, store: { type: 'redis' } }), [
    { pointer: `${BASE}/store`, plugin: 'rate-limit' },
  ])
})

t.test('limitBy header needs the header name', async (t) => {
  t.match(await issuesFor({ limits: { minute: 1 }, limitBy: ['header'] }), [
    { pointer: `${BASE}/header`, plugin: 'rate-limit', message: /required when limitBy includes "header"/ },
  ])
  t.match(await issuesFor({ limits: { minute: 1 }, limitBy: ['header'], header: 'bad header' }), [
    { pointer: `${BASE}/header` },
  ])
})

t.test('a negative command timeout is refused, by pointer', async (t) => {
  t.match(
    await issuesFor(
      { limits: { minute: 1 }, redis: 'default' },
      { default: { url: 'redis://127.0.0.1:6379', commandTimeout: -1 } },
    ),
    [{ pointer: '/redis/default/commandTimeout' }],
  )
})
