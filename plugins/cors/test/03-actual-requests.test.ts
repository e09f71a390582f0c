import type { GatewayConfig } from '@gatehousejs/core'
import { defineError, definePlugin, PRIORITY } from '@gatehousejs/sdk'
import { startGateway, startUpstream } from '@gatehousejs/sdk/testing'
import t, { type Test } from 'tap'
import cors from '../src/index.js'

// Actual requests: CORS headers on every response with an allowed Origin, including the gateway's
// own errors, so a page can read why its request failed.

const Unauthorized = defineError('GH_TEST_UNAUTHORIZED', 401, 'Who are you?')
const Limited = defineError('GH_TEST_LIMITED', 429, 'Slow down')

/** A stand-in for auth and rate limiting: refuses by header, ranked after cors like the real ones. */
const guard = definePlugin({
  name: 'guard',
  version: '1.0.0',
  priority: PRIORITY.auth,
  init() {
    return {
      access(ctx) {
        if (ctx.request.headers['x-refuse'] === '401')
          throw Unauthorized().withHeaders({ 'www-authenticate': 'Key' })
        if (ctx.request.headers['x-refuse'] === '429') throw Limited()
      },
    }
  },
})

async function setup(
  t: Test,
  config: Record<string, unknown>,
  handler?: NonNullable<Parameters<typeof startUpstream>[0]>['handler'],
) {
  const upstream = await startUpstream({ t, handler })
  const gatewayConfig: GatewayConfig = {
    services: [{ name: 'api', url: upstream.url, routes: [{ name: 'api', paths: ['/api'] }] }],
    plugins: [{ name: 'cors', config }, { name: 'guard' }],
  }
  const gw = await startGateway({ t, plugins: [cors, guard], config: gatewayConfig })
  return { upstream, gw }
}

const ORIGIN = 'https://app.example.com'

t.test(
  'an allowed origin gets allow-origin, credentials and exposed headers; Vary is appended',
  async (t) => {
    const { upstream, gw } = await setup(
      t,
      { origins: [ORIGIN], credentials: true, exposedHeaders: ['X-Total-Count', 'ETag'] },
      (_req, res) => {
        res.writeHead(200, { 'content-type': 'text/plain', vary: 'Accept-Encoding' })
        res.end('hello')
      },
    )
    const res = await gw.request({
      method: 'POST',
      path: '/api/items',
      headers: { origin: ORIGIN },
      body: { a: 1 },
    })
    t.equal(res.status, 200)
    t.equal(res.text, 'hello')
    t.equal(res.headers['access-control-allow-origin'], ORIGIN)
    t.equal(res.headers['access-control-allow-credentials'], 'true')
    t.equal(res.headers['access-control-expose-headers'], 'x-total-count, etag')
    t.equal(res.headers.vary, 'Accept-Encoding, Origin', 'the upstream’s Vary is kept')
    t.equal(res.headers['access-control-allow-methods'], undefined, 'preflight-only headers are not sent')
    t.equal(upstream.last()?.headers.origin, ORIGIN, 'the upstream still sees the Origin')
  },
)

t.test('a disallowed origin gets no allow headers, even ones the upstream set', async (t) => {
  const { upstream, gw } = await setup(t, { origins: [ORIGIN], exposedHeaders: ['x-a'] }, (_req, res) => {
    res.writeHead(200, { 'access-control-allow-origin': '*', 'access-control-allow-credentials': 'true' })
    res.end('{}')
  })
  const res = await gw.request({ path: '/api', headers: { origin: 'https://evil.example.net' } })
  t.equal(res.status, 200, 'the request itself is not refused: the browser enforces CORS')
  t.equal(upstream.requests.length, 1)
  t.equal(res.headers['access-control-allow-origin'], undefined)
  t.equal(res.headers['access-control-allow-credentials'], undefined)
  t.equal(res.headers['access-control-expose-headers'], undefined)
  t.equal(res.headers.vary, 'Origin')
})

t.test('a request without Origin gets Vary: Origin but no CORS headers', async (t) => {
  const { gw } = await setup(t, { origins: [ORIGIN] })
  const res = await gw.request({ path: '/api' })
  t.equal(res.status, 200)
  t.equal(res.headers['access-control-allow-origin'], undefined)
  t.equal(res.headers.vary, 'Origin')
})

t.test(
  'any origin without credentials: `*`, and no Vary since the answer does not depend on it',
  async (t) => {
    const { gw } = await setup(t, {}, (_req, res) => {
      // An upstream that claims credentials: `*` with credentials must never reach the browser.
      res.writeHead(200, { 'access-control-allow-credentials': 'true' })
      res.end('{}')
    })
    const res = await gw.request({ path: '/api', headers: { origin: 'https://anyone.example' } })
    t.equal(res.headers['access-control-allow-origin'], '*')
    t.equal(res.headers.vary, undefined)
    t.equal(res.headers['access-control-allow-credentials'], undefined, 'never together with `*`')
  },
)

t.test('credentials never go with `*`: the origin is reflected', async (t) => {
  const { gw } = await setup(t, { origins: ['*'], credentials: true })
  const res = await gw.request({ path: '/api', headers: { origin: 'https://anyone.example' } })
  t.equal(res.headers['access-control-allow-origin'], 'https://anyone.example')
  t.equal(res.headers['access-control-allow-credentials'], 'true')
  t.equal(res.headers.vary, 'Origin')
})

t.test('gateway errors carry CORS headers: 401, 429, 404 and 502', async (t) => {
  const { upstream, gw } = await setup(t, {
    origins: ['https://*.example.com'],
    credentials: true,
    exposedHeaders: ['www-authenticate'],
  })
  const headers = { origin: ORIGIN }
  const unauthorized = await gw.request({ path: '/api', headers: { ...headers, 'x-refuse': '401' } })
  t.equal(unauthorized.status, 401)
  t.equal(unauthorized.json().code, 'GH_TEST_UNAUTHORIZED')
  t.equal(unauthorized.headers['www-authenticate'], 'Key')
  t.equal(unauthorized.headers['access-control-allow-origin'], ORIGIN)
  t.equal(unauthorized.headers['access-control-allow-credentials'], 'true')
  t.equal(unauthorized.headers['access-control-expose-headers'], 'www-authenticate')

  const limited = await gw.request({ path: '/api', headers: { ...headers, 'x-refuse': '429' } })
  t.equal(limited.status, 429)
  t.equal(limited.headers['access-control-allow-origin'], ORIGIN)

  const missing = await gw.request({ path: '/nowhere', headers })
  t.equal(missing.status, 404)
  t.equal(missing.json().code, 'GH_ROUTE_NOT_FOUND')
  t.equal(missing.headers['access-control-allow-origin'], ORIGIN, 'the global instance runs on 404s')
  t.equal(upstream.requests.length, 0)

  await upstream.close()
  const down = await gw.request({ path: '/api', headers })
  t.equal(down.status, 502)
  t.equal(down.json().code, 'GH_UPSTREAM_UNREACHABLE')
  t.equal(down.headers['access-control-allow-origin'], ORIGIN)
  t.equal(down.headers.vary, 'Origin')
})
