/**
 * Bad input gets a clear 4xx, never a crash, a hang or a request to the wrong place: malformed HTTP,
 * oversized heads, path tricks that try to leave a route's prefix, and request targets or Host headers
 * that try to make the gateway contact a server the configuration does not name.
 */
import { startGateway, startUpstream, type TestGateway, type TestUpstream } from '@gatehousejs/sdk/testing'
import t, { type Test } from 'tap'
import { ERROR_BODY_KEYS, type RawResponse, rawRequest, startRawUpstream } from './helpers/http.js'

/**
 * `api` (prefix `/api`, stripped, upstream base `/internal/api`), `admin` (prefix `/admin`, kept) and
 * `items` (`/items/:id` rewritten to `/v2/items/:id`) on two upstreams. There is no catch-all route.
 */
async function setup(tt: Test, options: Record<string, unknown> = {}) {
  const api = await startUpstream({ t: tt })
  const admin = await startUpstream({ t: tt })
  const gw = await startGateway({
    t: tt,
    options,
    config: {
      services: [
        { name: 'api', url: `${api.url}/internal/api`, routes: [{ paths: ['/api'] }] },
        { name: 'admin', url: admin.url, routes: [{ paths: ['/admin'], stripPath: false }] },
        {
          name: 'items',
          url: api.url,
          routes: [
            { name: 'items', paths: ['/items/:id'], rewrite: '/v2/items/:id' },
            { name: 'preserve', paths: ['/preserve'], preserveHost: true },
          ],
        },
      ],
    },
  })
  return { gw, api, admin }
}

function assertError(tt: Test, res: RawResponse, status: number, code: string, label: string) {
  tt.equal(res.status, status, `${label}: ${status}`)
  tt.match(res.headers['content-type'], /^application\/json/, `${label}: JSON`)
  let body: Record<string, unknown> = {}
  try {
    body = JSON.parse(res.body)
  } catch {}
  tt.same(Object.keys(body).sort(), ERROR_BODY_KEYS, `${label}: an error body`)
  tt.equal(body.code, code, `${label}: ${code}`)
}

/** Sends `GET <target>` over a raw socket (nothing rewrites the target on the way). */
function rawGet(gw: TestGateway, target: string, extraHeaders = ''): Promise<RawResponse> {
  return rawRequest(
    gw.url,
    `GET ${target} HTTP/1.1\r\nHost: gw.test\r\n${extraHeaders}Connection: close\r\n\r\n`,
  )
}

t.test('malformed HTTP → 400 JSON GH_REQUEST_MALFORMED, nothing proxied', async (t) => {
  const { gw, api, admin } = await setup(t)
  const cases: Array<[string, string]> = [
    ['binary garbage', '\x00\x01\x02garbage\r\n\r\n'],
    ['a header line without a colon', 'GET /api/x HTTP/1.1\r\nHost: gw.test\r\nBad Header Line\r\n\r\n'],
    ['a space before the colon', 'GET /api/x HTTP/1.1\r\nHost: gw.test\r\nX-A : b\r\n\r\n'],
    ['bare LF line endings', 'GET /api/x HTTP/1.1\nHost: gw.test\n\n'],
    ['a bad method token', 'G(T /api/x HTTP/1.1\r\nHost: gw.test\r\n\r\n'],
    [
      'Content-Length with Transfer-Encoding (smuggling)',
      'POST /api/x HTTP/1.1\r\nHost: gw.test\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
    ],
    [
      'two different Content-Lengths',
      'POST /api/x HTTP/1.1\r\nHost: gw.test\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab',
    ],
    ['two Host headers', 'GET /api/x HTTP/1.1\r\nHost: gw.test\r\nHost: other.test\r\n\r\n'],
    ['a Host that is not host[:port]', 'GET /api/x HTTP/1.1\r\nHost: user@gw.test/x\r\n\r\n'],
  ]
  for (const [label, data] of cases) {
    const res = await rawRequest(gw.url, data)
    assertError(t, res, 400, 'GH_REQUEST_MALFORMED', label)
  }
  t.equal(api.requests.length + admin.requests.length, 0, 'no upstream received anything')
  const after = await gw.request({ path: '/api/still-up' })
  t.equal(after.status, 200, 'the gateway still serves')
})

