import { setTimeout as sleep } from 'node:timers/promises'
import { createGateway } from '@gatehousejs/core'
import {
  ConfigError,
  type ConfigIssue,
  Duration,
  definePlugin,
  HeaderName,
  Size,
  Type,
} from '@gatehousejs/sdk'
import type { GatewayConfig } from '@gatehousejs/sdk/config'
import { startGateway, startUpstream } from '@gatehousejs/sdk/testing'
import t from 'tap'

/**
 * Configuration: every problem is a ConfigError issue with a JSON pointer (and the plugin, when it is
 * a plugin's); durations, sizes and header names are normalised; defaults are filled in; the caller's
 * object is never mutated.
 */

const received: Array<Record<string, unknown>> = []
const limiter = definePlugin({
  name: 'limiter',
  version: '1.0.0',
  priority: 100,
  schema: Type.Object(
    {
      window: Duration({ default: '1m', description: 'window length' }),
      max: Type.Integer({ minimum: 1, default: 10 }),
      burst: Size({ default: '1kb' }),
      header: HeaderName({ default: 'X-Limit' }),
      mode: Type.Union([Type.Literal('local'), Type.Literal('redis')], { default: 'local' }),
    },
    { additionalProperties: false },
  ),
  init(config) {
    received.push(config)
    return {}
  },
})
const plugins = [limiter]
const UPSTREAM = 'http://127.0.0.1:9'

/** The assertions `rejection` uses (tap's Test has them). */
interface Asserts {
  ok(value: unknown, message: string): unknown
  equal(found: unknown, wanted: unknown, message: string): unknown
  fail(message: string): unknown
}

/** The ConfigError a config is rejected with (fails the test if it is accepted). */
async function rejection(t: Asserts, config: GatewayConfig, file?: string): Promise<ConfigError> {
  try {
    const gw = await createGateway(config, { plugins, logger: false, file })
    await gw.close()
  } catch (err) {
    t.ok(err instanceof ConfigError, 'a ConfigError')
    t.equal((err as ConfigError).code, 'GH_CONFIG_INVALID', 'with code GH_CONFIG_INVALID')
    return err as ConfigError
  }
  t.fail('the configuration was accepted')
  return new ConfigError([])
}

function pointers(issues: ConfigIssue[]): string[] {
  return issues.map((i) => i.pointer).sort()
}

t.test('an unknown property is named with its pointer', async (t) => {
  const err = await rejection(t, {
    services: [{ name: 's', url: UPSTREAM, routes: [{ paths: ['/'], pathz: ['/x'] } as never] }],
    colour: 'red',
  } as GatewayConfig)
  t.match(err.issues, [
    { pointer: '', message: 'unknown property "colour"' },
    { pointer: '/services/0/routes/0', message: 'unknown property "pathz"' },
  ])
  t.equal(err.issues.length, 2, 'every problem at once')
  t.match(err.message, /unknown property "pathz"/)
})

t.test('a bad service URL is an issue at its url', async (t) => {
  for (const url of [
    'not a url',
    'ftp://host/x',
    'http://user:pw@host',
    'http://host/?q=1',
    'http://host/#x',
  ]) {
    const err = await rejection(t, { services: [{ name: 's', url }] })
    t.match(err.issues, [{ pointer: '/services/0/url', message: /is not an http\(s\) URL/ }], url)
  }
})

t.test('duplicate names are issues at the second occurrence', async (t) => {
  const err = await rejection(t, {
    services: [
      {
        name: 'users',
        url: UPSTREAM,
        routes: [
          { name: 'r', paths: ['/a'] },
          { name: 'r', paths: ['/b'] },
        ],
      },
      { name: 'users', url: UPSTREAM },
    ],
    consumers: [{ username: 'alice' }, { id: 'alice' }],
    plugins: [
      { name: 'limiter', id: 'lim', service: 'users' },
      { name: 'limiter', id: 'lim' },
    ],
  })
  t.match(err.issues, [
    { pointer: '/services/0/routes/1/name', message: 'duplicate route name "r"' },
    { pointer: '/services/1/name', message: 'duplicate service name "users"' },
    { pointer: '/consumers/1', message: /duplicate consumer id or username "alice"/ },
    { pointer: '/plugins/1/id', plugin: 'limiter', message: 'duplicate instance id "lim"' },
  ])
})

