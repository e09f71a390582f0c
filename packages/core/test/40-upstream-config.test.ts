/**
 * Upstream configuration: `targets` as an alternative to `url`, and every mistake in balancing, health
 * checks, retries and split refused at load with the JSON pointer of the field.
 */
import { ConfigError, createGateway, type Gateway } from '@gatehousejs/core'
import type { GatewayConfig, ServiceConfig } from '@gatehousejs/sdk/config'
import { startGateway, startUpstream } from '@gatehousejs/sdk/testing'
import t, { type Test } from 'tap'

async function rejection(t: Test, services: unknown[]): Promise<ConfigError> {
  try {
    const gw = await createGateway({ services } as GatewayConfig, { logger: false, handleSignals: false })
    await gw.close()
    t.fail('the configuration was accepted')
  } catch (err) {
    t.ok(err instanceof ConfigError, 'a ConfigError')
    return err as ConfigError
  }
  return new ConfigError([])
}

const targets = [{ url: 'http://127.0.0.1:1' }, { url: 'http://127.0.0.1:2' }]
const svc = (extra: Partial<ServiceConfig> | Record<string, unknown>) => ({ name: 'api', targets, ...extra })

t.test('weights that are not numbers are refused, naming the field', async (t) => {
  const err = await rejection(t, [svc({ targets: [{ url: 'http://127.0.0.1:1', weight: 'heavy' }] })])
  t.match(err.issues, [{ pointer: '/services/0/targets/0/weight', message: /integer/ }])
  t.match(err.message, /\/services\/0\/targets\/0\/weight/)
})

t.test('a negative or fractional weight is refused', async (t) => {
  const err = await rejection(t, [svc({ targets: [{ url: 'http://127.0.0.1:1', weight: 1.5 }] })])
  t.match(err.issues, [{ pointer: '/services/0/targets/0/weight' }])
  const neg = await rejection(t, [svc({ targets: [{ url: 'http://127.0.0.1:1', weight: -1 }] })])
  t.match(neg.issues, [{ pointer: '/services/0/targets/0/weight', message: />= 0/ }])
})

t.test('a health-check interval of 0 is refused', async (t) => {
  for (const interval of [0, '0s']) {
    const err = await rejection(t, [svc({ healthchecks: { active: { interval } } })])
    t.match(err.issues, [
      { pointer: '/services/0/healthchecks/active/interval', message: 'must be greater than 0' },
    ])
  }
})

t.test('an unknown algorithm is refused with the allowed ones', async (t) => {
  const err = await rejection(t, [svc({ balancing: { algorithm: 'random' } })])
  t.match(err.issues, [
    {
      pointer: '/services/0/balancing/algorithm',
      message: /must be one of "round-robin", "least-connections", "consistent-hashing"/,
    },
  ])
})

t.test('url and targets: exactly one of them', async (t) => {
  const both = await rejection(t, [svc({ url: 'http://127.0.0.1:1' })])
  t.match(both.issues, [{ pointer: '/services/0/targets', message: /either "url" or "targets"/ }])
  const neither = await rejection(t, [{ name: 'api' }])
  t.match(neither.issues, [{ pointer: '/services/0', message: /needs a "url" or "targets"/ }])
})

t.test('targets are origins; duplicates and all-zero weights are refused', async (t) => {
  const err = await rejection(t, [
    svc({
      targets: [
        { url: 'http://127.0.0.1:1/api', weight: 0 },
        { url: 'ftp://127.0.0.1:2', weight: 0 },
        { url: 'http://127.0.0.1:3', weight: 0 },
        { url: 'http://127.0.0.1:3/', weight: 0 },
      ],
    }),
  ])
  t.match(err.issues, [
    { pointer: '/services/0/targets/0/url', message: /origin/ },
    { pointer: '/services/0/targets/1/url', message: /origin/ },
    { pointer: '/services/0/targets/3/url', message: /duplicate target/ },
    { pointer: '/services/0/targets', message: /weight above 0/ },
  ])
})

t.test('hashing, retries and split mistakes name their field', async (t) => {
  const err = await rejection(t, [
    svc({
      balancing: { algorithm: 'consistent-hashing', hashOn: 'header' },
      retries: { attempts: 20, backoff: { initial: '2s', max: '1s' } },
      healthchecks: { passive: { failures: 'many' } },
      split: [{ service: 'nope', weight: 10 }, { service: 'api', header: 'x-canary' }, { service: 'v2' }],
    }),
    { name: 'v2', url: 'http://127.0.0.1:3' },
  ])
  t.match(err.issues, [
    { pointer: '/services/0/healthchecks/passive/failures', message: /integer/ },
    { pointer: '/services/0/retries/attempts', message: /<= 10/ },
  ])
  const semantic = await rejection(t, [
    svc({
      balancing: { algorithm: 'consistent-hashing', hashOn: 'header' },
      retries: { backoff: { initial: '2s', max: '1s' } },
      split: [
        { service: 'nope', weight: 10 },
        { service: 'api', header: 'x-canary' },
        { service: 'v2' },
        { service: 'v2', weight: 95 },
      ],
    }),
    { name: 'v2', url: 'http://127.0.0.1:3' },
  ])
  const pointers = semantic.issues.map((i) => i.pointer)
  t.same(pointers.sort(), [
    '/services/0/balancing/hashOnHeader',
    '/services/0/retries/backoff/initial',
    '/services/0/split',
    '/services/0/split/0/service',
    '/services/0/split/1/service',
    '/services/0/split/2',
  ])
  t.match(semantic.issues.find((i) => i.pointer === '/services/0/split')?.message, /add up to 105/)
})

t.test('a plain url service stays on the direct path: no balancer, no health state', async (t) => {
  const up = await startUpstream({ t })
  const gw = await startGateway<Gateway>({
    t,
    config: { services: [{ name: 'plain', url: `${up.url}/base`, routes: [{ paths: ['/'] }] }] },
  })
  t.same(gw.gateway.upstreams(), [])
  t.equal(gw.gateway.routes()[0]?.upstream, `${up.url}/base`)
  const res = await gw.request({ path: '/x' })
  t.equal(res.status, 200)
  t.equal(up.last()?.url, '/base/x')
})

t.test('targets with a service path: the path is prepended upstream', async (t) => {
  const up = await startUpstream({ t })
  const gw = await startGateway<Gateway>({
    t,
    config: {
      services: [{ name: 'api', targets: [{ url: up.url }], path: '/v1/', routes: [{ paths: ['/api'] }] }],
    },
  })
  const res = await gw.request({ path: '/api/users?x=1' })
  t.equal(res.status, 200)
  t.equal(up.last()?.url, '/v1/users?x=1')
  t.match(gw.gateway.upstreams(), [
    {
      service: 'api',
      algorithm: 'round-robin',
      targets: [{ url: up.url, weight: 100, state: 'healthy', active: 0 }],
    },
  ])
})
