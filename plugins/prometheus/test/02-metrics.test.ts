import { definePlugin } from '@gatehousejs/sdk'
import type { GatewayConfig } from '@gatehousejs/sdk/config'
import { startGateway, startUpstream } from '@gatehousejs/sdk/testing'
import t from 'tap'
import prometheus from '../src/index.js'
import { eventually, scrape } from './helpers/scrape.js'

// What a scraper reads: requests by service, route, method and status; latencies; bytes.

/** Sets the consumer named in `x-user`, as an auth plugin would. */
const fakeAuth = definePlugin({
  name: 'fake-auth',
  version: '1.0.0',
  priority: 60_000,
  init() {
    return {
      access(ctx) {
        const user = ctx.request.headers['x-user']
        if (typeof user === 'string')
          ctx.setConsumer({ id: user, username: user, customId: undefined, groups: [] })
      },
    }
  },
})

function config(upstream: string, prom: Record<string, unknown> = {}): GatewayConfig {
  return {
    services: [
      {
        name: 'users',
        url: upstream,
        routes: [
          { name: 'users-read', paths: ['/users'], methods: ['GET'] },
          { name: 'users-write', paths: ['/users'], methods: ['POST'] },
        ],
      },
    ],
    plugins: [{ name: 'prometheus', config: prom }, { name: 'fake-auth' }],
  }
}

t.test('requests are counted by service, route, method, status and source', async (t) => {
  const upstream = await startUpstream({
    t,
    handler: (req, res) => {
      res.writeHead(req.url === '/missing' ? 404 : 200, {
        'content-type': 'text/plain',
        'content-length': '5',
      })
      res.end('hello')
    },
  })
  const gw = await startGateway({ t, plugins: [prometheus, fakeAuth], config: config(upstream.url) })
  for (let i = 0; i < 3; i++) t.equal((await gw.request({ path: '/users/1' })).status, 200)
  t.equal((await gw.request({ path: '/users/missing' })).status, 404)
  t.equal((await gw.request({ method: 'POST', path: '/users', body: 'x'.repeat(40) })).status, 200)
  t.equal((await gw.request({ path: '/nowhere' })).status, 404)

  const name = 'gatehouse_http_requests_total'
  await eventually(async () => (await scrape(gw)).total(name) === 6)
  const m = await scrape(gw)
  t.equal(m.family(name)?.type, 'counter')
  t.equal(m.total(name, { service: 'users', route: 'users-read', method: 'GET', status: '200' }), 3)
  t.equal(m.total(name, { route: 'users-read', status: '404', source: 'upstream' }), 1, 'upstream 404')
  t.equal(m.total(name, { route: 'users-write', method: 'POST', status: '200' }), 1)
  t.equal(
    m.total(name, { service: '', route: '', status: '404', source: 'error' }),
    1,
    'an unrouted request is counted with empty service and route',
  )
  t.notOk(
    m.samples(name).some((s) => s.labels.consumer !== undefined),
    'no consumer label unless perConsumer',
  )
  t.equal(m.total(name), 6, 'the scrapes themselves are not counted')
})

