/**
 * The routing matrix: which route a request takes (docs/configuration.md#route-matching) and the path,
 * query and Host the chosen service receives. Every service points at one echo upstream under its own
 * base path (`/svc-<name>`), so the URL the upstream saw names the route that was taken.
 */
import type { GatewayConfig } from '@gatehousejs/sdk/config'
import { startGateway, startUpstream, type TestGateway } from '@gatehousejs/sdk/testing'
import t, { type Test } from 'tap'
import { ERROR_BODY_KEYS } from './helpers/http.js'

type Service = NonNullable<GatewayConfig['services']>[number]
type Route = NonNullable<Service['routes']>[number]

const upstream = await startUpstream({ t })

/** A service named `name` whose upstream base path is `/svc-<name>`. */
function svc(name: string, ...routes: Route[]): Service {
  return { name, url: `${upstream.url}/svc-${name}`, routes }
}

function gatewayWith(tt: Test, services: Service[]): Promise<TestGateway> {
  return startGateway({ t: tt, config: { services } })
}

interface Hit {
  status: number
  /** The URL the upstream received, or undefined when the request never reached it. */
  url: string | undefined
  host: string | undefined
}

async function hit(
  gw: TestGateway,
  path: string,
  headers: Record<string, string> = {},
  method = 'GET',
): Promise<Hit> {
  const before = upstream.requests.length
  const res = await gw.request({ method, path, headers })
  const reached = upstream.requests.length > before ? upstream.last() : undefined
  return { status: res.status, url: reached?.url, host: reached?.headers.host }
}

/** Asserts each `path → upstream URL` (or `→ 404` when the URL is null). */
async function expectRoutes(
  tt: Test,
  gw: TestGateway,
  cases: Array<[path: string, expected: string | null, headers?: Record<string, string>]>,
): Promise<void> {
  for (const [path, expected, headers] of cases) {
    const r = await hit(gw, path, headers)
    const label = `${path}${headers ? ` ${JSON.stringify(headers)}` : ''}`
    if (expected === null) {
      tt.equal(r.status, 404, `${label} → 404`)
      tt.equal(r.url, undefined, `${label} reaches no upstream`)
    } else {
      tt.equal(r.status, 200, `${label} → 200`)
      tt.equal(r.url, expected, `${label} → ${expected}`)
    }
  }
}

t.test('a prefix matches on segment boundaries, case-sensitively', async (t) => {
  const gw = await gatewayWith(t, [svc('api', { paths: ['/api'] })])
  await expectRoutes(t, gw, [
    ['/api', '/svc-api'],
    ['/api/', '/svc-api/'],
    ['/api/x', '/svc-api/x'],
    ['/api/x/y/', '/svc-api/x/y/'],
    ['/apix', null],
    ['/ap', null],
    ['/API', null],
    ['/', null],
  ])
})

t.test('an exact path (`=/x`) matches only itself and beats a prefix declared before it', async (t) => {
  const gw = await gatewayWith(t, [
    svc('prefix', { paths: ['/health'] }),
    svc('exact', { paths: ['=/health'] }),
    svc('only', { paths: ['=/only'] }),
  ])
  await expectRoutes(t, gw, [
    ['/health', '/svc-exact'],
    ['/health/', '/svc-prefix/'],
    ['/health/x', '/svc-prefix/x'],
    ['/only', '/svc-only'],
    ['/only/', null],
    ['/only/x', null],
  ])
})

t.test('`:param` captures one non-empty segment; rewrite inserts it, encoded', async (t) => {
  const gw = await gatewayWith(t, [
    svc('items', { paths: ['/items/:id'], rewrite: '/v2/item/:id', escapedSlashes: 'keep' }),
    svc('repos', { paths: ['/orgs/:org/repos/:repo'], rewrite: '/r/:repo/of/:org' }),
    svc('kept', { paths: ['/kept/:id'], stripPath: false }),
    svc('stripped', { paths: ['/stripped/:id'] }),
  ])
  await expectRoutes(t, gw, [
    ['/items/42', '/svc-items/v2/item/42'],
    ['/items/42/more?x=1', '/svc-items/v2/item/42/more?x=1'],
    ['/items/a%20b', '/svc-items/v2/item/a%20b'],
    // With `escapedSlashes: keep`, an encoded slash is data inside the parameter: it stays encoded.
    ['/items/a%2Fb', '/svc-items/v2/item/a%2Fb'],
    ['/items', null],
    ['/items/', null],
    ['/orgs/acme/repos/rocket/issues', '/svc-repos/r/rocket/of/acme/issues'],
    ['/kept/7/x', '/svc-kept/kept/7/x'],
    ['/stripped/7/x', '/svc-stripped/x'],
    ['/stripped/7', '/svc-stripped'],
  ])
})