t.test('an unknown plugin is named with the registered ones', async (t) => {
  const err = await rejection(t, {
    services: [{ name: 's', url: UPSTREAM, routes: [{ paths: ['/'], plugins: [{ name: 'rate-limitt' }] }] }],
  })
  t.same(err.issues, [
    {
      pointer: '/services/0/routes/0/plugins/0/name',
      plugin: 'rate-limitt',
      message: 'unknown plugin "rate-limitt"; registered plugins: limiter',
    },
  ])
  t.match(err.message, '/services/0/routes/0/plugins/0/name (plugin "rate-limitt")')
})

t.test('plugin config schema violations point into the plugin config', async (t) => {
  const err = await rejection(t, {
    services: [
      {
        name: 's',
        url: UPSTREAM,
        routes: [{ paths: ['/'], plugins: [{ name: 'limiter', config: { mode: 'cluster' } }] }],
      },
    ],
    plugins: [{ name: 'limiter', config: { max: 0, window: '5 parsecs', burst: -1, extra: true } }],
  })
  t.same(pointers(err.issues), [
    '/plugins/0/config',
    '/plugins/0/config/burst',
    '/plugins/0/config/max',
    '/plugins/0/config/window',
    '/services/0/routes/0/plugins/0/config/mode',
  ])
  for (const issue of err.issues) t.equal(issue.plugin, 'limiter', `${issue.pointer} names the plugin`)
  const by = (p: string) => err.issues.find((i) => i.pointer === p)?.message
  t.equal(by('/plugins/0/config'), 'unknown property "extra"')
  t.match(by('/plugins/0/config/window'), /must be a duration/)
  t.match(by('/plugins/0/config/burst'), /must be a size/)
  t.match(by('/plugins/0/config/max'), />= 1/)
  t.equal(by('/services/0/routes/0/plugins/0/config/mode'), 'must be one of "local", "redis"')
  t.match(err.message, '/plugins/0/config/window (plugin "limiter"): must be a duration')
})

t.test('bad durations and sizes in the gateway config', async (t) => {
  const err = await rejection(t, {
    timeouts: { read: '5 parsecs' },
    limits: { requestBody: '10 elephants' },
    services: [{ name: 's', url: UPSTREAM, timeouts: { connect: -5 } }],
  })
  t.same(pointers(err.issues), ['/limits/requestBody', '/services/0/timeouts/connect', '/timeouts/read'])
  t.match(err.issues.find((i) => i.pointer === '/timeouts/read')?.message, /must be a duration.*"5s"/)
  t.match(err.issues.find((i) => i.pointer === '/limits/requestBody')?.message, /must be a size/)
})

t.test('a rewrite using a parameter the paths do not capture', async (t) => {
  const err = await rejection(t, {
    services: [
      {
        name: 's',
        url: UPSTREAM,
        routes: [
          { paths: ['/items/:id'], rewrite: '/v2/items/:itemId' },
          { paths: ['/a/:id', '/b/:other'], rewrite: '/x/:id' },
          { paths: ['/ok/:id'], rewrite: '/fine/:id' },
        ],
      },
    ],
  })
  t.same(err.issues, [
    {
      pointer: '/services/0/routes/0/rewrite',
      message: '":itemId" is not a parameter of every path of this route',
    },
    {
      pointer: '/services/0/routes/1/rewrite',
      message: '":id" is not a parameter of every path of this route',
    },
  ])
})

