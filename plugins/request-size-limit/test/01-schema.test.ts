import { ConfigError, createGateway, type GatewayConfig } from '@gatehousejs/core'
import t from 'tap'
import requestSizeLimit from '../src/index.js'

function configWith(config: Record<string, unknown>): GatewayConfig {
  return {
    services: [
      {
        name: 'api',
        url: 'http://127.0.0.1:9',
        routes: [{ name: 'api', paths: ['/'], plugins: [{ name: 'request-size-limit', config }] }],
      },
    ],
  }
}

const BASE = '/services/0/routes/0/plugins/0/config'

t.test('defaults: 128 MiB, Content-Length not required', async (t) => {
  const gw = await createGateway(configWith({}), { plugins: [requestSizeLimit], logger: false })
  t.teardown(() => gw.close())
  t.same(gw.config.services?.[0]?.routes?.[0]?.plugins?.[0]?.config, {
    allowedPayloadSize: 128 * 1024 * 1024,
    requireContentLength: false,
  })
})

t.test('sizes take units', async (t) => {
  const gw = await createGateway(configWith({ allowedPayloadSize: '64kb' }), {
    plugins: [requestSizeLimit],
    logger: false,
  })
  t.teardown(() => gw.close())
  t.equal(gw.config.services?.[0]?.routes?.[0]?.plugins?.[0]?.config?.allowedPayloadSize, 65536)
})

t.test('a bad size or flag is named by pointer', async (t) => {
  const err = await createGateway(
    configWith({ allowedPayloadSize: '10 parsecs', requireContentLength: 'yes' }),
    {
      plugins: [requestSizeLimit],
      logger: false,
    },
  ).catch((e: unknown) => e)
  t.ok(err instanceof ConfigError)
  const issues = (err as ConfigError).issues
  t.ok(issues.some((i) => i.pointer === `${BASE}/allowedPayloadSize` && i.plugin === 'request-size-limit'))
  t.ok(issues.some((i) => i.pointer === `${BASE}/requireContentLength`))
})