t.test('methods: listed methods only, HEAD matches a GET route, a method list beats none', async (t) => {
  const gw = await gatewayWith(t, [
    svc('rw', { paths: ['/m'], methods: ['GET', 'POST'] }),
    svc('any', { paths: ['/mm'] }),
    svc('get', { paths: ['/mm'], methods: ['GET'] }),
  ])
  let r = await hit(gw, '/m', {}, 'POST')
  t.same([r.status, r.url], [200, '/svc-rw'])
  t.equal(upstream.last()?.method, 'POST')
  r = await hit(gw, '/m', {}, 'PUT')
  t.same([r.status, r.url], [404, undefined], 'an unlisted method does not match')
  r = await hit(gw, '/m', {}, 'HEAD')
  t.same([r.status, r.url], [200, '/svc-rw'], 'HEAD takes a route that lists GET')
  t.equal(upstream.last()?.method, 'HEAD', 'and stays HEAD upstream')
  r = await hit(gw, '/mm', {}, 'GET')
  t.equal(r.url, '/svc-get', 'a route with a method list beats one without, whatever the order')
  r = await hit(gw, '/mm', {}, 'DELETE')
  t.equal(r.url, '/svc-any', 'other methods fall back to the route without a list')
})

t.test('hosts: exact beats wildcard beats none, case and port ignored, host before path', async (t) => {
  const gw = await gatewayWith(t, [
    svc('fallback', { paths: ['/'] }),
    svc('longpath', { paths: ['/deep/and/long'] }),
    svc('wild', { paths: ['/'], hosts: ['*.example.com'] }),
    svc('euwild', { paths: ['/'], hosts: ['*.eu.example.com'] }),
    svc('exact', { paths: ['/'], hosts: ['api.example.com', 'api.example.org'] }),
    svc('ported', { paths: ['/'], hosts: ['ported.example.net:8443'] }),
  ])
  await expectRoutes(t, gw, [
    ['/x', '/svc-exact/x', { host: 'api.example.com' }],
    ['/x', '/svc-exact/x', { host: 'api.example.org' }],
    ['/x', '/svc-exact/x', { host: 'API.Example.COM:8443' }],
    ['/deep/and/long', '/svc-exact/deep/and/long', { host: 'api.example.com' }],
    ['/x', '/svc-wild/x', { host: 'www.example.com' }],
    ['/x', '/svc-wild/x', { host: 'a.b.example.com:80' }],
    ['/x', '/svc-euwild/x', { host: 'shop.eu.example.com' }],
    // A wildcard needs a subdomain, and matches on a dot boundary.
    ['/x', '/svc-fallback/x', { host: 'example.com' }],
    ['/x', '/svc-fallback/x', { host: 'evilexample.com' }],
    ['/x', '/svc-fallback/x', { host: 'api.example.com.evil.net' }],
    ['/deep/and/long', '/svc-longpath', { host: 'other.net' }],
    // A port written in the route's host is ignored like the request's.
    ['/x', '/svc-ported/x', { host: 'ported.example.net:8443' }],
    ['/x', '/svc-ported/x', { host: 'ported.example.net' }],
  ])
})

t.test('header conditions: values case-insensitive, any of a list, more conditions win', async (t) => {
  const gw = await gatewayWith(t, [
    svc('plain', { paths: ['/h'] }),
    svc('v2', { paths: ['/h'], headers: { 'x-version': 'V2' } }),
    svc('v1or3', { paths: ['/h'], headers: { 'X-Version': ['v1', 'v3'] } }),
    svc('v2beta', { paths: ['/h'], headers: { 'x-version': 'v2', 'x-beta': 'yes' } }),
  ])
  await expectRoutes(t, gw, [
    ['/h', '/svc-v2', { 'x-version': 'v2' }],
    ['/h', '/svc-v2', { 'X-VERSION': 'V2' }],
    ['/h', '/svc-v1or3', { 'x-version': 'v1' }],
    ['/h', '/svc-v1or3', { 'x-version': 'V3' }],
    ['/h', '/svc-plain', { 'x-version': 'v4' }],
    ['/h', '/svc-plain', { 'x-beta': 'yes' }],
    ['/h', '/svc-plain'],
    ['/h', '/svc-v2beta', { 'x-version': 'v2', 'x-beta': 'YES' }],
  ])
})

