import { createGateway, type GatewayConfig } from '@gatehousejs/core'
import { configIssues } from '@gatehousejs/sdk/testing'
import t from 'tap'
import prometheus from '../src/index.js'

// What an operator sees when the config is wrong, and the defaults when it is right.

function configWith(config: Record<string, unknown>): GatewayConfig {
  return {
    services: [{ name: 'api', url: 'http://127.0.0.1:9', routes: [{ name: 'api', paths: ['/'] }] }],
    plugins: [{ name: 'prometheus', config }],
  }
}

function issuesFor(config: Record<string, unknown>) {
  return configIssues({ plugins: [prometheus], config: configWith(config) })
}

t.test('an empty config is valid and gets every default', async (t) => {
  const gw = await createGateway(configWith({}), { plugins: [prometheus], logger: false })
  t.teardown(() => gw.close())
  t.match(gw.config.plugins?.[0]?.config, {
    prefix: 'gatehouse',
    perConsumer: false,
    latency: true,
    bandwidth: true,
    workers: 'aggregate',
    endpoint: { path: '/metrics', allow: [] },
  })
})

t.test('a metric prefix that is not a Prometheus name is refused', async (t) => {
  const issues = await issuesFor({ prefix: 'my-gateway' })
  t.match(issues, [{ pointer: '/plugins/0/config/prefix', plugin: 'prometheus', message: /pattern/ }])
})

t.test('an allow entry that is not an address or CIDR is named by index', async (t) => {
  const issues = await issuesFor({
    endpoint: { allow: ['10.0.0.0/8', '10.0.0.0/33', 'localhost', '::1/129'] },
  })
  t.same(
    issues.map((i) => i.pointer),
    [
      '/plugins/0/config/endpoint/allow/1',
      '/plugins/0/config/endpoint/allow/2',
      '/plugins/0/config/endpoint/allow/3',
    ],
  )
  t.match(issues[0], { plugin: 'prometheus', message: /"10\.0\.0\.0\/33" is not an IP address or CIDR/ })
})

t.test('a short token, an unknown workers mode and bad buckets are refused', async (t) => {
  t.match(await issuesFor({ endpoint: { token: 'short' } }), [
    { pointer: '/plugins/0/config/endpoint/token', message: /fewer than 16/ },
  ])
  t.match(await issuesFor({ workers: 'each' }), [{ pointer: '/plugins/0/config/workers' }])
  t.match(await issuesFor({ buckets: [0.1, 0] }), [{ pointer: '/plugins/0/config/buckets/1' }])
})

t.test('an endpoint path must be absolute, or null', async (t) => {
  t.match(await issuesFor({ endpoint: { path: 'metrics' } }), [
    { pointer: '/plugins/0/config/endpoint/path' },
  ])
  const gw = await createGateway(configWith({ endpoint: { path: null } }), {
    plugins: [prometheus],
    logger: false,
  })
  await gw.close()
})