t.test('missing Host: 400 for HTTP/1.1; HTTP/1.0 may omit it', async (t) => {
  const { gw, api } = await setup(t)
  const res = await rawRequest(gw.url, 'GET /api/x HTTP/1.1\r\nConnection: close\r\n\r\n')
  assertError(t, res, 400, 'GH_REQUEST_HOST_MISSING', 'HTTP/1.1 without Host')
  t.equal(api.requests.length, 0, 'not proxied')
  const ok = await rawRequest(gw.url, 'GET /api/x HTTP/1.0\r\n\r\n')
  t.equal(ok.status, 200, 'HTTP/1.0 without Host is served')
  t.equal(api.last()?.url, '/internal/api/x')
})

t.test('headers over maxHeaderSize → 431 GH_REQUEST_HEADERS_TOO_LARGE', async (t) => {
  const { gw, api } = await setup(t, { maxHeaderSize: 4096 })
  const one = await rawGet(gw, '/api/x', `X-Big: ${'a'.repeat(8_000)}\r\n`)
  assertError(t, one, 431, 'GH_REQUEST_HEADERS_TOO_LARGE', 'one large header')
  const many = await rawGet(
    gw,
    '/api/x',
    Array.from({ length: 100 }, (_, i) => `X-H${i}: ${'b'.repeat(50)}\r\n`).join(''),
  )
  assertError(t, many, 431, 'GH_REQUEST_HEADERS_TOO_LARGE', 'many small headers')
  const longTarget = await rawGet(gw, `/api/${'c'.repeat(8_000)}`)
  assertError(t, longTarget, 431, 'GH_REQUEST_HEADERS_TOO_LARGE', 'a long request target')
  t.equal(api.requests.length, 0, 'nothing proxied')
  const fits = await rawGet(gw, '/api/x', `X-Fits: ${'a'.repeat(3_000)}\r\n`)
  t.equal(fits.status, 200, 'a head under the limit is served')
  t.equal(api.last()?.headers['x-fits'], 'a'.repeat(3_000))
})

t.test('path tricks are normalised before routing, or refused', async (t) => {
  const { gw, api, admin } = await setup(t)
  type Where = ['api' | 'admin', string] | [404] | [400]
  // Decision: the path is resolved like a URL (RFC 3986 §5.2.4) *before* routing, so a request reaches
  // exactly the route its resolved path names; it can never be proxied under one prefix and resolve to
  // another behind it. Anything that could climb above the root, or hides a dot segment, is refused.
  const cases: Array<[string, Where]> = [
    ['/api/../admin', ['admin', '/admin']],
    ['/api/%2e%2e/admin', ['admin', '/admin']],
    ['/api/%2E%2e/admin/users', ['admin', '/admin/users']],
    ['/admin/../api/x', ['api', '/internal/api/x']],
    ['/api/%2E%2e/', [404]],
    ['/api/..', [404]],
    ['/api/x/%2e%2e/y', ['api', '/internal/api/y']],
    ['/api/./x', ['api', '/internal/api/x']],
    ['/api/%2e/x', ['api', '/internal/api/x']],
    ['/api/x/.', ['api', '/internal/api/x/']],
    ['/api//x', ['api', '/internal/api/x']],
    ['//api/x', ['api', '/internal/api/x']],
    ['/api/x//', ['api', '/internal/api/x/']],
    ['/api/%7euser', ['api', '/internal/api/~user']],
    // A dot segment hidden behind an encoded slash, a second layer of encoding or `;` parameters is
    // refused: an upstream that decodes before resolving dots would climb out (06-path-policy.test.ts).
    ['/api/%2F..%2Fadmin', [400]],
    ['/api/%2f..%2fadmin', [400]],
    ['/api/%252e%252e/admin', [400]],
    ['/api/..;/admin', [400]],
    ['/items/..%2Fadmin', [400]],
    ['/items/%2e%2e', [404]],
    ['/..', [400]],
    ['/%2e%2e/admin', [400]],
    ['/api/../../admin', [400]],
    ['/api/%2e%2e/%2e%2e/internal/secret', [400]],
    ['/api\\..\\admin', [400]],
    ['/api/%5c..%5cadmin', [400]],
    ['/api/x%00', [400]],
    ['/api/%00/../admin', [400]],
    ['/api/%zz', [400]],
    ['/api/%2', [400]],
  ]
  for (const [target, where] of cases) {
    const before = { api: api.requests.length, admin: admin.requests.length }
    const res = await rawGet(gw, target)
    const reached = (u: TestUpstream, n: number) => (u.requests.length > n ? u.last()?.url : undefined)
    const got = { api: reached(api, before.api), admin: reached(admin, before.admin) }
    if (where[0] === 400) {
      assertError(t, res, 400, 'GH_REQUEST_PATH_INVALID', target)
      t.same(got, { api: undefined, admin: undefined }, `${target}: reaches nothing`)
    } else if (where[0] === 404) {
      assertError(t, res, 404, 'GH_ROUTE_NOT_FOUND', target)
      t.same(got, { api: undefined, admin: undefined }, `${target}: reaches nothing`)
    } else {
      const [name, url] = where
      t.equal(res.status, 200, `${target}: 200`)
      t.same(
        got,
        { api: undefined, admin: undefined, [name]: url },
        `${target}: only ${name} received ${url}`,
      )
    }
  }
})

