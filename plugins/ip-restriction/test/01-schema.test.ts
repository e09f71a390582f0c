import { createGateway, type GatewayConfig } from '@gatehousejs/core'
import { configIssues } from '@gatehousejs/sdk/testing'
import t from 'tap'
import ipRestriction from '../src/index.js'

// Bad addresses and ranges are refused at load, each named by its pointer.

function configWith(config: Record<string, unknown>): GatewayConfig {
  return {
    services: [
      {
        name: 'api',
        url: 'http://127.0.0.1:9',
        routes: [{ name: 'api', paths: ['/'], plugins: [{ name: 'ip-restriction', config }] }],
      },
    ],
  }
}

function issuesFor(config: Record<string, unknown>) {
  return configIssues({ plugins: [ipRestriction], config: configWith(config) })
}

const BASE = '/services/0/routes/0/plugins/0/config'

t.test('a valid config gets its defaults', async (t) => {
  const gw = await createGateway(
    configWith({ allow: ['10.0.0.0/8', '2001:db8::/32', '::ffff:192.0.2.0/120'] }),
    {
      plugins: [ipRestriction],
      logger: false,
    },
  )
  t.teardown(() => gw.close())
  t.same(gw.config.services?.[0]?.routes?.[0]?.plugins?.[0]?.config, {
    allow: ['10.0.0.0/8', '2001:db8::/32', '::ffff:192.0.2.0/120'],
    deny: [],
    status: 403,
    message: 'Your IP address is not allowed',
  })
})

t.test('each bad address or range is named by its pointer', async (t) => {
  const issues = await issuesFor({
    allow: ['10.0.0.0/8', '10.0.0.0/33', 'not-an-ip', '2001:db8::/129'],
    deny: ['192.0.2.1/x', '::ffff:10.0.0.0/90', '300.1.1.1'],
  })
  t.match(issues, [
    {
      pointer: `${BASE}/allow/1`,
      plugin: 'ip-restriction',
      message: /"10.0.0.0\/33" has an invalid prefix length \(0 to 32 for IPv4\)/,
    },
    { pointer: `${BASE}/allow/2`, message: /"not-an-ip" is not an IPv4 or IPv6 address/ },
    { pointer: `${BASE}/allow/3`, message: /0 to 128 for IPv6/ },
    { pointer: `${BASE}/deny/0`, message: /invalid prefix length/ },
    { pointer: `${BASE}/deny/1`, message: /IPv4-mapped range wider/ },
    { pointer: `${BASE}/deny/2`, message: /not an IPv4 or IPv6 address/ },
  ])
  t.equal(issues.length, 6)
})

t.test('a config that lists nothing is refused', async (t) => {
  const issues = await issuesFor({})
  t.match(issues, [
    { pointer: BASE, plugin: 'ip-restriction', message: /at least one of "allow" and "deny"/ },
  ])
})

t.test('the status must be an error status', async (t) => {
  const issues = await issuesFor({ allow: ['::1'], status: 200 })
  t.match(issues, [{ pointer: `${BASE}/status` }])
})
