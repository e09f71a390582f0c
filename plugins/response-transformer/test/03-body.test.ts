import http from 'node:http'
import { setTimeout as sleep } from 'node:timers/promises'
import { startGateway } from '@gatehousejs/sdk/testing'
import t from 'tap'
import responseTransformer from '../src/index.js'
import { json, routedUpstream, transformGateway } from './helpers/gateway.js'

// JSON response bodies: dot paths, arrays, order, templates; everything else passes through.

t.test('dot paths into nested objects and arrays, every operation in order', async (t) => {
  const { gw } = await transformGateway(t, {
    routes: {
      '/user': json({
        id: 7,
        internal: { shard: 3 },
        profile: { mail: 'ada@example.com', address: { city: 'London' } },
        orders: [
          { id: 1, cost: 10, secret: 'a' },
          { id: 2, cost: 20, secret: 'b' },
        ],
      }),
    },
    config: {
      remove: { body: ['internal', 'orders[*].secret'] },
      rename: { body: { 'profile.mail': 'profile.email', 'orders[*].cost': 'orders[*].price' } },
      replace: { body: { 'profile.address.city': 'Paris', 'profile.address.zip': 'x' } },
      add: { body: { 'links.self': '/users/$(params.none)7', 'orders[0].first': true, id: 0 } },
      append: { body: { orders: { id: 3, price: 0 } } },
    },
  })
  const res = await gw.request({ path: '/user' })
  t.equal(res.status, 200)
  t.same(res.json(), {
    id: 7,
    profile: { email: 'ada@example.com', address: { city: 'Paris' } },
    orders: [
      { id: 1, price: 10, first: true },
      { id: 2, price: 20 },
      { id: 3, price: 0 },
    ],
    links: { self: '/users/7' },
  })
  t.equal(res.headers['content-length'], String(res.body.length))
  t.match(res.headers['content-type'], /^application\/json/)
})

t.test('a body that is an array of objects: each path applies to every element', async (t) => {
  const { gw } = await transformGateway(t, {
    routes: {
      '/list': json([
        { id: 1, pw: 'x', name: 'a' },
        { id: 2, pw: 'y' },
      ]),
    },
    config: {
      remove: { body: ['pw'] },
      rename: { body: { name: 'title' } },
      add: { body: { kind: 'user' } },
    },
  })
  t.same((await gw.request({ path: '/list' })).json(), [
    { id: 1, title: 'a', kind: 'user' },
    { id: 2, kind: 'user' },
  ])
})

t.test('templates in body values; typed with jsonTypes', async (t) => {
  const { gw } = await transformGateway(t, {
    routes: { '/me': json({ data: {} }, { 'content-type': 'application/vnd.api+json' }) },
    config: {
      add: {
        body: {
          'meta.user': '$(consumer.username)',
          'meta.region': '$(shared.region)',
          'meta.page': '$(query.page)',
        },
        jsonTypes: { 'meta.page': 'number' },
      },
    },
  })
  const res = await gw.request({ path: '/me?page=2', headers: { 'x-user': 'ada', 'x-region': 'eu' } })
  t.same(res.json(), { data: {}, meta: { user: 'ada', region: 'eu', page: 2 } })
  t.equal(res.headers['content-type'], 'application/vnd.api+json')
  const anon = await gw.request({ path: '/me' })
  t.same(anon.json(), { data: {}, meta: { user: '', region: '', page: null } }, 'missing values are empty')
})

t.test('a body no operation changes is sent byte for byte, with its validators', async (t) => {
  const raw = '{ "a" : 1 }'
  const { gw } = await transformGateway(t, {
    routes: {
      '/same': (_req, res) => {
        res
          .writeHead(200, { 'content-type': 'application/json', etag: '"v1"', 'content-md5': 'abc' })
          .end(raw)
      },
    },
    config: { remove: { body: ['absent'] } },
  })
  const res = await gw.request({ path: '/same' })
  t.equal(res.text, raw)
  t.equal(res.headers.etag, '"v1"')
  t.equal(res.headers['content-md5'], 'abc')
})

t.test('a replaced body gets a weak ETag and loses its digests', async (t) => {
  const { gw } = await transformGateway(t, {
    routes: {
      '/tagged': json(
        { a: 1, b: 2 },
        {
          etag: '"v1"',
          'content-md5': 'x',
          digest: 'sha-256=x',
          'content-digest': 'sha-256=:x:',
          'last-modified': 'Mon, 02 Jan 2006 15:04:05 GMT',
        },
      ),
      '/weak': json({ a: 1 }, { etag: 'W/"v2"' }),
    },
    config: { remove: { body: ['b'] } },
  })
  const res = await gw.request({ path: '/tagged' })
  t.same(res.json(), { a: 1 })
  t.equal(res.headers.etag, 'W/"v1"')
  t.equal(res.headers['content-md5'], undefined)
  t.equal(res.headers.digest, undefined)
  t.equal(res.headers['content-digest'], undefined)
  t.equal(res.headers['last-modified'], 'Mon, 02 Jan 2006 15:04:05 GMT')
  t.equal((await gw.request({ path: '/weak' })).headers.etag, 'W/"v2"', 'a weak ETag stays as it is')
})

