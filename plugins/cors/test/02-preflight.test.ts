import type { GatewayConfig } from '@gatehousejs/core'
import { startGateway, startUpstream } from '@gatehousejs/sdk/testing'
import t, { type Test } from 'tap'
import cors from '../src/index.js'

// Preflights (OPTIONS + Origin + Access-Control-Request-Method) are answered by the gateway: the
// upstream never sees them.

async function setup(t: Test, config: Record<string, unknown>, route: Record<string, unknown> = {}) {
  const upstream = await startUpstream({ t })
  const gatewayConfig: GatewayConfig = {
    services: [{ name: 'api', url: upstream.url, routes: [{ name: 'api', paths: ['/api'], ...route }] }],
    plugins: [{ name: 'cors', config }],
  }
  const gw = await startGateway({ t, plugins: [cors], config: gatewayConfig })
  return { upstream, gw }
}

function preflight(origin: string, extra: Record<string, string> = {}) {
  return {
    method: 'OPTIONS',
    path: '/api/items',
    headers: { origin, 'access-control-request-method': 'PUT', ...extra },
  }
}

function vary(h: Record<string, unknown>): string[] {
  return String(h.vary ?? '')
    .split(',')
    .map((s) => s.trim().toLowerCase())
}

t.test(
  'an exact origin: answered by the gateway, with the default methods and reflected headers',
  async (t) => {
    const { upstream, gw } = await setup(t, { origins: ['https://app.example.com'] })
    const res = await gw.request(
      preflight('https://app.example.com', { 'access-control-request-headers': 'X-Tenant, Content-Type' }),
    )
    t.equal(res.status, 200)
    t.equal(res.headers['access-control-allow-origin'], 'https://app.example.com')
    t.equal(
      res.headers['access-control-allow-methods'],
      'GET, HEAD, PUT, PATCH, POST, DELETE, OPTIONS, TRACE, CONNECT',
    )
    t.equal(res.headers['access-control-allow-headers'], 'x-tenant, content-type')
    t.ok(vary(res.headers).includes('origin'))
    t.ok(vary(res.headers).includes('access-control-request-headers'))
    t.equal(res.headers['access-control-allow-credentials'], undefined)
    t.equal(res.headers['access-control-max-age'], undefined)
    t.equal(res.text, '')
    t.equal(upstream.requests.length, 0, 'the upstream never sees a preflight')
  },
)

t.test('an exact origin is compared as an origin: case and default port do not matter', async (t) => {
  const { gw } = await setup(t, { origins: ['https://App.Example.com:443'] })
  const res = await gw.request(preflight('https://app.example.com'))
  t.equal(res.headers['access-control-allow-origin'], 'https://app.example.com')
  const other = await gw.request(preflight('https://app.example.com:8443'))
  t.equal(other.headers['access-control-allow-origin'], undefined, 'another port is another origin')
  const http = await gw.request(preflight('http://app.example.com'))
  t.equal(http.headers['access-control-allow-origin'], undefined, 'another scheme is another origin')
})

t.test('a disallowed origin gets an answer without any allow header, and no upstream call', async (t) => {
  const { upstream, gw } = await setup(t, { origins: ['https://app.example.com'], credentials: true })
  const res = await gw.request(preflight('https://evil.example.net'))
  t.equal(res.status, 200)
  t.equal(res.headers['access-control-allow-origin'], undefined)
  t.equal(res.headers['access-control-allow-credentials'], undefined)
  t.equal(res.headers['access-control-allow-methods'], undefined)
  t.ok(vary(res.headers).includes('origin'))
  t.equal(upstream.requests.length, 0)
})

t.test('a wildcard subdomain matches subdomains at any depth, not the apex or look-alikes', async (t) => {
  const { gw } = await setup(t, { origins: ['https://*.example.com'] })
  for (const origin of ['https://a.example.com', 'https://a.b.example.com']) {
    const res = await gw.request(preflight(origin))
    t.equal(res.headers['access-control-allow-origin'], origin, origin)
  }
  for (const origin of [
    'https://example.com',
    'http://a.example.com',
    'https://evil-example.com',
    'https://a.example.com.evil.net',
    'https://a.example.com:8443',
  ]) {
    const res = await gw.request(preflight(origin))
    t.equal(res.headers['access-control-allow-origin'], undefined, origin)
  }
})

t.test('regular expressions: anchored, on the whole origin or (without ":") on the host', async (t) => {
  const { gw } = await setup(t, { origins: ['https://(app|admin)\\.corp\\.test', '.*\\.partner\\.test'] })
  for (const origin of ['https://app.corp.test', 'https://admin.corp.test', 'http://x.partner.test:8080']) {
    const res = await gw.request(preflight(origin))
    t.equal(res.headers['access-control-allow-origin'], origin, origin)
  }
  for (const origin of [
    'https://app.corp.test.evil.net',
    'https://evil.net/?https://app.corp.test',
    'https://partner.test',
  ]) {
    const res = await gw.request(preflight(origin))
    t.equal(res.headers['access-control-allow-origin'], undefined, origin)
  }
})

t.test('any origin without credentials answers `*` and does not vary on Origin', async (t) => {
  const { gw } = await setup(t, { headers: ['Content-Type'] })
  const res = await gw.request(preflight('https://anyone.example'))
  t.equal(res.headers['access-control-allow-origin'], '*')
  t.notOk(vary(res.headers).includes('origin'))
  t.equal(res.headers['access-control-allow-headers'], 'content-type')
})

