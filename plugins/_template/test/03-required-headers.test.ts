import type { GatewayConfig } from '@gatehousejs/core'
import { startGateway, startUpstream } from '@gatehousejs/sdk/testing'
import t, { type Test } from 'tap'
import template, { HeaderRequired } from '../src/index.js'

// The plugin's error: GH_TEMPLATE_HEADER_REQUIRED (400) when a required header is missing or empty.

async function setup(t: Test, config: Record<string, unknown>) {
  const upstream = await startUpstream({ t })
  const gatewayConfig: GatewayConfig = {
    services: [{ name: 'echo', url: upstream.url, routes: [{ name: 'echo', paths: ['/echo'] }] }],
    plugins: [{ name: 'template', config }],
  }
  const gw = await startGateway({ t, plugins: [template], config: gatewayConfig })
  return { upstream, gw }
}

t.test('a request without a required header gets 400 GH_TEMPLATE_HEADER_REQUIRED', async (t) => {
  const { upstream, gw } = await setup(t, { requiredHeaders: ['X-Tenant'] })
  const res = await gw.request({ path: '/echo' })
  t.equal(res.status, 400)
  t.match(res.headers['content-type'], /^application\/json/)
  t.match(res.json(), {
    statusCode: 400,
    code: 'GH_TEMPLATE_HEADER_REQUIRED',
    error: 'Bad Request',
    message: 'The request must carry a non-empty "x-tenant" header',
    requestId: res.headers['x-request-id'],
  })
  t.equal(HeaderRequired.code, 'GH_TEMPLATE_HEADER_REQUIRED')
  t.equal(upstream.requests.length, 0, 'the upstream is never called')
})

t.test('an empty or blank required header counts as missing', async (t) => {
  const { upstream, gw } = await setup(t, { requiredHeaders: ['x-tenant'] })
  for (const value of ['', '   ']) {
    const res = await gw.request({ path: '/echo', headers: { 'x-tenant': value } })
    t.equal(res.status, 400, `value ${JSON.stringify(value)}`)
    t.equal(res.json().code, 'GH_TEMPLATE_HEADER_REQUIRED')
  }
  t.equal(upstream.requests.length, 0)
})

t.test('a request with every required header passes, in any case, with its value intact', async (t) => {
  const { upstream, gw } = await setup(t, { requiredHeaders: ['x-tenant', 'x-client'] })
  const res = await gw.request({ path: '/echo/x', headers: { 'X-Tenant': 'acme', 'X-CLIENT': 'web' } })
  t.equal(res.status, 200)
  t.equal(upstream.last()?.url, '/x')
  t.equal(upstream.last()?.headers['x-tenant'], 'acme')
  t.equal(upstream.last()?.headers['x-client'], 'web')
})

t.test('the first missing header is named, and the refusal carries the response headers', async (t) => {
  const { upstream, gw } = await setup(t, {
    requiredHeaders: ['x-tenant', 'x-client'],
    upstreamHeaders: { 'x-gateway': 'gatehouse' },
    responseHeaders: { 'x-powered-by': 'gatehouse' },
  })
  const res = await gw.request({ path: '/echo', headers: { 'x-tenant': 'acme' } })
  t.equal(res.status, 400)
  t.equal(res.json().code, 'GH_TEMPLATE_HEADER_REQUIRED')
  t.match(res.json().message, /"x-client"/)
  t.equal(res.headers['x-powered-by'], 'gatehouse', 'response headers are set on the refusal too')
  t.equal(upstream.requests.length, 0)
})
