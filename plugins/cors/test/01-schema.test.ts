import { ConfigError, createGateway, type GatewayConfig } from '@gatehousejs/core'
import t from 'tap'
import cors, { DEFAULT_METHODS } from '../src/index.js'

// Schema and load-time checks: what an operator sees when the config is wrong.

function routeScoped(config: Record<string, unknown>): GatewayConfig {
  return {
    services: [
      {
        name: 'api',
        url: 'http://127.0.0.1:9',
        routes: [{ name: 'api', paths: ['/'], plugins: [{ name: 'cors', config }] }],
      },
    ],
  }
}

async function issuesFor(config: GatewayConfig) {
  const err = await createGateway(config, { plugins: [cors], logger: false }).then(
    async (gw) => {
      await gw.close()
      return undefined
    },
    (e: unknown) => e,
  )
  if (!(err instanceof ConfigError)) throw new Error(`expected a ConfigError, got ${String(err)}`)
  return err.issues
}

const BASE = '/services/0/routes/0/plugins/0/config'

t.test('an empty config is valid and gets every default', async (t) => {
  const gw = await createGateway(routeScoped({}), { plugins: [cors], logger: false })
  t.teardown(() => gw.close())
  t.same(gw.config.services?.[0]?.routes?.[0]?.plugins?.[0]?.config, {
    origins: [],
    methods: DEFAULT_METHODS,
    exposedHeaders: [],
    credentials: false,
    preflightContinue: false,
    preflightStatus: 200,
    privateNetwork: false,
    preflightBeforeRouting: false,
  })
})

t.test('an origin that is not an origin is named by pointer', async (t) => {
  const issues = await issuesFor(
    routeScoped({ origins: ['https://ok.example.com', 'example.com', 'https://a.example.com/path'] }),
  )
  t.match(issues, [
    { pointer: `${BASE}/origins/1`, plugin: 'cors', message: /"example.com" is not an origin/ },
    { pointer: `${BASE}/origins/2`, plugin: 'cors', message: /is not an origin/ },
  ])
})

t.test('an invalid regular expression is named by pointer', async (t) => {
  const issues = await issuesFor(routeScoped({ origins: ['^https://(app|admin\\.example\\.com$'] }))
  t.match(issues, [
    { pointer: `${BASE}/origins/0`, plugin: 'cors', message: /not a valid regular expression/ },
  ])
})

t.test('methods must be upper-case tokens; header names must be tokens', async (t) => {
  const issues = await issuesFor(routeScoped({ methods: ['get'], exposedHeaders: ['x ok'], maxAge: -1 }))
  t.ok(issues.some((i) => i.pointer === `${BASE}/methods/0`))
  t.ok(issues.some((i) => i.pointer === `${BASE}/exposedHeaders/0`))
  t.ok(issues.some((i) => i.pointer === `${BASE}/maxAge`))
})

t.test('preflightStatus is 200 or 204', async (t) => {
  const issues = await issuesFor(routeScoped({ preflightStatus: 302 }))
  t.ok(issues.some((i) => i.pointer.startsWith(`${BASE}/preflightStatus`)))
})

t.test('preflightBeforeRouting is refused on a route-scoped instance, naming the field', async (t) => {
  const issues = await issuesFor(routeScoped({ preflightBeforeRouting: true }))
  t.match(issues, [
    { pointer: `${BASE}/preflightBeforeRouting`, plugin: 'cors', message: /global instances only/ },
  ])
})

t.test('preflightBeforeRouting cannot be combined with preflightContinue', async (t) => {
  const issues = await issuesFor({
    plugins: [{ name: 'cors', config: { preflightBeforeRouting: true, preflightContinue: true } }],
  })
  t.match(issues, [{ pointer: '/plugins/0/config/preflightBeforeRouting', message: /preflightContinue/ }])
})

t.test('unknown fields are refused', async (t) => {
  const issues = await issuesFor(routeScoped({ origin: ['https://a.example.com'] }))
  t.match(issues, [{ pointer: BASE, message: 'unknown property "origin"' }])
})
