import { createGateway, type GatewayConfig } from '@gatehousejs/core'
import { configIssues } from '@gatehousejs/sdk/testing'
import t from 'tap'
import template from '../src/index.js'

// Schema first: what an operator sees when the config is wrong, and what `init` gets when it is right.

function configWith(config: Record<string, unknown>): GatewayConfig {
  return {
    services: [
      {
        name: 'echo',
        url: 'http://127.0.0.1:9',
        routes: [{ name: 'echo', paths: ['/'], plugins: [{ name: 'template', config }] }],
      },
    ],
  }
}

function issuesFor(config: Record<string, unknown>) {
  return configIssues({ plugins: [template], config: configWith(config) })
}

const BASE = '/services/0/routes/0/plugins/0/config'

t.test('an empty config is valid and gets every default', async (t) => {
  const gw = await createGateway(configWith({}), { plugins: [template], logger: false })
  t.teardown(() => gw.close())
  const instance = gw.config.services?.[0]?.routes?.[0]?.plugins?.[0]
  t.same(instance?.config, { upstreamHeaders: {}, responseHeaders: {}, requiredHeaders: [] })
})

t.test('required header names are normalised to lower case', async (t) => {
  const gw = await createGateway(configWith({ requiredHeaders: ['X-Tenant'] }), {
    plugins: [template],
    logger: false,
  })
  t.teardown(() => gw.close())
  t.same(gw.config.services?.[0]?.routes?.[0]?.plugins?.[0]?.config?.requiredHeaders, ['x-tenant'])
})

t.test('an unknown field is named by pointer', async (t) => {
  const issues = await issuesFor({ requiredHeader: ['x-tenant'] })
  t.match(issues, [{ pointer: BASE, plugin: 'template', message: 'unknown property "requiredHeader"' }])
})

t.test('a header value with CR/LF is refused at load (no header injection)', async (t) => {
  const issues = await issuesFor({ upstreamHeaders: { 'x-ok': 'fine', 'x-evil': 'a\r\nx-admin: 1' } })
  t.equal(issues.length, 1)
  t.match(issues[0], {
    pointer: `${BASE}/upstreamHeaders/x-evil`,
    plugin: 'template',
    message: /control characters/,
  })
})

t.test('a header value that is not a string is named by pointer', async (t) => {
  const issues = await issuesFor({ responseHeaders: { 'x-count': 3 } })
  t.match(issues, [{ pointer: `${BASE}/responseHeaders/x-count`, message: 'must be string' }])
})

t.test('a header name that is not a token is refused, and the message quotes it', async (t) => {
  const issues = await issuesFor({ responseHeaders: { 'bad name': 'v' }, requiredHeaders: ['x ok'] })
  t.ok(
    issues.some((i) => i.pointer === `${BASE}/responseHeaders` && i.message.includes('"bad name"')),
    'the map key is quoted',
  )
  t.ok(
    issues.some((i) => i.pointer === `${BASE}/requiredHeaders/0` && i.message.includes('"x ok"')),
    'the list item is named by index',
  )
})

t.test('a required header listed twice (in any case) is refused', async (t) => {
  const issues = await issuesFor({ requiredHeaders: ['X-Tenant', 'x-tenant'] })
  t.match(issues, [{ pointer: `${BASE}/requiredHeaders`, message: /duplicate/ }])
})
