import t from 'tap'
import { json, transformGateway } from './helpers/gateway.js'

// Response headers (on every response) and the status mapping (upstream responses only).

t.test('remove, rename, replace, add and append on response headers, in that order', async (t) => {
  const { gw } = await transformGateway(t, {
    routes: {
      '/h': json(
        { ok: true },
        { 'x-powered-by': 'php', 'x-old': 'moved', server: 'apache', 'x-keep': 'upstream', 'x-multi': 'one' },
      ),
    },
    config: {
      remove: { headers: ['X-Powered-By'] },
      rename: { headers: { 'x-old': 'x-new', 'x-absent': 'x-never' } },
      replace: { headers: { server: 'gatehouse', 'x-absent': 'never' } },
      add: { headers: { 'x-added': 'a', 'x-keep': 'not-used', 'x-new': 'not-used' } },
      append: { headers: { 'x-multi': 'two', 'x-fresh': 'only' } },
    },
  })
  const res = await gw.request({ path: '/h' })
  t.equal(res.status, 200)
  t.equal(res.headers['x-powered-by'], undefined)
  t.equal(res.headers['x-old'], undefined)
  t.equal(res.headers['x-new'], 'moved')
  t.equal(res.headers['x-never'], undefined)
  t.equal(res.headers.server, 'gatehouse')
  t.equal(res.headers['x-absent'], undefined)
  t.equal(res.headers['x-added'], 'a')
  t.equal(res.headers['x-keep'], 'upstream')
  t.equal(res.headers['x-multi'], 'one, two')
  t.equal(res.headers['x-fresh'], 'only')
  t.same(res.json(), { ok: true })
})

t.test('header values can be templates over the request', async (t) => {
  const { gw } = await transformGateway(t, {
    routes: { '/t': json({}) },
    config: { add: { headers: { 'x-served-for': '$(consumer.username)@$(shared.region) q=$(query.q)' } } },
  })
  const res = await gw.request({ path: '/t?q=1', headers: { 'x-user': 'ada', 'x-region': 'eu' } })
  t.equal(res.headers['x-served-for'], 'ada@eu q=1')
})

t.test('header operations apply to error responses too; their status and body stay', async (t) => {
  const { gw, upstream } = await transformGateway(t, {
    routes: {},
    config: { add: { headers: { 'x-gw': '1' } }, status: { '5xx': 200 }, remove: { body: ['code'] } },
  })
  await upstream.close()
  const res = await gw.request({ path: '/down' })
  t.equal(res.status, 502)
  t.equal(res.headers['x-gw'], '1')
  t.equal(res.json().code, 'GH_UPSTREAM_UNREACHABLE')
})

t.test('status mapping: an exact code wins over its class; others pass', async (t) => {
  const { gw } = await transformGateway(t, {
    routes: {
      '/missing': json({ error: 'nope' }, {}, 404),
      '/teapot': json({}, {}, 418),
      '/broken': json({}, {}, 500),
      '/busy': json({}, {}, 503),
      '/fine': json({}, {}, 201),
    },
    config: { status: { '404': 200, '4xx': 400, '503': 429, '5xx': 502 } },
  })
  t.equal((await gw.request({ path: '/missing' })).status, 200)
  t.equal((await gw.request({ path: '/teapot' })).status, 400)
  t.equal((await gw.request({ path: '/broken' })).status, 502)
  t.equal((await gw.request({ path: '/busy' })).status, 429)
  const fine = await gw.request({ path: '/fine' })
  t.equal(fine.status, 201)
  const missing = await gw.request({ path: '/missing' })
  t.same(missing.json(), { error: 'nope' }, 'the body is kept')
})