t.test('credentials with any origin reflect the origin instead of `*`', async (t) => {
  const { gw } = await setup(t, { origins: ['*'], credentials: true })
  const res = await gw.request(preflight('https://anyone.example'))
  t.equal(res.headers['access-control-allow-origin'], 'https://anyone.example')
  t.equal(res.headers['access-control-allow-credentials'], 'true')
  t.ok(vary(res.headers).includes('origin'))
})

t.test('configured methods, headers, max-age, status and private network access', async (t) => {
  const { gw } = await setup(t, {
    origins: ['https://app.example.com'],
    methods: ['GET', 'POST'],
    headers: ['Authorization', 'X-Tenant'],
    maxAge: 600,
    preflightStatus: 204,
    privateNetwork: true,
  })
  const res = await gw.request(
    preflight('https://app.example.com', {
      'access-control-request-headers': 'x-other',
      'access-control-request-private-network': 'true',
    }),
  )
  t.equal(res.status, 204)
  t.equal(res.headers['access-control-allow-methods'], 'GET, POST')
  t.equal(res.headers['access-control-allow-headers'], 'authorization, x-tenant', 'configured, not reflected')
  t.notOk(vary(res.headers).includes('access-control-request-headers'))
  t.equal(res.headers['access-control-max-age'], '600')
  t.equal(res.headers['access-control-allow-private-network'], 'true')
  const noPna = await gw.request(preflight('https://app.example.com'))
  t.equal(noPna.headers['access-control-allow-private-network'], undefined, 'only when asked for')
})

t.test('an OPTIONS request that is not a preflight goes to the upstream', async (t) => {
  const { upstream, gw } = await setup(t, { origins: ['https://app.example.com'] })
  const res = await gw.request({
    method: 'OPTIONS',
    path: '/api/items',
    headers: { origin: 'https://app.example.com' },
  })
  t.equal(res.status, 200)
  t.equal(upstream.requests.length, 1)
  t.equal(upstream.last()?.method, 'OPTIONS')
  t.equal(res.headers['access-control-allow-origin'], 'https://app.example.com', 'an actual CORS request')
})

t.test('preflightContinue passes the preflight to the upstream and adds no CORS headers', async (t) => {
  const { upstream, gw } = await setup(t, { origins: ['https://app.example.com'], preflightContinue: true })
  const res = await gw.request(preflight('https://app.example.com'))
  t.equal(res.status, 200)
  t.equal(upstream.requests.length, 1)
  t.equal(upstream.last()?.headers['access-control-request-method'], 'PUT')
  t.equal(res.headers['access-control-allow-origin'], undefined)
})

t.test(
  'a route whose methods leave out OPTIONS: 404 in access mode, answered with preflightBeforeRouting',
  async (t) => {
    const routed = await setup(t, { origins: ['https://app.example.com'] }, { methods: ['PUT'] })
    const missed = await routed.gw.request(preflight('https://app.example.com'))
    t.equal(missed.status, 404, 'like Kong: the preflight matches no route')
    t.equal(missed.json().code, 'GH_ROUTE_NOT_FOUND')
    t.equal(
      missed.headers['access-control-allow-origin'],
      undefined,
      'a failed preflight gets no allow headers (none would make it pass)',
    )

    const early = await setup(
      t,
      { origins: ['https://app.example.com'], preflightBeforeRouting: true },
      { methods: ['PUT'] },
    )
    const res = await early.gw.request(preflight('https://app.example.com'))
    t.equal(res.status, 200)
    t.equal(res.headers['access-control-allow-origin'], 'https://app.example.com')
    t.equal(
      res.headers['access-control-allow-methods'],
      'GET, HEAD, PUT, PATCH, POST, DELETE, OPTIONS, TRACE, CONNECT',
    )
    t.equal(early.upstream.requests.length, 0)
    const actual = await early.gw.request({
      method: 'PUT',
      path: '/api/items',
      headers: { origin: 'https://app.example.com' },
    })
    t.equal(actual.status, 200)
    t.equal(actual.headers['access-control-allow-origin'], 'https://app.example.com')
  },
)

t.test('a route-scoped instance answers its route’s preflights instead of the global one', async (t) => {
  const upstream = await startUpstream({ t })
  const gw = await startGateway({
    t,
    plugins: [cors],
    config: {
      services: [
        {
          name: 'api',
          url: upstream.url,
          routes: [
            {
              name: 'admin',
              paths: ['/admin'],
              plugins: [{ name: 'cors', config: { origins: ['https://admin.example.com'], maxAge: 60 } }],
            },
            { name: 'api', paths: ['/api'] },
          ],
        },
      ],
      plugins: [{ name: 'cors', config: { origins: ['https://app.example.com'] } }],
    },
  })
  const admin = await gw.request({ ...preflight('https://admin.example.com'), path: '/admin/x' })
  t.equal(admin.headers['access-control-allow-origin'], 'https://admin.example.com')
  t.equal(admin.headers['access-control-max-age'], '60')
  const appOnAdmin = await gw.request({ ...preflight('https://app.example.com'), path: '/admin/x' })
  t.equal(appOnAdmin.headers['access-control-allow-origin'], undefined, 'the global config does not apply')
  const api = await gw.request(preflight('https://app.example.com'))
  t.equal(api.headers['access-control-allow-origin'], 'https://app.example.com')
  t.equal(upstream.requests.length, 0)
})
