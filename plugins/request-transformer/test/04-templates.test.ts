import t from 'tap'
import { transformGateway } from './helpers/gateway.js'

// Templates: compiled at load, rendered per request over the request, the consumer and ctx.shared.

t.test('templates read request headers, query, route params, consumer and ctx.shared', async (t) => {
  const { upstream, gw } = await transformGateway(t, {
    paths: ['/tenants/:tenant/items'],
    config: {
      add: {
        headers: {
          'x-tenant': '$(params.tenant)',
          'x-from-header': 'app=$(headers.X-App)',
          'x-page': 'p$(query.page)',
          'x-consumer': '$(consumer.username)/$(consumer.id)/$(consumer.customId)',
          'x-plan': '$(shared.account.plan) $(shared.account.limits[1])',
          'x-route': '$(route.name)@$(service.name) $(request.method) $(request.path)',
          'x-client': '$(client.ip)',
          'x-header-dots': '$(headers["x-dotted.name"])',
        },
        body: { owner: '$(consumer.username)', groups: '$(consumer.groups)' },
      },
    },
  })
  const res = await gw.request({
    method: 'POST',
    path: '/tenants/acme/items?page=3',
    headers: { 'x-app': 'web', 'x-user': 'ada', 'x-shared-plan': 'gold', 'x-dotted.name': 'dot' },
    body: {},
  })
  t.equal(res.status, 200)
  const seen = upstream.last()!
  const h = seen.headers
  t.equal(h['x-tenant'], 'acme')
  t.equal(h['x-from-header'], 'app=web')
  t.equal(h['x-page'], 'p3')
  t.equal(h['x-consumer'], 'ada/id-ada/c-ada')
  t.equal(h['x-plan'], 'gold 20')
  t.equal(h['x-route'], 'api@api POST /tenants/acme/items')
  t.equal(h['x-client'], '127.0.0.1')
  t.equal(h['x-header-dots'], 'dot')
  t.same(seen.json, { owner: 'ada', groups: 'staff' })
})

t.test('a template that refers to something missing renders as an empty value', async (t) => {
  const { upstream, gw } = await transformGateway(t, {
    config: {
      add: {
        headers: { 'x-consumer': 'user:$(consumer.username)', 'x-deep': '[$(shared.a.b.c[3].d)]' },
        query: { who: '$(headers.x-nobody)' },
      },
    },
  })
  const res = await gw.request({ path: '/api' })
  t.equal(res.status, 200)
  const seen = upstream.last()!
  t.equal(seen.headers['x-consumer'], 'user:')
  t.equal(seen.headers['x-deep'], '[]')
  t.equal(seen.url, '/api?who=')
})

t.test(
  'a rendered header value cannot inject a header: CR/LF from the query are percent-encoded',
  async (t) => {
    const { upstream, gw } = await transformGateway(t, {
      config: { add: { headers: { 'x-q': '$(query.v)' } } },
    })
    const res = await gw.request({ path: `/api?v=${encodeURIComponent('a\r\nx-admin: 1')}` })
    t.equal(res.status, 200)
    t.equal(upstream.last()!.headers['x-q'], 'a%0D%0Ax-admin: 1')
    t.equal(upstream.last()!.headers['x-admin'], undefined)
  },
)

t.test('repeated headers and query parameters render joined with ","', async (t) => {
  const { upstream, gw } = await transformGateway(t, {
    config: { add: { headers: { 'x-tags': '$(query.tag)' } } },
  })
  await gw.request({ path: '/api?tag=a&tag=b' })
  t.equal(upstream.last()!.headers['x-tags'], 'a,b')
})

t.test('\\$( is a literal "$("', async (t) => {
  const { upstream, gw } = await transformGateway(t, {
    config: { add: { headers: { 'x-lit': 'cost \\$(5)' } } },
  })
  await gw.request({ path: '/api' })
  t.equal(upstream.last()!.headers['x-lit'], 'cost $(5)')
})
