import { definePlugin } from '@gatehousejs/sdk'
import type { GatewayConfig } from '@gatehousejs/sdk/config'
import { startGateway, startUpstream } from '@gatehousejs/sdk/testing'
import t from 'tap'
import opentelemetry from '../src/index.js'
import { startCollector } from './helpers/collector.js'

// Spans received by a real OTLP/HTTP endpoint: ids, parents, attributes, and what the upstream saw.

const SERVER = 2
const CLIENT = 3
const INTERNAL = 1
const PARENT_TRACE = '4bf92f3577b34da6a3ce929d0e0e4736'
const PARENT_SPAN = '00f067aa0ba902b7'

/** An auth-like plugin that takes a little time, so its span has a duration. */
const auth = definePlugin({
  name: 'fake-auth',
  version: '1.0.0',
  priority: 60_000,
  init: () => ({
    async access(ctx) {
      await new Promise((r) => setTimeout(r, 5))
      ctx.setConsumer({ id: 'alice', username: 'alice', customId: undefined, groups: [] })
    },
  }),
})

function config(upstream: string, otel: Record<string, unknown>): GatewayConfig {
  return {
    services: [{ name: 'orders', url: upstream, routes: [{ name: 'orders', paths: ['/orders'] }] }],
    plugins: [
      { name: 'opentelemetry', config: { batch: { scheduledDelay: 50 }, ...otel } },
      { name: 'fake-auth' },
    ],
  }
}

t.test('a request continues the client’s trace: server, upstream and plugin spans', async (t) => {
  const collector = await startCollector(t)
  const upstream = await startUpstream({
    t,
    handler: (_req, res) => {
      setTimeout(() => res.end('ok'), 10)
    },
  })
  const gw = await startGateway({
    t,
    plugins: [opentelemetry, auth],
    config: config(upstream.url, {
      endpoint: collector.url,
      serviceName: 'edge',
      headers: { 'x-api-key': 'k1' },
      resourceAttributes: { 'deployment.environment': 'test' },
    }),
  })
  const res = await gw.request({
    path: '/orders/42?x=1',
    headers: {
      traceparent: `00-${PARENT_TRACE}-${PARENT_SPAN}-01`,
      tracestate: 'vendor=abc',
      'user-agent': 'ua/1',
    },
  })
  t.equal(res.status, 200)

  // What the upstream received: the same trace, a new parent (the gateway's upstream span).
  const sent = upstream.last()!.headers
  const m = /^00-([0-9a-f]{32})-([0-9a-f]{16})-01$/.exec(String(sent.traceparent))
  t.ok(m, `a valid traceparent upstream: ${sent.traceparent}`)
  t.equal(m?.[1], PARENT_TRACE, 'the trace id is kept')
  t.not(m?.[2], PARENT_SPAN, 'the parent is the gateway’s span')
  t.equal(sent.tracestate, 'vendor=abc', 'tracestate is passed on')

  const spans = await collector.waitFor(4)
  t.equal(collector.requests[0]?.contentType, 'application/json', 'OTLP/HTTP JSON')
  t.equal(collector.requests[0]?.headers['x-api-key'], 'k1', 'configured export headers are sent')
  const server = spans.find((s) => s.kind === SERVER)!
  const client = spans.find((s) => s.kind === CLIENT)!
  t.ok(server && client)
  t.equal(server.traceId, PARENT_TRACE)
  t.equal(server.parentSpanId, PARENT_SPAN, 'the server span’s parent is the client’s span')
  t.equal(client.traceId, PARENT_TRACE)
  t.equal(client.parentSpanId, server.spanId, 'the upstream span is a child of the server span')
  t.equal(client.spanId, m?.[2], 'the upstream was told the upstream span’s id')
  t.match(server.attributes, {
    'http.request.method': 'GET',
    'url.path': '/orders/42',
    'url.query': 'x=1',
    'http.route': '/orders',
    'http.response.status_code': 200,
    'gatehouse.route': 'orders',
    'gatehouse.service': 'orders',
    'gatehouse.consumer': 'alice',
    'client.address': '127.0.0.1',
    'user_agent.original': 'ua/1',
    'gatehouse.request_id': String(res.headers['x-request-id']),
  })
  t.equal(server.name, 'GET /orders')
  t.match(server.resource, { 'service.name': 'edge', 'deployment.environment': 'test' })
  t.match(client.attributes, {
    'http.request.method': 'GET',
    'server.address': '127.0.0.1',
    'http.response.status_code': 200,
    'gatehouse.service': 'orders',
  })
  t.match(String(client.attributes['url.full']), /^http:\/\/127\.0\.0\.1:\d+\/42$/)
  t.ok(client.endNs - client.startNs >= 9_000_000n, 'the upstream span covers the upstream’s 10 ms')
  t.ok(client.startNs >= server.startNs && client.endNs <= server.endNs, 'inside the server span')

  const plugins = spans.filter((s) => s.kind === INTERNAL)
  const authSpan = plugins.find((s) => s.name === 'fake-auth access')
  t.ok(authSpan, `a span per plugin handler: ${plugins.map((s) => s.name).join(', ')}`)
  t.equal(authSpan?.parentSpanId, server.spanId)
  t.equal(authSpan?.traceId, PARENT_TRACE)
  t.match(authSpan?.attributes, { 'gatehouse.plugin': 'fake-auth', 'gatehouse.phase': 'access' })
  t.ok(authSpan!.endNs - authSpan!.startNs >= 4_000_000n, 'its duration is the handler’s')
  t.ok(authSpan!.endNs <= client.startNs, 'access ran before the upstream call')
})