t.test('invalid JSON from the upstream passes through unchanged: 200, not 500', async (t) => {
  const broken = '{"a": 1,, oops'
  const { gw } = await transformGateway(t, {
    routes: {
      '/broken': (_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(broken),
    },
    config: { remove: { body: ['a'] }, add: { headers: { 'x-seen': '1' } } },
  })
  const res = await gw.request({ path: '/broken' })
  t.equal(res.status, 200)
  t.equal(res.text, broken)
  t.equal(res.headers['x-seen'], '1', 'header operations still apply')
})

t.test('a body that is not JSON passes through unchanged', async (t) => {
  const { gw } = await transformGateway(t, {
    routes: {
      '/html': (_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<p>{"a":1}</p>'),
    },
    config: { remove: { body: ['a'] } },
  })
  t.equal((await gw.request({ path: '/html' })).text, '<p>{"a":1}</p>')
})

t.test('a body over the limit passes through unchanged (core limit, and bodyLimit)', async (t) => {
  const big = { a: 1, pad: 'x'.repeat(4000) }
  const { gw } = await transformGateway(t, {
    routes: {
      '/big': json(big),
      '/chunked': (_req, res) => {
        res.writeHead(200, { 'content-type': 'application/json' })
        res.end(JSON.stringify(big))
      },
    },
    config: { remove: { body: ['a'] } },
    limits: { responseBody: '1kb' },
  })
  for (const path of ['/big', '/chunked']) {
    const res = await gw.request({ path })
    t.equal(res.status, 200)
    t.same(res.json(), big, `${path}: unchanged and complete`)
  }
  const { gw: small } = await transformGateway(t, {
    routes: { '/big': json(big), '/tiny': json({ a: 1, b: 2 }) },
    config: { remove: { body: ['a'] }, bodyLimit: '100b' },
  })
  t.same((await small.request({ path: '/big' })).json(), big)
  t.same((await small.request({ path: '/tiny' })).json(), { b: 2 })
})

t.test('server-sent events are never buffered: events arrive while the stream is open', async (t) => {
  let finish: () => void = () => {}
  const { gw } = await transformGateway(t, {
    routes: {
      '/events': (_req, res) => {
        res.writeHead(200, { 'content-type': 'text/event-stream' })
        res.write('data: {"a":1}\n\n')
        finish = () => res.end('data: end\n\n')
      },
    },
    config: { remove: { body: ['a'] }, add: { headers: { 'x-sse': 'yes' } } },
  })
  const first = await new Promise<{
    chunk: string
    headers: http.IncomingHttpHeaders
    rest: Promise<string>
  }>((resolve, reject) => {
    http
      .get(`${gw.url}/events`, (res) => {
        res.setEncoding('utf8')
        res.once('data', (chunk: string) => {
          let rest = ''
          const done = new Promise<string>((r) => {
            res.on('data', (c: string) => {
              rest += c
            })
            res.on('end', () => r(rest))
          })
          resolve({ chunk, headers: res.headers, rest: done })
        })
      })
      .on('error', reject)
  })
  t.equal(first.chunk, 'data: {"a":1}\n\n', 'the first event arrived before the stream ended, unchanged')
  t.equal(first.headers['x-sse'], 'yes')
  await sleep(10)
  finish()
  t.equal(await first.rest, 'data: end\n\n')
})

t.test('HEAD, 204 and 304 pass through untouched', async (t) => {
  const { gw } = await transformGateway(t, {
    routes: {
      '/thing': json({ a: 1, b: 2 }, { etag: '"v1"' }),
      '/empty': (_req, res) => res.writeHead(204, { 'x-u': '1' }).end(),
      '/cached': (_req, res) => res.writeHead(304, { etag: '"v1"' }).end(),
    },
    config: { remove: { body: ['a'] }, add: { headers: { 'x-t': '1' } } },
  })
  const head = await gw.request({ method: 'HEAD', path: '/thing' })
  t.equal(head.status, 200)
  t.equal(head.body.length, 0)
  t.equal(head.headers.etag, '"v1"', 'a HEAD keeps the strong ETag: nothing was replaced')
  t.equal(head.headers['x-t'], '1')
  const empty = await gw.request({ path: '/empty' })
  t.equal(empty.status, 204)
  t.equal(empty.body.length, 0)
  t.equal(empty.headers['x-t'], '1')
  const cached = await gw.request({ path: '/cached', headers: { 'if-none-match': '"v1"' } })
  t.equal(cached.status, 304)
  t.equal(cached.body.length, 0)
  t.equal(cached.headers.etag, '"v1"')
})

t.test('stacked instances: a global and a route instance both transform, global first', async (t) => {
  const upstream = await routedUpstream(t, { '/s': json({ a: 1, b: 2, c: 3 }, { 'x-internal': '1' }) })
  const gw = await startGateway({
    t,
    plugins: [responseTransformer],
    config: {
      plugins: [
        { name: 'response-transformer', config: { remove: { headers: ['x-internal'], body: ['a'] } } },
      ],
      services: [
        {
          name: 'api',
          url: upstream.url,
          routes: [
            {
              name: 'api',
              paths: ['/'],
              plugins: [
                {
                  name: 'response-transformer',
                  config: { rename: { body: { b: 'bee' } }, add: { body: { a: 'route' } } },
                },
              ],
            },
          ],
        },
      ],
    },
  })
  const res = await gw.request({ path: '/s' })
  t.same(res.json(), { c: 3, bee: 2, a: 'route' }, "the route instance saw the global one's result")
  t.equal(res.headers['x-internal'], undefined)
})