t.test('the most specific path wins; declaration order only breaks ties', async (t) => {
  const gw = await gatewayWith(t, [
    svc('a', { paths: ['/a'] }),
    svc('ab', { paths: ['/a/b'] }),
    svc('user', { paths: ['/u/:id'] }),
    svc('me', { paths: ['/u/me'] }),
    svc('x', { paths: ['/x'] }),
    svc('xid', { paths: ['/x/:id'] }),
    svc('first', { paths: ['/dup'] }),
    svc('second', { paths: ['/dup'] }),
  ])
  await expectRoutes(t, gw, [
    ['/a/b/c', '/svc-ab/c'],
    ['/a/bc', '/svc-a/bc'],
    ['/a/x', '/svc-a/x'],
    ['/u/me', '/svc-me'],
    ['/u/42', '/svc-user'],
    ['/x/1', '/svc-xid'],
    ['/x', '/svc-x'],
    ['/dup/z', '/svc-first/z'],
  ])
})

t.test('stripPath, rewrite and the service base path join without doubled or lost slashes', async (t) => {
  const gw = await startGateway({
    t,
    config: {
      services: [
        { name: 'base', url: `${upstream.url}/api`, routes: [{ paths: ['/users'] }] },
        { name: 'slash', url: `${upstream.url}/api/`, routes: [{ paths: ['/people'] }] },
        { name: 'root', url: upstream.url, routes: [{ paths: ['/bare'] }] },
        { name: 'keep', url: `${upstream.url}/api`, routes: [{ paths: ['/keep'], stripPath: false }] },
        { name: 'rw', url: `${upstream.url}/api`, routes: [{ paths: ['/old'], rewrite: '/new/' }] },
        { name: 'rwroot', url: upstream.url, routes: [{ paths: ['/to-root'], rewrite: '/' }] },
        { name: 'trailing', url: upstream.url, routes: [{ paths: ['/slashed/'] }] },
      ],
    },
  })
  await expectRoutes(t, gw, [
    ['/users', '/api'],
    ['/users/', '/api/'],
    ['/users/7', '/api/7'],
    ['/users/7/', '/api/7/'],
    ['/people/7', '/api/7'],
    ['/people', '/api'],
    ['/bare', '/'],
    ['/bare/7', '/7'],
    ['/keep', '/api/keep'],
    ['/keep/7', '/api/keep/7'],
    ['/old', '/api/new/'],
    ['/old/7', '/api/new/7'],
    ['/to-root', '/'],
    ['/to-root/7', '/7'],
    ['/slashed/7', '/7'],
    ['/slashed/', '/'],
    ['/slashed', null],
  ])
})

t.test('the query string reaches the upstream byte for byte', async (t) => {
  const gw = await gatewayWith(t, [svc('q', { paths: ['/q'] })])
  const query = '?b=2&a=%20&a=1&flag&enc=%2e%2e%2F..&plus=a+b&utf=%C3%A9'
  await expectRoutes(t, gw, [[`/q/x${query}`, `/svc-q/x${query}`]])
})

t.test('the Host sent upstream is the service’s, or the client’s with preserveHost', async (t) => {
  const gw = await gatewayWith(t, [
    svc('own', { paths: ['/own'] }),
    svc('preserve', { paths: ['/preserve'], preserveHost: true }),
  ])
  let r = await hit(gw, '/own', { host: 'public.example:8080' })
  t.equal(r.host, `127.0.0.1:${upstream.port}`)
  r = await hit(gw, '/preserve', { host: 'public.example:8080' })
  t.equal(r.host, 'public.example:8080')
})

t.test('no matching route: 404 GH_ROUTE_NOT_FOUND with the request id, upstream untouched', async (t) => {
  const gw = await gatewayWith(t, [svc('api', { paths: ['/api'], methods: ['GET'] })])
  for (const [method, path] of [
    ['GET', '/nothing/here?x=1'],
    ['POST', '/api'],
  ] as const) {
    const before = upstream.requests.length
    const res = await gw.request({ method, path })
    t.equal(res.status, 404, `${method} ${path}`)
    t.match(res.headers['content-type'], /^application\/json/)
    const body = res.json()
    t.same(Object.keys(body).sort(), ERROR_BODY_KEYS)
    t.equal(body.statusCode, 404)
    t.equal(body.code, 'GH_ROUTE_NOT_FOUND')
    t.equal(body.error, 'Not Found')
    t.type(body.message, 'string')
    t.match(body.requestId, /^[0-9a-f-]{36}$/)
    t.equal(body.requestId, res.headers['x-request-id'], 'the body names the id of the response header')
    t.equal(upstream.requests.length, before, 'the upstream received nothing')
  }
})

t.test('a matched request is proxied with a generated request id', async (t) => {
  const gw = await gatewayWith(t, [svc('echo', { paths: ['/echo'] })])
  const res = await gw.request({ path: '/echo/hello?x=1' })
  t.equal(res.status, 200)
  t.equal(upstream.last()?.url, '/svc-echo/hello?x=1')
  t.match(res.headers['x-request-id'], /^[0-9a-f-]{36}$/)
  t.equal(upstream.last()?.headers['x-request-id'], res.headers['x-request-id'])
})