t.test('without a traceparent a new trace starts; errors are marked', async (t) => {
  const collector = await startCollector(t)
  const upstream = await startUpstream({
    t,
    handler: (_req, res) => {
      res.writeHead(503)
      res.end()
    },
  })
  const gw = await startGateway({
    t,
    plugins: [opentelemetry, auth],
    config: config(upstream.url, { endpoint: collector.url, pluginSpans: false }),
  })
  t.equal((await gw.request({ path: '/orders' })).status, 503)
  t.equal((await gw.request({ path: '/nowhere' })).status, 404)
  const spans = await collector.waitFor(3)
  t.equal(spans.filter((s) => s.kind === INTERNAL).length, 0, 'pluginSpans: false')
  const servers = spans.filter((s) => s.kind === SERVER)
  t.equal(servers.length, 2)
  const orders = servers.find((s) => s.attributes['gatehouse.route'] === 'orders')!
  t.equal(orders.parentSpanId, '', 'a root span')
  t.match(orders.traceId, /^[0-9a-f]{32}$/)
  t.equal(orders.status.code, 2, 'a 5xx is an error')
  const client = spans.find((s) => s.kind === CLIENT)!
  t.equal(client.parentSpanId, orders.spanId)
  t.equal(client.attributes['http.response.status_code'], 503)
  const unrouted = servers.find((s) => s.attributes['gatehouse.route'] === undefined)!
  t.equal(unrouted.attributes['http.response.status_code'], 404)
  t.equal(unrouted.attributes['error.type'], 'GH_ROUTE_NOT_FOUND')
  t.equal(unrouted.name, 'GET')
  t.not(unrouted.traceId, orders.traceId)
})

t.test('sampling: ratio 0 records nothing but still propagates; a sampled parent is followed', async (t) => {
  const collector = await startCollector(t)
  const upstream = await startUpstream({ t })
  const gw = await startGateway({
    t,
    plugins: [opentelemetry, auth],
    config: config(upstream.url, { endpoint: collector.url, samplingRatio: 0 }),
  })
  t.equal((await gw.request({ path: '/orders' })).status, 200)
  t.match(String(upstream.last()!.headers.traceparent), /^00-[0-9a-f]{32}-[0-9a-f]{16}-00$/, 'not sampled')
  t.equal(
    (await gw.request({ path: '/orders', headers: { traceparent: `00-${PARENT_TRACE}-${PARENT_SPAN}-01` } }))
      .status,
    200,
  )
  t.match(String(upstream.last()!.headers.traceparent), new RegExp(`^00-${PARENT_TRACE}-[0-9a-f]{16}-01$`))
  t.equal(
    (await gw.request({ path: '/orders', headers: { traceparent: `00-${PARENT_TRACE}-${PARENT_SPAN}-00` } }))
      .status,
    200,
  )
  t.match(String(upstream.last()!.headers.traceparent), /-00$/, 'an unsampled parent stays unsampled')
  await gw.close()
  t.ok(collector.spans.length > 0, 'the sampled parent’s trace was exported (flushed on close)')
  t.ok(
    collector.spans.every((s) => s.traceId === PARENT_TRACE),
    'and nothing else',
  )
})

t.test('close flushes queued spans; propagate: false leaves upstream headers alone', async (t) => {
  const collector = await startCollector(t)
  const upstream = await startUpstream({ t })
  const gw = await startGateway({
    t,
    plugins: [opentelemetry, auth],
    config: config(upstream.url, {
      endpoint: collector.url,
      propagate: false,
      batch: { scheduledDelay: 60_000 },
    }),
  })
  t.equal((await gw.request({ path: '/orders', headers: { traceparent: 'garbage' } })).status, 200)
  t.equal(upstream.last()!.headers.traceparent, 'garbage', 'passed through untouched')
  await new Promise((r) => setTimeout(r, 100))
  t.equal(collector.spans.length, 0, 'nothing exported before the (long) batch delay')
  await gw.close()
  t.ok(
    collector.spans.some((s) => s.kind === SERVER),
    'exported on close',
  )
  t.equal(
    collector.spans.find((s) => s.kind === SERVER)?.parentSpanId,
    '',
    'an invalid traceparent is ignored',
  )
})
