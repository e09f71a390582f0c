import zlib from 'node:zlib'
import { request } from '@gatehousejs/sdk/testing'
import t from 'tap'
import { transformGateway } from './helpers/gateway.js'

// JSON and form bodies: dot paths into nested objects and arrays, each operation, typed values.

t.test('JSON: dot paths into nested objects and arrays, every operation in order', async (t) => {
  const { upstream, gw } = await transformGateway(t, {
    config: {
      remove: { body: ['password', 'items[*].internal', 'tags[0]'] },
      rename: { body: { 'user.mail': 'user.email', 'items[*].qty': 'items[*].quantity' } },
      replace: { body: { 'user.address.city': 'Berlin', 'user.address.zip': 'never-added' } },
      add: { body: { 'meta.source': 'gateway', 'user.name': 'not-overwritten', 'items[*].currency': 'EUR' } },
      append: { body: { 'user.roles': 'auditor', history: { at: 1 } } },
    },
  })
  const body = {
    password: 'hunter2',
    tags: ['drop-me', 'keep'],
    user: { name: 'Ada', mail: 'ada@example.com', address: { city: 'London' }, roles: ['admin'] },
    items: [
      { sku: 'a', qty: 1, internal: true },
      { sku: 'b', qty: 2, internal: false },
    ],
  }
  const res = await gw.request({ method: 'POST', path: '/api/orders', body })
  t.equal(res.status, 200)
  const seen = upstream.last()!
  t.same(seen.json, {
    tags: ['keep'],
    user: {
      name: 'Ada',
      email: 'ada@example.com',
      address: { city: 'Berlin' },
      roles: ['admin', 'auditor'],
    },
    items: [
      { sku: 'a', quantity: 1, currency: 'EUR' },
      { sku: 'b', quantity: 2, currency: 'EUR' },
    ],
    meta: { source: 'gateway' },
    history: [{ at: 1 }],
  })
  t.equal(seen.headers['content-length'], String(seen.body.length), 'content-length matches the new body')
  t.match(seen.headers['content-type'], /^application\/json/)
})

t.test('JSON: a top-level array applies each path to every element (as Kong does)', async (t) => {
  const { upstream, gw } = await transformGateway(t, {
    config: {
      remove: { body: ['secret'] },
      add: { body: { 'flags.seen': true } },
      replace: { body: { '[0].id': 0 } },
    },
  })
  await gw.request({
    method: 'POST',
    path: '/api',
    body: [
      { id: 1, secret: 'x' },
      { id: 2, secret: 'y', flags: {} },
    ],
  })
  t.same(upstream.last()!.json, [
    { id: 0, flags: { seen: true } },
    { id: 2, flags: { seen: true } },
  ])
})

t.test('JSON: values keep their JSON type; templates can be typed with jsonTypes', async (t) => {
  const { upstream, gw } = await transformGateway(t, {
    config: {
      add: {
        body: {
          count: '$(query.n)',
          enabled: '$(query.on)',
          raw: '$(query.n)',
          obj: '$(query.obj)',
          bad: '$(query.missing)',
          literal: { nested: [1, null, false] },
          n: 3,
        },
        jsonTypes: { count: 'number', enabled: 'boolean', obj: 'json', bad: 'number' },
      },
    },
  })
  await gw.request({
    method: 'PUT',
    path: `/api?n=42&on=true&obj=${encodeURIComponent('{"a":[1]}')}`,
    body: {},
  })
  t.same(upstream.last()!.json, {
    count: 42,
    enabled: true,
    raw: '42',
    obj: { a: [1] },
    bad: null,
    literal: { nested: [1, null, false] },
    n: 3,
  })
})

t.test('JSON: a configured object value is not shared between requests', async (t) => {
  const { upstream, gw } = await transformGateway(t, {
    config: { add: { body: { list: [] } }, append: { body: { list: 'x' } } },
  })
  await gw.request({ method: 'POST', path: '/api', body: {} })
  await gw.request({ method: 'POST', path: '/api', body: {} })
  t.same(upstream.last()!.json, { list: ['x'] })
})

t.test('JSON: an empty JSON body starts as {}, so add can create one', async (t) => {
  const { upstream, gw } = await transformGateway(t, { config: { add: { body: { created: 'yes' } } } })
  await gw.request({ method: 'POST', path: '/api', headers: { 'content-type': 'application/json' } })
  t.same(upstream.last()!.json, { created: 'yes' })
})