t.test('latency histograms: total, upstream and gateway-only, in seconds', async (t) => {
  const upstream = await startUpstream({
    t,
    handler: (_req, res) => {
      setTimeout(() => res.end('slow'), 30)
    },
  })
  const gw = await startGateway({ t, plugins: [prometheus, fakeAuth], config: config(upstream.url) })
  t.equal((await gw.request({ path: '/users' })).status, 200)
  await eventually(async () => (await scrape(gw)).total('gatehouse_request_duration_seconds') === 1)
  const m = await scrape(gw)
  const labels = { service: 'users', route: 'users-read' }
  for (const name of ['request', 'upstream', 'gateway']) {
    const fam = m.family(`gatehouse_${name}_duration_seconds`)
    t.equal(fam?.type, 'histogram', `${name} is a histogram`)
    t.equal(m.total(`gatehouse_${name}_duration_seconds`, labels), 1, `${name}: one observation`)
  }
  const sum = (name: string) => m.samples(`gatehouse_${name}_duration_seconds_sum`, labels)[0]!.value
  const bucket = (le: string) =>
    m.samples('gatehouse_upstream_duration_seconds_bucket', { ...labels, le })[0]?.value
  t.ok(sum('upstream') >= 0.025, `upstream time includes the upstream's 30 ms (${sum('upstream')} s)`)
  t.equal(bucket('0.01'), 0, 'not in the 10 ms bucket')
  // The upstream's time is 30 ms plus whatever a busy machine adds, so which bucket it lands in is
  // not fixed; what is fixed is that every cumulative bucket agrees with the observed sum.
  const buckets = m.samples('gatehouse_upstream_duration_seconds_bucket', labels)
  t.ok(buckets.length > 2, 'the upstream histogram has buckets')
  for (const b of buckets) {
    const le = b.labels.le === '+Inf' ? Number.POSITIVE_INFINITY : Number(b.labels.le)
    t.equal(b.value, sum('upstream') <= le ? 1 : 0, `bucket le=${b.labels.le} agrees with the sum`)
  }
  t.equal(bucket('+Inf'), 1)
  t.ok(sum('gateway') < sum('request'), 'gateway-only time excludes the upstream')
})

t.test('bytes received and sent, by Content-Length', async (t) => {
  const upstream = await startUpstream({
    t,
    handler: (_req, res) => {
      res.writeHead(200, { 'content-length': '1000' })
      res.end('y'.repeat(1000))
    },
  })
  const gw = await startGateway({ t, plugins: [prometheus, fakeAuth], config: config(upstream.url) })
  t.equal((await gw.request({ method: 'POST', path: '/users', body: 'x'.repeat(300) })).status, 200)
  t.equal((await gw.request({ path: '/users' })).status, 200)
  const name = 'gatehouse_bandwidth_bytes_total'
  await eventually(async () => (await scrape(gw)).total(name, { direction: 'egress' }) === 2000)
  const m = await scrape(gw)
  t.equal(m.total(name, { route: 'users-write', direction: 'ingress' }), 300)
  t.equal(m.total(name, { route: 'users-write', direction: 'egress' }), 1000)
  t.equal(m.total(name, { route: 'users-read', direction: 'egress' }), 1000)
  t.equal(m.total(name, { route: 'users-read', direction: 'ingress' }), 0, 'no body, no ingress')
})

t.test('perConsumer adds a consumer label to counts and latencies', async (t) => {
  const upstream = await startUpstream({ t })
  const gw = await startGateway({
    t,
    plugins: [prometheus, fakeAuth],
    config: config(upstream.url, { perConsumer: true }),
  })
  await gw.request({ path: '/users', headers: { 'x-user': 'alice' } })
  await gw.request({ path: '/users', headers: { 'x-user': 'alice' } })
  await gw.request({ path: '/users', headers: { 'x-user': 'bob' } })
  await gw.request({ path: '/users' })
  const name = 'gatehouse_http_requests_total'
  await eventually(async () => (await scrape(gw)).total(name) === 4)
  const m = await scrape(gw)
  t.equal(m.total(name, { consumer: 'alice' }), 2)
  t.equal(m.total(name, { consumer: 'bob' }), 1)
  t.equal(m.total(name, { consumer: '' }), 1, 'anonymous requests have an empty consumer')
  t.equal(m.total('gatehouse_request_duration_seconds', { consumer: 'alice' }), 2)
})

t.test('latency and bandwidth can be turned off; default Node metrics turned on', async (t) => {
  const upstream = await startUpstream({ t })
  const gw = await startGateway({
    t,
    plugins: [prometheus, fakeAuth],
    config: config(upstream.url, { latency: false, bandwidth: false, defaultMetrics: true, prefix: 'edge' }),
  })
  await gw.request({ path: '/users' })
  await eventually(async () => (await scrape(gw)).total('edge_http_requests_total') === 1)
  const m = await scrape(gw)
  t.equal(m.family('edge_request_duration_seconds'), undefined)
  t.equal(m.family('edge_bandwidth_bytes_total'), undefined)
  t.ok(m.family('edge_process_cpu_user_seconds_total'), 'prom-client default metrics, prefixed')
  t.ok(m.family('edge_nodejs_eventloop_lag_seconds'))
})