t.test('request targets and Host headers never pick an upstream the config did not name', async (t) => {
  const { gw, api, admin } = await setup(t)
  const attacker = await startRawUpstream(t, (socket) =>
    socket.end('HTTP/1.1 200 OK\r\ncontent-length: 6\r\nconnection: close\r\n\r\npwned!'),
  )
  const evil = `127.0.0.1:${attacker.port}`
  const upstreamSaw = () => [api.last()?.url, api.last()?.headers.host]

  // RFC 9112 §3.2.2 absolute-form: its authority takes the place of Host (routing, X-Forwarded-Host),
  // and it can only select among configured routes.
  let res = await rawGet(gw, `http://${evil}/api/x?q=1`)
  t.equal(res.status, 200, 'absolute-form: served by the configured route')
  t.same(upstreamSaw(), ['/internal/api/x?q=1', `127.0.0.1:${api.port}`])
  t.equal(
    api.last()?.headers['x-forwarded-host'],
    evil,
    'the authority, not the Host header, is forwarded as the host',
  )
  res = await rawGet(gw, 'http://evil.example/api/y')
  t.equal(res.status, 200)
  t.same(upstreamSaw(), ['/internal/api/y', `127.0.0.1:${api.port}`])
  res = await rawGet(gw, `http://${evil}/elsewhere`)
  assertError(t, res, 404, 'GH_ROUTE_NOT_FOUND', 'absolute-form to no route')
  for (const target of [`ftp://${evil}/api/x`, `file:///etc/passwd`, '*']) {
    res = await rawGet(gw, target)
    assertError(t, res, 400, 'GH_REQUEST_PATH_INVALID', `request target ${target}`)
  }
  res = await rawGet(gw, `//${evil}/api/x`)
  assertError(t, res, 404, 'GH_ROUTE_NOT_FOUND', 'a scheme-relative target is a path')

  // Host header games.
  res = await rawRequest(gw.url, `GET /api/h HTTP/1.1\r\nHost: ${evil}\r\nConnection: close\r\n\r\n`)
  t.equal(res.status, 200, 'Host naming another server: served by the configured route')
  t.same(upstreamSaw(), ['/internal/api/h', `127.0.0.1:${api.port}`])
  res = await rawRequest(gw.url, `GET /preserve HTTP/1.1\r\nHost: ${evil}\r\nConnection: close\r\n\r\n`)
  t.equal(res.status, 200, 'preserveHost: the Host is passed on…')
  t.same(upstreamSaw(), ['/', evil], '…to the configured upstream')
  res = await rawGet(gw, '/api/f', `X-Forwarded-Host: ${evil}\r\nForwarded: host=${evil}\r\n`)
  t.equal(res.status, 200)
  t.same(
    upstreamSaw(),
    ['/internal/api/f', `127.0.0.1:${api.port}`],
    'X-Forwarded-Host/Forwarded change nothing',
  )

  // CONNECT asks the gateway to open a tunnel: it never does.
  res = await rawRequest(gw.url, `CONNECT ${evil} HTTP/1.1\r\nHost: ${evil}\r\n\r\n`)
  t.equal(res.status, 405, 'CONNECT is refused with 405')
  t.match(res.raw, /"code":"GH_REQUEST_CONNECT_UNSUPPORTED"/, 'with a JSON body and a stable code')
  t.notMatch(res.raw, /pwned/)

  await new Promise((r) => setTimeout(r, 100))
  t.equal(attacker.connections, 0, 'the attacker’s server was never contacted')
  t.equal(admin.requests.length, 0)
})
