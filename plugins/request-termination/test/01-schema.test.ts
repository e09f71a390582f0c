import { createGateway, type GatewayConfig } from '@gatehousejs/core'
import { configIssues } from '@gatehousejs/sdk/testing'
import t from 'tap'
import requestTermination from '../src/index.js'

function configWith(config: Record<string, unknown>): GatewayConfig {
  return {
    services: [
      {
        name: 'api',
        url: 'http://127.0.0.1:9',
        routes: [{ name: 'api', paths: ['/'], plugins: [{ name: 'request-termination', config }] }],
      },
    ],
  }
}

function issuesFor(config: Record<string, unknown>) {
  return configIssues({ plugins: [requestTermination], config: configWith(config) })
}

const BASE = '/services/0/routes/0/plugins/0/config'

t.test('defaults: 503, JSON content type, no echo', async (t) => {
  const gw = await createGateway(configWith({}), { plugins: [requestTermination], logger: false })
  t.teardown(() => gw.close())
  t.same(gw.config.services?.[0]?.routes?.[0]?.plugins?.[0]?.config, {
    statusCode: 503,
    contentType: 'application/json; charset=utf-8',
    headers: {},
    echo: false,
  })
})

t.test('message and body are exclusive; so are echo and body', async (t) => {
  t.match(await issuesFor({ message: 'a', body: 'b' }), [
    { pointer: `${BASE}/body`, plugin: 'request-termination', message: /message/ },
  ])
  t.match(await issuesFor({ echo: true, body: 'b' }), [{ pointer: `${BASE}/body`, message: /echo/ }])
})

t.test('bad status, header value with CR/LF and trigger are named by pointer', async (t) => {
  const issues = await issuesFor({
    statusCode: 99,
    headers: { 'retry-after': '1\r\nx-evil: 1' },
    trigger: 'a b',
  })
  t.ok(issues.some((i) => i.pointer === `${BASE}/statusCode`))
  t.ok(issues.some((i) => i.pointer === `${BASE}/headers/retry-after`))
  t.ok(issues.some((i) => i.pointer === `${BASE}/trigger`))
})
