import { createGateway, type GatewayConfig } from '@gatehousejs/core'
import { configIssues } from '@gatehousejs/sdk/testing'
import t from 'tap'
import cache, { DEFAULT_STATUSES } from '../src/index.js'

// Schema first: what an operator sees when the config is wrong, and what `init` gets when it is right.

function configWith(config: Record<string, unknown>): GatewayConfig {
  return {
    services: [
      {
        name: 'api',
        url: 'http://127.0.0.1:9',
        routes: [{ name: 'api', paths: ['/'], plugins: [{ name: 'cache', config }] }],
      },
    ],
  }
}

function issuesFor(config: Record<string, unknown>) {
  return configIssues({ plugins: [cache], config: configWith(config) })
}

const BASE = '/services/0/routes/0/plugins/0/config'

t.test('an empty config is valid and gets safe defaults', async (t) => {
  const gw = await createGateway(configWith({}), { plugins: [cache], logger: false })
  t.teardown(() => gw.close())
  const c = gw.config.services?.[0]?.routes?.[0]?.plugins?.[0]?.config as Record<string, unknown>
  t.match(c, {
    store: { maxSize: 64 * 1024 * 1024 },
    methods: ['GET', 'HEAD'],
    statuses: DEFAULT_STATUSES,
    contentTypes: [],
    maxBodySize: 1024 * 1024,
    defaultTtl: 0,
    consumerIsolation: true,
    requestCacheControl: true,
    storeSetCookie: false,
    coalesce: true,
    coalesceTimeout: 5000,
    tagHeader: 'cache-tag',
    statusHeaders: true,
    purge: { enabled: false, method: 'PURGE', groups: [] },
  })
})

t.test('durations and sizes are normalised', async (t) => {
  const gw = await createGateway(
    configWith({ defaultTtl: '1m', maxBodySize: '64kb', store: { maxSize: '1mb' } }),
    {
      plugins: [cache],
      logger: false,
    },
  )
  t.teardown(() => gw.close())
  const c = gw.config.services?.[0]?.routes?.[0]?.plugins?.[0]?.config as Record<string, any>
  t.equal(c.defaultTtl, 60_000)
  t.equal(c.maxBodySize, 65_536)
  t.equal(c.store.maxSize, 1_048_576)
})

t.test('redis naming no connection of the top-level section is refused, naming the field', async (t) => {
  const issues = await issuesFor({ redis: 'shared' })
  t.match(issues, [
    { pointer: `${BASE}/redis`, plugin: 'cache', message: /^no Redis connection named "shared"/ },
  ])
})

t.test('the old per-plugin store form is refused by pointer', async (t) => {
  const issues = await issuesFor({ store: { type: 'redis', url: 'redis://127.0.0.1:6379' } })
  t.match(issues, [{ pointer: `${BASE}/store`, plugin: 'cache' }])
})

t.test('an unknown field is named by pointer', async (t) => {
  const issues = await issuesFor({ ttl: 30 })
  t.match(issues, [{ pointer: BASE, plugin: 'cache', message: 'unknown property "ttl"' }])
})

t.test('only GET and HEAD can be cached', async (t) => {
  const issues = await issuesFor({ methods: ['GET', 'POST'] })
  t.match(issues, [{ pointer: `${BASE}/methods/1`, plugin: 'cache' }])
})

t.test('a status outside 200–599 is refused', async (t) => {
  const issues = await issuesFor({ statuses: [200, 100] })
  t.match(issues, [{ pointer: `${BASE}/statuses/1`, plugin: 'cache' }])
})

t.test('a bad duration is refused with its format', async (t) => {
  const issues = await issuesFor({ defaultTtl: 'soon' })
  t.match(issues, [{ pointer: `${BASE}/defaultTtl`, message: /must be a duration/ }])
})

t.test('a content type that is not type/subtype is refused', async (t) => {
  const issues = await issuesFor({ contentTypes: ['json'] })
  t.match(issues, [{ pointer: `${BASE}/contentTypes/0`, plugin: 'cache' }])
})

t.test('HTTP purge without a token or groups is refused, naming the field', async (t) => {
  const issues = await issuesFor({ purge: { enabled: true } })
  t.match(issues, [
    { pointer: `${BASE}/purge`, plugin: 'cache', message: /"enabled" needs "token" or "groups"/ },
  ])
})

t.test('a purge token shorter than 16 characters is refused', async (t) => {
  const issues = await issuesFor({ purge: { enabled: true, token: 'short' } })
  t.match(issues, [{ pointer: `${BASE}/purge/token`, plugin: 'cache' }])
})
