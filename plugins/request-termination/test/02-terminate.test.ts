import type { GatewayConfig } from '@gatehousejs/core'
import { startGateway, startUpstream } from '@gatehousejs/sdk/testing'
import t, { type Test } from 'tap'
import requestTermination from '../src/index.js'

async function setup(t: Test, config: Record<string, unknown>) {
  const upstream = await startUpstream({ t })
  const gatewayConfig: GatewayConfig = {
    services: [
      {
        name: 'api',
        url: upstream.url,
        routes: [
          { name: 'legacy', paths: ['/legacy'], plugins: [{ name: 'request-termination', config }] },
          { name: 'live', paths: ['/live'] },
        ],
      },
    ],
  }
  const gw = await startGateway({ t, plugins: [requestTermination], config: gatewayConfig })
  return { upstream, gw }
}

t.test('the default: 503 with Kong’s message, and no upstream call', async (t) => {
  const { upstream, gw } = await setup(t, {})
  const res = await gw.request({ path: '/legacy/x' })
  t.equal(res.status, 503)
  t.match(res.headers['content-type'], /^application\/json/)
  t.same(res.json(), { message: 'Service unavailable' })
  t.ok(res.headers['x-request-id'], 'the request id is still sent')
  t.equal(upstream.requests.length, 0)
  const live = await gw.request({ path: '/live' })
  t.equal(live.status, 200, 'other routes are not affected')
  t.equal(upstream.requests.length, 1)
})

t.test('a status and message, with extra headers (maintenance with Retry-After)', async (t) => {
  const { upstream, gw } = await setup(t, {
    statusCode: 503,
    message: 'Down for maintenance until 14:00 UTC',
    headers: { 'Retry-After': '3600' },
  })
  const res = await gw.request({ method: 'POST', path: '/legacy', body: { a: 1 } })
  t.equal(res.status, 503)
  t.same(res.json(), { message: 'Down for maintenance until 14:00 UTC' })
  t.equal(res.headers['retry-after'], '3600')
  t.equal(upstream.requests.length, 0)
})

t.test('a raw body with its content type', async (t) => {
  const { gw } = await setup(t, {
    statusCode: 410,
    body: '<h1>Gone</h1>',
    contentType: 'text/html; charset=utf-8',
  })
  const res = await gw.request({ path: '/legacy' })
  t.equal(res.status, 410)
  t.equal(res.headers['content-type'], 'text/html; charset=utf-8')
  t.equal(res.text, '<h1>Gone</h1>')
})

t.test('a 2xx stub and a status without a default message', async (t) => {
  const stub = await setup(t, { statusCode: 200, body: '{"ok":true}' })
  const res = await stub.gw.request({ path: '/legacy' })
  t.equal(res.status, 200)
  t.same(res.json(), { ok: true })
  t.equal(stub.upstream.requests.length, 0)
  const teapot = await setup(t, { statusCode: 418 })
  const res2 = await teapot.gw.request({ path: '/legacy' })
  t.equal(res2.status, 418)
  t.equal(res2.text, '', 'no message configured and none by default')
})

t.test('trigger: only requests with the header or query parameter are terminated', async (t) => {
  const { upstream, gw } = await setup(t, { statusCode: 403, message: 'blocked', trigger: 'X-Block' })
  t.equal((await gw.request({ path: '/legacy' })).status, 200, 'no trigger: proxied')
  t.equal(upstream.requests.length, 1)
  const byHeader = await gw.request({ path: '/legacy', headers: { 'x-block': '1' } })
  t.equal(byHeader.status, 403)
  t.same(byHeader.json(), { message: 'blocked' })
  const byQuery = await gw.request({ path: '/legacy?X-Block' })
  t.equal(byQuery.status, 403)
  t.equal(upstream.requests.length, 1)
})

t.test('echo describes the request and what it matched', async (t) => {
  const { upstream, gw } = await setup(t, { statusCode: 200, echo: true, message: 'echo' })
  const res = await gw.request({
    method: 'POST',
    path: '/legacy/items?page=2',
    headers: { 'x-tenant': 'acme' },
    body: { name: 'widget' },
  })
  t.equal(res.status, 200)
  t.match(res.json(), {
    message: 'echo',
    request: {
      scheme: 'http',
      host: '127.0.0.1',
      method: 'POST',
      path: '/legacy/items',
      query: { page: '2' },
      headers: { 'x-tenant': 'acme' },
      body: { name: 'widget' },
      rawBody: '{"name":"widget"}',
      clientIp: '127.0.0.1',
    },
    matchedRoute: { name: 'legacy', service: 'api' },
    matchedService: { name: 'api', url: upstream.url },
  })
  t.equal(upstream.requests.length, 0)
})
