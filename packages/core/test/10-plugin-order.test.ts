import { createGateway } from '@gatehousejs/core'
import { ConfigError, definePlugin, type PluginDefinition } from '@gatehousejs/sdk'
import type { GatewayConfig } from '@gatehousejs/sdk/config'
import { startGateway, startUpstream } from '@gatehousejs/sdk/testing'
import t from 'tap'

/**
 * Plugin order: priority (higher first), the name breaking ties, `before`/`after` overriding priority,
 * and cycles rejected at load. Each plugin appends its name to an upstream header in `access` and to a
 * response header in `response`, so the order is what the upstream and the client actually saw.
 */

function orderPlugin(name: string, priority: number): PluginDefinition {
  return definePlugin({
    name,
    version: '1.0.0',
    priority,
    init() {
      return {
        access(ctx) {
          const seen = ctx.upstream.headers['x-order']
          ctx.upstream.headers['x-order'] = seen ? `${seen},${name}` : name
        },
        response(ctx) {
          const seen = ctx.response.headers['x-order']
          ctx.response.headers['x-order'] = seen ? `${seen},${name}` : name
        },
      }
    },
  })
}

const charlie = orderPlugin('charlie', 300)
const bravo = orderPlugin('bravo', 200)
const alpha = orderPlugin('alpha', 200)
const delta = orderPlugin('delta', 100)
const all = [delta, bravo, charlie, alpha]

function configFor(upstreamUrl: string, plugins: GatewayConfig['plugins']): GatewayConfig {
  return { services: [{ name: 'svc', url: upstreamUrl, routes: [{ name: 'r', paths: ['/'] }] }], plugins }
}

t.test('higher priority runs first and the name breaks ties, whatever the declaration order', async (t) => {
  const upstream = await startUpstream({ t })
  const gw = await startGateway<Awaited<ReturnType<typeof createGateway>>>({
    t,
    plugins: all,
    config: configFor(upstream.url, [
      { name: 'delta', id: 'd' },
      { name: 'bravo', id: 'b' },
      { name: 'alpha', id: 'a' },
      { name: 'charlie', id: 'c' },
    ]),
  })
  const res = await gw.request({ path: '/x' })
  t.equal(res.status, 200)
  t.equal(upstream.last()?.headers['x-order'], 'charlie,alpha,bravo,delta', 'access order seen upstream')
  t.equal(res.headers['x-order'], 'charlie,alpha,bravo,delta', 'response handlers run in the same order')
  const [route] = gw.gateway.routes()
  t.same(route?.plugins.access, ['c', 'a', 'b', 'd'], 'routes() shows the compiled access order')
  t.same(route?.plugins.response, ['c', 'a', 'b', 'd'])
})

t.test('before moves the declaring instance up without pushing its target down', async (t) => {
  const upstream = await startUpstream({ t })
  const gw = await startGateway<Awaited<ReturnType<typeof createGateway>>>({
    t,
    plugins: all,
    config: configFor(upstream.url, [
      { name: 'alpha', id: 'a' },
      { name: 'bravo', id: 'b' },
      { name: 'charlie', id: 'c' },
      // priority 100, but must run before charlie (300): it takes charlie's place at the front,
      // and charlie keeps its place ahead of alpha and bravo.
      { name: 'delta', id: 'd', before: ['charlie'] },
    ]),
  })
  await gw.request({ path: '/x' })
  t.equal(upstream.last()?.headers['x-order'], 'delta,charlie,alpha,bravo')
  t.same(gw.gateway.routes()[0]?.plugins.access, ['d', 'c', 'a', 'b'])
})

t.test('after makes the declaring instance wait for its target', async (t) => {
  const upstream = await startUpstream({ t })
  const gw = await startGateway<Awaited<ReturnType<typeof createGateway>>>({
    t,
    plugins: all,
    config: configFor(upstream.url, [
      { name: 'alpha', id: 'a', after: ['delta'] },
      { name: 'bravo', id: 'b' },
      { name: 'charlie', id: 'c', after: ['bravo'] },
      { name: 'delta', id: 'd' },
    ]),
  })
  await gw.request({ path: '/x' })
  t.equal(upstream.last()?.headers['x-order'], 'bravo,charlie,delta,alpha')
  t.same(gw.gateway.routes()[0]?.plugins.access, ['b', 'c', 'd', 'a'])
})

t.test('a plugin that must run before an auth band does not demote auth below acl', async (t) => {
  // The bug this guards against: Kahn's algorithm alone emitted cors, acl, rate-limit, tenant, auth.
  const plugins = [
    orderPlugin('cors', 80_000),
    orderPlugin('auth', 60_000),
    orderPlugin('acl', 50_000),
    orderPlugin('rate-limit', 40_000),
    orderPlugin('tenant', 100),
  ]
  const upstream = await startUpstream({ t })
  const gw = await startGateway({
    t,
    plugins,
    config: configFor(
      upstream.url,
      plugins.map((p) => (p.name === 'tenant' ? { name: p.name, before: ['auth'] } : { name: p.name })),
    ),
  })
  await gw.request({ path: '/x' })
  t.equal(upstream.last()?.headers['x-order'], 'cors,tenant,auth,acl,rate-limit')
})

t.test('a before/after cycle is a ConfigError naming the instances in it', async (t) => {
  const err = await createGateway(
    configFor('http://127.0.0.1:9', [
      { name: 'alpha', before: ['bravo'] },
      { name: 'bravo', before: ['charlie'] },
      { name: 'charlie', before: ['alpha'] },
      { name: 'delta' },
    ]),
    { plugins: all, logger: false },
  ).then(
    () => undefined,
    (e: unknown) => e,
  )
  t.ok(err instanceof ConfigError, 'rejected with a ConfigError')
  const issues = (err as ConfigError).issues
  t.same(issues.map((i) => i.plugin).sort(), ['alpha', 'bravo', 'charlie'], 'delta is not part of the cycle')
  t.same(issues.map((i) => i.pointer).sort(), ['/plugins/0', '/plugins/1', '/plugins/2'])
  for (const issue of issues) {
    t.match(issue.message, /cycle/)
    for (const name of ['alpha', 'bravo', 'charlie']) t.match(issue.message, name, `names ${name}`)
    t.notMatch(issue.message, 'delta')
  }
  t.equal((err as ConfigError).code, 'GH_CONFIG_INVALID')
})

t.test('before/after naming an unregistered plugin is a ConfigError with its pointer', async (t) => {
  const err = await createGateway(configFor('http://127.0.0.1:9', [{ name: 'alpha', after: ['nope'] }]), {
    plugins: all,
    logger: false,
  }).then(
    () => undefined,
    (e: unknown) => e,
  )
  t.ok(err instanceof ConfigError)
  t.match((err as ConfigError).issues, [{ pointer: '/plugins/0/after/0', plugin: 'alpha', message: /nope/ }])
})
