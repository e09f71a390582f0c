import t from 'tap'
import { transformGateway } from './helpers/gateway.js'

// Headers and query parameters: each operation, then their fixed order.

t.test('remove, rename, replace, add and append on upstream headers', async (t) => {
  const { upstream, gw } = await transformGateway(t, {
    config: {
      remove: { headers: ['X-Internal', 'x-absent'] },
      rename: { headers: { 'x-old': 'x-new', 'x-missing': 'x-never' } },
      replace: { headers: { 'x-replace-me': 'replaced', 'x-replace-absent': 'never' } },
      add: { headers: { 'x-added': 'yes', 'x-keep': 'not-used' } },
      append: { headers: { 'x-multi': 'second', 'x-fresh': 'only' } },
    },
  })
  const res = await gw.request({
    path: '/api/h',
    headers: {
      'x-internal': 'secret',
      'x-old': 'moved',
      'x-replace-me': 'orig',
      'x-keep': 'client',
      'x-multi': 'first',
    },
  })
  t.equal(res.status, 200)
  const h = upstream.last()!.headers
  t.equal(h['x-internal'], undefined, 'removed')
  t.equal(h['x-old'], undefined, 'renamed away')
  t.equal(h['x-new'], 'moved', 'renamed to')
  t.equal(h['x-never'], undefined, 'an absent header is not renamed into existence')
  t.equal(h['x-replace-me'], 'replaced', 'replaced when present')
  t.equal(h['x-replace-absent'], undefined, 'replace does not add')
  t.equal(h['x-added'], 'yes', 'added when absent')
  t.equal(h['x-keep'], 'client', 'add does not overwrite')
  t.equal(h['x-multi'], 'first, second', 'append adds a second value')
  t.equal(h['x-fresh'], 'only', 'append on an absent header sets it')
})

t.test('operations run in the order remove, rename, replace, add, append', async (t) => {
  // Each later operation sees what the earlier ones left.
  const { upstream, gw } = await transformGateway(t, {
    config: {
      remove: { headers: ['x-a'] },
      rename: { headers: { 'x-b': 'x-a' } },
      replace: { headers: { 'x-a': 'replaced-after-rename' } },
      add: { headers: { 'x-a': 'not-added', 'x-b': 'added-after-rename' } },
      append: { headers: { 'x-b': 'appended-after-add' } },
    },
  })
  await gw.request({ path: '/api', headers: { 'x-a': 'original', 'x-b': 'from-client' } })
  const h = upstream.last()!.headers
  t.equal(h['x-a'], 'replaced-after-rename')
  t.equal(h['x-b'], 'added-after-rename, appended-after-add')
})

t.test('query parameters: each operation and the order', async (t) => {
  const { upstream, gw } = await transformGateway(t, {
    config: {
      remove: { query: ['debug'] },
      rename: { query: { q: 'search' } },
      replace: { query: { page: '1', absent: 'x' } },
      add: { query: { limit: '20', sort: 'never' } },
      append: { query: { tag: 'extra' } },
    },
  })
  await gw.request({ path: '/api/items?debug=1&q=shoes&page=7&sort=asc&tag=red&untouched=a%20b' })
  const url = new URL(upstream.last()!.url, 'http://x')
  t.equal(url.pathname, '/api/items')
  t.equal(url.searchParams.get('debug'), null)
  t.equal(url.searchParams.get('q'), null)
  t.equal(url.searchParams.get('search'), 'shoes')
  t.equal(url.searchParams.get('page'), '1')
  t.equal(url.searchParams.get('absent'), null)
  t.equal(url.searchParams.get('limit'), '20')
  t.equal(url.searchParams.get('sort'), 'asc')
  t.same(url.searchParams.getAll('tag'), ['red', 'extra'])
  t.equal(url.searchParams.get('untouched'), 'a b')
})

t.test('a query string nobody changes is sent byte for byte', async (t) => {
  const { upstream, gw } = await transformGateway(t, {
    config: { remove: { query: ['debug'] }, add: { headers: { 'x-a': '1' } } },
  })
  await gw.request({ path: '/api?b=1&a=%7E+x' })
  t.equal(upstream.last()!.url, '/api?b=1&a=%7E+x')
})

t.test('header names in the config are matched case-insensitively', async (t) => {
  const { upstream, gw } = await transformGateway(t, {
    config: { remove: { headers: ['X-Secret'] }, add: { headers: { 'X-Via-Gateway': 'gatehouse' } } },
  })
  await gw.request({ path: '/api', headers: { 'x-secret': 'x' } })
  t.equal(upstream.last()!.headers['x-secret'], undefined)
  t.equal(upstream.last()!.headers['x-via-gateway'], 'gatehouse')
})
