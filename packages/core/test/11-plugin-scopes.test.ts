import { createGateway } from '@gatehousejs/core'
import { ConfigError, definePlugin, Type } from '@gatehousejs/sdk'
import type { GatewayConfig } from '@gatehousejs/sdk/config'
import { startGateway, startUpstream } from '@gatehousejs/sdk/testing'
import t from 'tap'

/**
 * Plugin scopes: global, service, route and consumer instances, the most specific winning for a
 * non-stacking plugin (consumer+route > consumer+service > consumer > route > service > global), every
 * instance running for a stacking one, consumer instances applying once auth has set the consumer.
 */

/** A tiny auth plugin: `x-consumer: <username>` identifies a configured consumer. */
const testAuth = definePlugin({
  name: 'test-auth',
  version: '1.0.0',
  priority: 60_000,
  init(_config, env) {
    return {
      access(ctx) {
        const name = ctx.request.headers['x-consumer']
        if (typeof name !== 'string') return
        const consumer = env.consumers.find((c) => c.username === name)
        if (!consumer) return ctx.respond(401, { code: 'GH_TEST_UNKNOWN_CONSUMER' })
        ctx.setConsumer(consumer, { id: name, plugin: 'test-auth' })
      },
    }
  },
})

/** Non-stacking: stamps its instance's value into an upstream header. */
const stamp = definePlugin({
  name: 'stamp',
  version: '1.0.0',
  priority: 1_000,
  schema: Type.Object({ value: Type.String() }, { additionalProperties: false }),
  init(config) {
    return {
      access(ctx) {
        ctx.upstream.headers['x-stamp'] = config.value
      },
    }
  },
})

/** Stacking: every applicable instance appends its tag. */
const tagger = definePlugin({
  name: 'tagger',
  version: '1.0.0',
  priority: 500,
  stacking: true,
  schema: Type.Object({ tag: Type.String() }, { additionalProperties: false }),
  init(config) {
    return {
      access(ctx) {
        const seen = ctx.upstream.headers['x-tags']
        ctx.upstream.headers['x-tags'] = seen ? `${seen},${config.tag}` : config.tag
      },
    }
  },
})

const plugins = [testAuth, stamp, tagger]

function scopedConfig(url: string): GatewayConfig {
  return {
    services: [
      {
        name: 'svc-a',
        url,
        plugins: [{ name: 'stamp', config: { value: 'service' } }],
        routes: [
          {
            name: 'r1',
            paths: ['/a/one'],
            plugins: [{ name: 'stamp', config: { value: 'route' } }],
          },
          { name: 'r2', paths: ['/a/two'] },
        ],
      },
      { name: 'svc-b', url, routes: [{ name: 'r3', paths: ['/b'] }] },
    ],
    consumers: [
      { username: 'alice', plugins: [{ name: 'stamp', config: { value: 'consumer' } }] },
      { id: 'bob-id', username: 'bob' },
      { username: 'carol' },
      { username: 'dave' },
    ],
    plugins: [
      { name: 'test-auth' },
      { name: 'stamp', config: { value: 'global' } },
      // by username: bound to the consumer's id
      { name: 'stamp', consumer: 'bob', service: 'svc-a', config: { value: 'consumer+service' } },
      { name: 'stamp', consumer: 'carol', config: { value: 'carol' } },
      { name: 'stamp', consumer: 'carol', service: 'svc-a', config: { value: 'carol+service' } },
      { name: 'stamp', consumer: 'carol', route: 'r1', config: { value: 'consumer+route' } },
    ],
  }
}

t.test('the most specific instance of a non-stacking plugin wins', async (t) => {
  const upstream = await startUpstream({ t })
  const gw = await startGateway({ t, plugins, config: scopedConfig(upstream.url) })
  const cases: Array<[consumer: string | undefined, path: string, expected: string]> = [
    [undefined, '/b', 'global'],
    [undefined, '/a/two', 'service'],
    [undefined, '/a/one', 'route'],
    ['dave', '/a/one', 'route'],
    ['alice', '/a/one', 'consumer'],
    ['alice', '/b', 'consumer'],
    ['bob', '/a/two', 'consumer+service'],
    ['bob', '/a/one', 'consumer+service'],
    ['bob', '/b', 'global'],
    ['carol', '/a/one', 'consumer+route'],
    ['carol', '/a/two', 'carol+service'],
    ['carol', '/b', 'carol'],
  ]
  for (const [consumer, path, expected] of cases) {
    const res = await gw.request({ path, headers: consumer ? { 'x-consumer': consumer } : {} })
    t.equal(res.status, 200, `${consumer ?? 'anonymous'} ${path}: 200`)
    t.equal(upstream.last()?.headers['x-stamp'], expected, `${consumer ?? 'anonymous'} ${path} → ${expected}`)
  }
  t.equal(upstream.requests.length, cases.length, 'every request reached the upstream once')
})

