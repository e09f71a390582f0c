import t from 'tap'
import { transformGateway } from './helpers/gateway.js'

// replace.uri (Kong's) with route :params or uriPattern captures, and httpMethod.

t.test('versioning: /v2/users/:id goes to /v1/users/:id upstream', async (t) => {
  const { upstream, gw } = await transformGateway(t, {
    paths: ['/v2/users/:id'],
    config: { replace: { uri: '/v1/users/$(params.id)' } },
  })
  const res = await gw.request({ path: '/v2/users/42?expand=1' })
  t.equal(res.status, 200)
  t.equal(upstream.last()!.url, '/v1/users/42?expand=1', 'the query string is kept')
})

t.test('a decoded param is re-encoded in the path', async (t) => {
  const { upstream, gw } = await transformGateway(t, {
    paths: ['/v2/files/:name'],
    escapedSlashes: 'keep',
    config: { replace: { uri: '/v1/files/$(params.name)' } },
  })
  await gw.request({ path: '/v2/files/a%20b%2Fc' })
  t.equal(upstream.last()!.url, '/v1/files/a%20b%2Fc')
})

t.test('uriPattern captures, numbered and named', async (t) => {
  const { upstream, gw } = await transformGateway(t, {
    paths: ['/v2'],
    config: {
      uriPattern: '^/v2/(?<resource>[a-z]+)/(.*)$',
      replace: { uri: '/internal/$(captures.resource)/v1/$(captures.2)' },
    },
  })
  await gw.request({ path: '/v2/orders/7/lines' })
  t.equal(upstream.last()!.url, '/internal/orders/v1/7/lines')
})

t.test('when uriPattern does not match, the path is left alone', async (t) => {
  const { upstream, gw } = await transformGateway(t, {
    config: { uriPattern: '^/api/old/(.*)$', replace: { uri: '/new/$(captures.1)' } },
  })
  await gw.request({ path: '/api/current/x' })
  t.equal(upstream.last()!.url, '/api/current/x')
  await gw.request({ path: '/api/old/x' })
  t.equal(upstream.last()!.url, '/new/x')
})

t.test('replace.uri sets the whole upstream path, after strip-path and the service base path', async (t) => {
  const { upstream, gw } = await transformGateway(t, {
    stripPath: true,
    serviceUrlPath: '/base',
    config: { replace: { uri: '/elsewhere$(request.path)' } },
  })
  await gw.request({ path: '/api/x' })
  t.equal(upstream.last()!.url, '/elsewhere/api/x')
})

t.test('a value that would add a dot segment is refused with 400, never sent upstream', async (t) => {
  const { upstream, gw } = await transformGateway(t, {
    config: { replace: { uri: '/files/$(headers.x-dir)/list' } },
  })
  const res = await gw.request({ path: '/api', headers: { 'x-dir': '..' } })
  t.equal(res.status, 400)
  t.equal(res.json().code, 'GH_REQUEST_TRANSFORMER_PATH_INVALID')
  t.equal(upstream.requests.length, 0)
  // A slash in a value is encoded; the dot segments it would hide from an upstream that decodes
  // `%2F` are refused by core (docs/security.md#path-confusion).
  const hidden = await gw.request({ path: '/api', headers: { 'x-dir': '../../admin' } })
  t.equal(hidden.status, 400)
  t.equal(hidden.json().code, 'GH_REQUEST_PATH_INVALID')
  t.equal(upstream.requests.length, 0)
})

t.test('httpMethod changes the method sent upstream', async (t) => {
  const { upstream, gw } = await transformGateway(t, { config: { httpMethod: 'POST' } })
  const res = await gw.request({ method: 'GET', path: '/api/search?q=1' })
  t.equal(res.status, 200)
  t.equal(upstream.last()!.method, 'POST')
  t.equal(upstream.last()!.url, '/api/search?q=1')
})

t.test('httpMethod with a body operation: a PUT with JSON becomes a POST with the new body', async (t) => {
  const { upstream, gw } = await transformGateway(t, {
    config: { httpMethod: 'POST', add: { body: { via: 'put' } } },
  })
  await gw.request({ method: 'PUT', path: '/api', body: { a: 1 } })
  t.equal(upstream.last()!.method, 'POST')
  t.same(upstream.last()!.json, { a: 1, via: 'put' })
})
