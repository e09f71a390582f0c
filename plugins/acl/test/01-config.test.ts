import { createGateway, type GatewayConfig } from '@gatehousejs/core'
import { configIssues } from '@gatehousejs/sdk/testing'
import t from 'tap'
import acl from '../src/index.js'

function configWith(config: Record<string, unknown>): GatewayConfig {
  return {
    services: [
      {
        name: 'echo',
        url: 'http://127.0.0.1:9',
        routes: [{ name: 'echo', paths: ['/'], plugins: [{ name: 'acl', config }] }],
      },
    ],
  }
}

function issuesFor(config: Record<string, unknown>) {
  return configIssues({ plugins: [acl], config: configWith(config) })
}

const BASE = '/services/0/routes/0/plugins/0/config'

t.test('allow or deny gets the defaults', async (t) => {
  const gw = await createGateway(configWith({ allow: ['admins'] }), { plugins: [acl], logger: false })
  t.teardown(() => gw.close())
  t.same(gw.config.services?.[0]?.routes?.[0]?.plugins?.[0]?.config, {
    allow: ['admins'],
    hideGroupsHeader: false,
  })
})

t.test('exactly one of allow and deny', async (t) => {
  t.same(await issuesFor({ allow: ['a'], deny: ['b'] }), [
    {
      pointer: BASE,
      plugin: 'acl',
      message: 'give "allow" or "deny", not both (use two acl instances on different scopes to combine them)',
    },
  ])
  t.same(await issuesFor({}), [
    { pointer: BASE, plugin: 'acl', message: 'give "allow" or "deny" (a list of consumer groups)' },
  ])
})

t.test('bad lists are named by pointer', async (t) => {
  t.match(await issuesFor({ allow: [] }), [{ pointer: `${BASE}/allow`, plugin: 'acl' }])
  t.match(await issuesFor({ deny: [''] }), [{ pointer: `${BASE}/deny/0`, plugin: 'acl' }])
  t.match(await issuesFor({ allow: ['a', 'a'] }), [{ pointer: `${BASE}/allow`, plugin: 'acl' }])
  t.match(await issuesFor({ allow: ['a'], whitelist: ['b'] }), [{ pointer: BASE, message: /whitelist/ }])
})