t.test('a stacking plugin runs every applicable instance, least specific first', async (t) => {
  const upstream = await startUpstream({ t })
  const gw = await startGateway({
    t,
    plugins,
    config: {
      services: [
        {
          name: 'svc',
          url: upstream.url,
          plugins: [{ name: 'tagger', config: { tag: 'service' } }],
          routes: [
            { name: 'r1', paths: ['/one'], plugins: [{ name: 'tagger', config: { tag: 'route' } }] },
            { name: 'r2', paths: ['/two'] },
          ],
        },
      ],
      consumers: [{ username: 'alice', plugins: [{ name: 'tagger', config: { tag: 'consumer' } }] }],
      plugins: [
        { name: 'test-auth' },
        { name: 'tagger', config: { tag: 'global' } },
        // two stacking instances may share a scope
        { name: 'tagger', config: { tag: 'global-2' } },
      ],
    },
  })
  await gw.request({ path: '/one' })
  t.equal(upstream.last()?.headers['x-tags'], 'global,global-2,service,route')
  await gw.request({ path: '/two' })
  t.equal(upstream.last()?.headers['x-tags'], 'global,global-2,service')
  await gw.request({ path: '/one', headers: { 'x-consumer': 'alice' } })
  t.equal(
    upstream.last()?.headers['x-tags'],
    'global,global-2,service,route,consumer',
    'the consumer instance joins after test-auth set the consumer',
  )
})

t.test('consumer instances apply only after setConsumer, not to handlers that ran before it', async (t) => {
  // A consumer-scoped instance of a plugin that runs *before* auth cannot apply to that request.
  const early = definePlugin({
    name: 'early',
    version: '1.0.0',
    priority: 70_000,
    schema: Type.Object({ value: Type.String() }),
    init: (config) => ({
      access(ctx) {
        ctx.upstream.headers['x-early'] = config.value
      },
    }),
  })
  const upstream = await startUpstream({ t })
  const gw = await startGateway({
    t,
    plugins: [...plugins, early],
    config: {
      services: [{ name: 'svc', url: upstream.url, routes: [{ name: 'r', paths: ['/'] }] }],
      consumers: [{ username: 'alice' }],
      plugins: [
        { name: 'test-auth' },
        { name: 'early', config: { value: 'global' } },
        { name: 'early', consumer: 'alice', config: { value: 'alice' } },
        { name: 'stamp', config: { value: 'global' } },
        { name: 'stamp', consumer: 'alice', config: { value: 'alice' } },
      ],
    },
  })
  await gw.request({ path: '/', headers: { 'x-consumer': 'alice' } })
  t.equal(upstream.last()?.headers['x-early'], 'global', 'ran before the consumer was known')
  t.equal(upstream.last()?.headers['x-stamp'], 'alice', 'ran after the consumer was known')
})

t.test('enabled: false keeps an instance in the config but out of every chain', async (t) => {
  const upstream = await startUpstream({ t })
  const gw = await startGateway({
    t,
    plugins,
    config: {
      services: [
        {
          name: 'svc',
          url: upstream.url,
          plugins: [{ name: 'stamp', config: { value: 'service' } }],
          routes: [
            {
              name: 'r1',
              paths: ['/one'],
              plugins: [{ name: 'stamp', enabled: false, config: { value: 'route' } }],
            },
          ],
        },
      ],
      plugins: [
        { name: 'tagger', enabled: false, config: { tag: 'off' } },
        { name: 'tagger', config: { tag: 'on' } },
      ],
    },
  })
  await gw.request({ path: '/one' })
  t.equal(upstream.last()?.headers['x-stamp'], 'service', 'the disabled route instance does not shadow')
  t.equal(upstream.last()?.headers['x-tags'], 'on')
})

t.test('two non-stacking instances with the same scope are a ConfigError', async (t) => {
  const config: GatewayConfig = {
    services: [
      {
        name: 'svc',
        url: 'http://127.0.0.1:9',
        routes: [{ name: 'r1', paths: ['/'], plugins: [{ name: 'stamp', config: { value: 'nested' } }] }],
      },
    ],
    consumers: [{ username: 'alice' }],
    plugins: [
      { name: 'stamp', config: { value: 'a' } },
      { name: 'stamp', config: { value: 'b' } },
      // the same route scope, written at the top level
      { name: 'stamp', route: 'r1', config: { value: 'top' } },
      // stacking instances with one scope are fine
      { name: 'tagger', config: { tag: 'x' } },
      { name: 'tagger', config: { tag: 'y' } },
    ],
  }
  const err = await createGateway(config, { plugins, logger: false }).then(
    () => undefined,
    (e: unknown) => e,
  )
  t.ok(err instanceof ConfigError, 'rejected with a ConfigError')
  const issues = (err as ConfigError).issues
  t.equal(issues.length, 2, 'one issue per duplicate, none for the stacking plugin')
  t.match(issues, [
    { pointer: '/plugins/1', plugin: 'stamp', message: /already configured at \/plugins\/0/ },
    {
      pointer: /^\/(plugins\/2|services\/0\/routes\/0\/plugins\/0)$/,
      plugin: 'stamp',
      message: /same scope/,
    },
  ])
})
