import type { Gateway, GatewayConfig } from '@gatehousejs/core'
import { startGateway, startUpstream } from '@gatehousejs/sdk/testing'
import t from 'tap'
import template from '../src/index.js'

// Behaviour: headers added to the request the upstream receives and to the response the client gets.

function gatewayConfig(upstreamUrl: string, config: Record<string, unknown>): GatewayConfig {
  return {
    services: [{ name: 'echo', url: upstreamUrl, routes: [{ name: 'echo', paths: ['/echo'] }] }],
    plugins: [{ name: 'template', config }],
  }
}

t.test('upstreamHeaders reach the upstream, replacing what the client sent', async (t) => {
  const upstream = await startUpstream({ t })
  const gw = await startGateway({
    t,
    plugins: [template],
    config: gatewayConfig(upstream.url, { upstreamHeaders: { 'X-Gateway': 'gatehouse', 'x-tier': 'gold' } }),
  })
  const res = await gw.request({ path: '/echo/a', headers: { 'x-tier': 'free', 'x-other': 'kept' } })
  t.equal(res.status, 200)
  const received = upstream.last()?.headers
  t.equal(received?.['x-gateway'], 'gatehouse', 'configured name is sent in lower case')
  t.equal(received?.['x-tier'], 'gold', 'the configured value replaces the client’s')
  t.equal(received?.['x-other'], 'kept', 'other client headers are untouched')
  t.equal(res.headers['x-gateway'], undefined, 'upstream headers are not echoed to the client')
})

t.test('responseHeaders reach the client, replacing what the upstream sent', async (t) => {
  const upstream = await startUpstream({
    t,
    handler: (_req, res) => {
      res.writeHead(200, {
        'content-type': 'text/plain',
        'x-served-by': 'upstream',
        'x-frame-options': 'ALLOW',
      })
      res.end('ok')
    },
  })
  const gw = await startGateway({
    t,
    plugins: [template],
    config: gatewayConfig(upstream.url, {
      responseHeaders: { 'X-Frame-Options': 'DENY', 'x-powered-by': 'gatehouse' },
    }),
  })
  const res = await gw.request({ path: '/echo' })
  t.equal(res.status, 200)
  t.equal(res.text, 'ok', 'the body streams through unchanged')
  t.equal(res.headers['x-frame-options'], 'DENY')
  t.equal(res.headers['x-powered-by'], 'gatehouse')
  t.equal(res.headers['x-served-by'], 'upstream')
  t.equal(upstream.last()?.headers['x-frame-options'], undefined, 'response headers are not sent upstream')
})

t.test('responseHeaders are also set on gateway error responses', async (t) => {
  const upstream = await startUpstream({ t })
  const gw = await startGateway({
    t,
    plugins: [template],
    config: gatewayConfig(upstream.url, { responseHeaders: { 'x-powered-by': 'gatehouse' } }),
  })
  const res = await gw.request({ path: '/nowhere' })
  t.equal(res.status, 404)
  t.equal(res.json().code, 'GH_ROUTE_NOT_FOUND')
  t.equal(res.headers['x-powered-by'], 'gatehouse')
  t.equal(upstream.requests.length, 0)
})

t.test('an instance takes part only in the phases its config uses', async (t) => {
  const upstream = await startUpstream({ t })
  const onlyResponse = await startGateway<Gateway>({
    t,
    plugins: [template],
    config: gatewayConfig(upstream.url, { responseHeaders: { 'x-a': '1' } }),
  })
  t.match(onlyResponse.gateway.routes()[0]?.plugins, { access: [], response: [/^template/] })
  const onlyAccess = await startGateway<Gateway>({
    t,
    plugins: [template],
    config: gatewayConfig(upstream.url, { upstreamHeaders: { 'x-a': '1' } }),
  })
  t.match(onlyAccess.gateway.routes()[0]?.plugins, { access: [/^template/], response: [] })
})

t.test('a route-scoped instance wins over the global one and does not stack with it', async (t) => {
  const upstream = await startUpstream({ t })
  const gw = await startGateway({
    t,
    plugins: [template],
    config: {
      services: [
        {
          name: 'echo',
          url: upstream.url,
          routes: [
            {
              name: 'special',
              paths: ['/special'],
              plugins: [{ name: 'template', config: { upstreamHeaders: { 'x-route': 'special' } } }],
            },
            { name: 'plain', paths: ['/plain'] },
          ],
        },
      ],
      plugins: [{ name: 'template', config: { upstreamHeaders: { 'x-global': 'yes' } } }],
    },
  })
  t.equal((await gw.request({ path: '/special' })).status, 200)
  t.equal(upstream.last()?.headers['x-route'], 'special')
  t.equal(upstream.last()?.headers['x-global'], undefined)
  t.equal((await gw.request({ path: '/plain' })).status, 200)
  t.equal(upstream.last()?.headers['x-global'], 'yes')
  t.equal(upstream.last()?.headers['x-route'], undefined)
})