t.test('a plugin bound to a missing route, service or consumer', async (t) => {
  const err = await rejection(t, {
    services: [{ name: 'users', url: UPSTREAM, routes: [{ name: 'list', paths: ['/users'] }] }],
    consumers: [{ username: 'alice' }],
    plugins: [
      { name: 'limiter', route: 'lists' },
      { name: 'limiter', service: 'user' },
      { name: 'limiter', consumer: 'bob' },
      { name: 'limiter', route: 'list', service: 'other' },
    ],
  })
  t.same(err.issues, [
    { pointer: '/plugins/0/route', plugin: 'limiter', message: 'no route named "lists"' },
    { pointer: '/plugins/1/service', plugin: 'limiter', message: 'no service named "user"' },
    { pointer: '/plugins/2/consumer', plugin: 'limiter', message: 'no consumer with id or username "bob"' },
    {
      pointer: '/plugins/3/service',
      plugin: 'limiter',
      message: 'route "list" is not a route of service "other"',
    },
  ])
})

t.test('issues name the file the config came from', async (t) => {
  const err = await rejection(t, { services: [{ name: 's', url: 'nope' }] }, 'gatehouse.yaml')
  t.match(err.issues, [{ pointer: '/services/0/url', file: 'gatehouse.yaml' }])
  t.match(err.message, 'gatehouse.yaml#/services/0/url')
})

t.test('durations, sizes and header names are normalised; defaults are filled in', async (t) => {
  received.length = 0
  const input: GatewayConfig = {
    timeouts: { connect: '2s', read: '1.5m' },
    limits: { requestBody: '64kb', responseBody: 2048 },
    requestId: {},
    services: [
      {
        name: 's',
        url: UPSTREAM,
        timeouts: { read: '250ms' },
        routes: [{ name: 'r', paths: ['/'] }],
      },
    ],
    plugins: [
      { name: 'limiter' },
      { name: 'limiter', route: 'r', config: { window: '250ms', burst: '2mb', header: 'X-Custom', max: 3 } },
      { name: 'limiter', service: 's', config: { window: 1500, burst: 10 } },
    ],
  }
  const gw = await createGateway(input, { plugins, logger: false })
  t.teardown(() => gw.close())
  t.same(received, [
    { window: 60_000, max: 10, burst: 1024, header: 'x-limit', mode: 'local' },
    { window: 250, max: 3, burst: 2 * 1024 * 1024, header: 'x-custom', mode: 'local' },
    { window: 1500, max: 10, burst: 10, header: 'x-limit', mode: 'local' },
  ])
  const c = gw.config
  t.same(c.timeouts, { connect: 2000, read: 90_000 })
  t.same(c.limits, { requestBody: 64 * 1024, responseBody: 2048 })
  t.same(c.requestId, { header: 'x-request-id', trustIncoming: false, responseHeader: true })
  t.same(c.services?.[0]?.timeouts, { read: 250 })
  t.match(c.services?.[0]?.routes?.[0], { stripPath: true, preserveHost: false })
  t.equal(c.plugins?.[0]?.enabled, true)
})

t.test('normalised timeouts are the ones used: a 300ms read timeout gives 504', async (t) => {
  const upstream = await startUpstream({
    t,
    async handler(_req, res) {
      await sleep(1_500)
      res.end('late')
    },
  })
  const gw = await startGateway({
    t,
    config: {
      services: [{ name: 's', url: upstream.url, timeouts: { read: '300ms' }, routes: [{ paths: ['/'] }] }],
    },
  })
  const res = await gw.request({ path: '/' })
  t.equal(res.status, 504)
  t.equal(res.json().code, 'GH_UPSTREAM_TIMEOUT')
})

t.test('the caller’s config object is not mutated, by load or by reload', async (t) => {
  const input: GatewayConfig = {
    timeouts: { connect: '2s' },
    services: [{ name: 's', url: UPSTREAM, routes: [{ name: 'r', paths: ['/'] }] }],
    plugins: [{ name: 'limiter', config: { window: '5s' } }],
  }
  const snapshot = structuredClone(input)
  const gw = await createGateway(input, { plugins, logger: false })
  t.teardown(() => gw.close())
  t.same(input, snapshot, 'unchanged by createGateway')
  t.not(gw.config, input)
  await gw.reload(input)
  t.same(input, snapshot, 'unchanged by reload')
  t.equal(input.plugins?.[0]?.config?.window, '5s')
  t.equal(gw.config.plugins?.[0]?.config?.window, 5000)
})