t.test('JSON: a body nobody changes is sent as received', async (t) => {
  const { upstream, gw } = await transformGateway(t, { config: { remove: { body: ['absent'] } } })
  const raw = '{ "b": 1,   "a": [2] }'
  await gw.request({
    method: 'POST',
    path: '/api',
    headers: { 'content-type': 'application/json' },
    body: raw,
  })
  t.equal(upstream.last()!.body.toString(), raw)
})

t.test('JSON: a gzip-encoded request body is decoded, transformed and sent plain', async (t) => {
  const { upstream, gw } = await transformGateway(t, { config: { rename: { body: { a: 'b' } } } })
  const res = await gw.request({
    method: 'POST',
    path: '/api',
    headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
    body: zlib.gzipSync(JSON.stringify({ a: 1 })),
  })
  t.equal(res.status, 200)
  t.same(upstream.last()!.json, { b: 1 })
  t.equal(upstream.last()!.headers['content-encoding'], undefined)
})

t.test('JSON: malformed JSON is refused by core with 400 before the plugin runs', async (t) => {
  const { upstream, gw } = await transformGateway(t, { config: { add: { body: { a: 1 } } } })
  const res = await gw.request({
    method: 'POST',
    path: '/api',
    headers: { 'content-type': 'application/json' },
    body: '{"a":',
  })
  t.equal(res.status, 400)
  t.equal(res.json().code, 'GH_REQUEST_BODY_INVALID')
  t.equal(upstream.requests.length, 0)
})

t.test('forms: url-encoded fields by name, each operation', async (t) => {
  const { upstream, gw } = await transformGateway(t, {
    config: {
      remove: { body: ['csrf'] },
      rename: { body: { user: 'username' } },
      replace: { body: { plan: 'pro', absent: 'x' } },
      add: { body: { source: 'gw-$(headers.x-app)', plan: 'never' } },
      append: { body: { tag: 'b' } },
    },
  })
  const res = await gw.request({
    method: 'POST',
    path: '/api/form',
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-app': 'web' },
    body: 'csrf=t0k&user=ada&plan=free&tag=a&note=caf%C3%A9',
  })
  t.equal(res.status, 200)
  const seen = upstream.last()!
  const form = new URLSearchParams(seen.body.toString())
  t.equal(form.get('csrf'), null)
  t.equal(form.get('user'), null)
  t.equal(form.get('username'), 'ada')
  t.equal(form.get('plan'), 'pro')
  t.equal(form.get('absent'), null)
  t.equal(form.get('source'), 'gw-web')
  t.same(form.getAll('tag'), ['a', 'b'])
  t.equal(form.get('note'), 'café')
  t.equal(seen.headers['content-length'], String(seen.body.length))
  t.match(seen.headers['content-type'], /^application\/x-www-form-urlencoded/)
})

t.test('a body that is neither JSON nor a form streams through unchanged', async (t) => {
  const { upstream, gw } = await transformGateway(t, { config: { add: { body: { a: 1 } } } })
  const res = await request(gw.url, {
    method: 'POST',
    path: '/api',
    headers: { 'content-type': 'text/plain' },
    body: 'just text',
  })
  t.equal(res.status, 200)
  t.equal(upstream.last()!.body.toString(), 'just text')
})

t.test(
  'without a body operation the body is not read: a large body streams past the body limit',
  async (t) => {
    const { upstream, gw } = await transformGateway(t, {
      config: { add: { headers: { 'x-a': '1' } } },
      limits: { requestBody: '1kb' },
    })
    const big = JSON.stringify({ data: 'x'.repeat(4096) })
    const res = await gw.request({
      method: 'POST',
      path: '/api',
      headers: { 'content-type': 'application/json' },
      body: big,
    })
    t.equal(res.status, 200)
    t.equal(upstream.last()!.body.length, big.length)
  },
)

t.test('with a body operation, a body over limits.requestBody is refused with 413', async (t) => {
  const { upstream, gw } = await transformGateway(t, {
    config: { add: { body: { a: 1 } } },
    limits: { requestBody: '1kb' },
  })
  const res = await gw.request({
    method: 'POST',
    path: '/api',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ data: 'x'.repeat(4096) }),
  })
  t.equal(res.status, 413)
  t.equal(res.json().code, 'GH_REQUEST_BODY_TOO_LARGE')
  t.equal(upstream.requests.length, 0)
})
