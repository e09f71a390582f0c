import type { Gateway } from '@gatehousejs/core'
import type { GatewayConfig } from '@gatehousejs/sdk/config'
import { startGateway, startUpstream } from '@gatehousejs/sdk/testing'
import t from 'tap'
import prometheus from '../src/index.js'
import { eventually, metricsOf, scrape } from './helpers/scrape.js'

// Where the metrics are served and who may read them: a gateway path, the admin endpoint, guards.

function config(upstream: string, prom: Record<string, unknown> = {}, scoped = false): GatewayConfig {
  const instance = { name: 'prometheus', config: prom }
  return {
    services: [
      {
        name: 'api',
        url: upstream,
        routes: [{ name: 'api', paths: ['/'], plugins: scoped ? [instance] : [] }],
      },
    ],
    plugins: scoped ? [] : [instance],
  }
}

t.test('the metrics path is answered by the gateway, never proxied', async (t) => {
  const upstream = await startUpstream({ t })
  const gw = await startGateway({ t, plugins: [prometheus], config: config(upstream.url) })
  const res = await gw.request({ path: '/metrics' })
  t.equal(res.status, 200)
  t.match(res.headers['content-type'], /^text\/plain; version=0\.0\.4/)
  t.equal(res.headers['cache-control'], 'no-store')
  t.ok(metricsOf(res.text).family('gatehouse_http_requests_total'), 'a valid exposition')
  t.equal((await gw.request({ method: 'HEAD', path: '/metrics' })).status, 200)
  t.equal(upstream.requests.length, 0, 'the upstream saw nothing')
  t.equal((await gw.request({ method: 'POST', path: '/metrics' })).status, 200, 'other methods are proxied')
  t.equal(upstream.requests.length, 1)
})

t.test('a custom path; a route-scoped instance serves it on its route', async (t) => {
  const upstream = await startUpstream({ t })
  const gw = await startGateway({
    t,
    plugins: [prometheus],
    config: config(upstream.url, { endpoint: { path: '/_gh/metrics' } }, true),
  })
  t.equal((await gw.request({ path: '/metrics' })).status, 200, '/metrics is an ordinary path now')
  t.equal(upstream.requests.length, 1)
  const m = await scrape(gw, '/_gh/metrics')
  await eventually(
    async () => (await scrape(gw, '/_gh/metrics')).total('gatehouse_http_requests_total') === 1,
  )
  t.ok(m.family('gatehouse_http_requests_total'))
  t.equal(upstream.requests.length, 1, 'scrapes are not proxied')
})

t.test('path null: no gateway path; the admin endpoint serves the metrics', async (t) => {
  const upstream = await startUpstream({ t })
  const gw = await startGateway<Gateway>({
    t,
    plugins: [prometheus],
    config: config(upstream.url, { endpoint: { path: null } }),
  })
  t.equal((await gw.request({ path: '/metrics' })).status, 200)
  t.equal(upstream.requests.length, 1, 'proxied like any path')
  const admin = gw.gateway.plugins()[0]!.admin.find((e) => e.path === '/metrics')!
  t.equal(admin.method, 'GET')
  await eventually(async () => {
    const r = await admin.handler({ method: 'GET', params: {}, query: {}, headers: {}, body: undefined })
    return metricsOf(String(r.body)).total('gatehouse_http_requests_total', { route: 'api' }) === 1
  })
  const r = await admin.handler({ method: 'GET', params: {}, query: {}, headers: {}, body: undefined })
  t.equal(r.status, 200)
  t.match(r.headers?.['content-type'], /^text\/plain/)
  t.equal(
    metricsOf(String(r.body)).total('gatehouse_http_requests_total', { route: 'api', status: '200' }),
    1,
  )
})

t.test('allow: only listed addresses may scrape (403 GH_PROMETHEUS_FORBIDDEN)', async (t) => {
  const upstream = await startUpstream({ t })
  const denied = await startGateway({
    t,
    plugins: [prometheus],
    config: config(upstream.url, { endpoint: { allow: ['10.0.0.0/8', '::1'] } }),
  })
  const res = await denied.request({ path: '/metrics' })
  t.equal(res.status, 403)
  t.equal(res.json().code, 'GH_PROMETHEUS_FORBIDDEN')
  t.notMatch(res.text, /gatehouse_http/, 'no metrics leak')
  const allowed = await startGateway({
    t,
    plugins: [prometheus],
    config: config(upstream.url, { endpoint: { allow: ['127.0.0.0/8'] } }),
  })
  t.equal((await allowed.request({ path: '/metrics' })).status, 200)
  t.equal(upstream.requests.length, 0)
})

t.test('token: a bearer token is required (401 GH_PROMETHEUS_UNAUTHORIZED)', async (t) => {
  const upstream = await startUpstream({ t })
  const token = 'a-long-enough-scrape-token'
  const gw = await startGateway({
    t,
    plugins: [prometheus],
    config: config(upstream.url, { endpoint: { token } }),
  })
  for (const authorization of [undefined, 'Bearer wrong', `Basic ${token}`, `Bearer ${token}x`]) {
    const res = await gw.request({ path: '/metrics', headers: authorization ? { authorization } : {} })
    t.equal(res.status, 401, `refused: ${authorization}`)
    t.equal(res.json().code, 'GH_PROMETHEUS_UNAUTHORIZED')
    t.equal(res.headers['www-authenticate'], 'Bearer realm="metrics"')
  }
  const m = await scrape(gw, '/metrics', { authorization: `Bearer ${token}` })
  t.ok(m.family('gatehouse_http_requests_total'))
  t.equal(upstream.requests.length, 0)
})

t.test(
  'upstream target health from the gateway’s health checks, with no wiring (env.upstreams)',
  async (t) => {
    const good = await startUpstream({ t })
    const gone = await startUpstream({ t })
    await gone.close()
    const gw = await startGateway<Gateway>({
      t,
      plugins: [prometheus],
      config: {
        services: [
          {
            name: 'pool',
            targets: [{ url: good.url }, { url: gone.url }],
            healthchecks: { passive: { failures: 1 } },
            routes: [{ name: 'pool', paths: ['/'] }],
          },
        ],
        plugins: [{ name: 'prometheus' }],
      },
    })
    const name = 'gatehouse_upstream_target_health'
    let m = await scrape(gw)
    t.equal(m.family(name)?.type, 'gauge')
    t.equal(m.total(name, { service: 'pool', target: good.url, state: 'healthy' }), 1)
    t.equal(
      m.total(name, { service: 'pool', target: gone.url, state: 'healthy' }),
      1,
      'healthy until it fails',
    )
    t.equal(m.total(name, { service: 'pool', target: gone.url, state: 'unhealthy' }), 0)
    for (let i = 0; i < 10; i++) await gw.request({ path: '/x' })
    m = await scrape(gw)
    t.equal(
      m.total(name, { target: gone.url, state: 'unhealthy' }),
      1,
      'the dead target is reported unhealthy',
    )
    t.equal(m.total(name, { target: gone.url, state: 'healthy' }), 0)
    t.equal(m.total(name, { target: good.url, state: 'healthy' }), 1)
  },
)
