import { createGateway } from '@gatehousejs/core'
import type { AdminEndpoint, Logger } from '@gatehousejs/sdk'
import t from 'tap'
import cache, { cacheInstances, purgeCache } from '../src/index.js'
import { setup, testAuth } from './helpers/setup.js'

// Purge by key, URL, path prefix and tag: programmatically, over HTTP (PURGE), and through the admin
// endpoints the plugin offers.

const TOKEN = 'purge-token-0123456789'
const cached = { headers: { 'cache-control': 'max-age=60' } }

function tagged(req: import('node:http').IncomingMessage) {
  const tag = req.url?.startsWith('/products') ? 'products, catalog' : 'other'
  return { headers: { 'cache-control': 'max-age=60', 'cache-tag': tag } }
}

async function statusOf(s: Awaited<ReturnType<typeof setup>>, path: string) {
  return (await s.get(path)).headers['x-cache-status']
}

t.test('programmatic purge by key removes that key and its variants only', async (t) => {
  const s = await setup(t, {}, { headers: { 'cache-control': 'max-age=60', vary: 'accept' } })
  await s.get('/a?x=1', { accept: 'text/plain' })
  await s.get('/a?x=1', { accept: 'application/json' })
  await s.get('/b')
  const [instance] = cacheInstances().filter((c) => c.stats().stored > 0 && c.keyFor('http://127.0.0.1/b'))
  t.ok(instance)
  const host = new URL(s.gw.url).hostname
  const key = instance!.keyFor(`http://${host}/a?x=1`)
  t.equal(key, `GET ${host} /a?x=1`)
  t.equal(await instance!.purge({ key }), 2, 'both variants')
  t.equal((await s.get('/a?x=1', { accept: 'text/plain' })).headers['x-cache-status'], 'Miss')
  t.equal(await statusOf(s, '/b'), 'Hit', 'other keys stay')
})

t.test('purge by tag, from the configured upstream header (which clients do not see)', async (t) => {
  const s = await setup(t, {}, tagged)
  const first = await s.get('/products/1')
  t.notOk(first.headers['cache-tag'], 'the tag header is stripped')
  await s.get('/products/2')
  await s.get('/about')
  const n = await purgeCache({ tag: 'products' })
  t.equal(n, 2)
  t.equal(await statusOf(s, '/products/1'), 'Miss')
  t.equal(await statusOf(s, '/products/2'), 'Miss')
  t.equal(await statusOf(s, '/about'), 'Hit')
})

t.test('purge by path prefix', async (t) => {
  const s = await setup(t, {}, cached)
  await s.get('/api/v1/a')
  await s.get('/api/v1/b?q=1')
  await s.get('/api/v2/a')
  const host = new URL(s.gw.url).hostname
  const n = await purgeCache({ prefix: '/api/v1/', host })
  t.equal(n, 2)
  t.equal(await statusOf(s, '/api/v1/a'), 'Miss')
  t.equal(await statusOf(s, '/api/v1/b?q=1'), 'Miss')
  t.equal(await statusOf(s, '/api/v2/a'), 'Hit')
})

t.test('HTTP PURGE needs the token; purges a URL, a prefix (trailing *) or tags', async (t) => {
  const s = await setup(t, { purge: { enabled: true, token: TOKEN } }, tagged)
  await s.get('/products/1')
  await s.get('/products/2')
  await s.get('/docs/a')
  await s.get('/docs/b')
  await s.get('/x')

  const denied = await s.send({ method: 'PURGE', path: '/x' })
  t.equal(denied.status, 401)
  t.equal(denied.json().code, 'GH_CACHE_PURGE_UNAUTHORIZED')
  t.equal(denied.headers['www-authenticate'], 'Bearer realm="cache purge"')
  const wrong = await s.send({
    method: 'PURGE',
    path: '/x',
    headers: { authorization: 'Bearer nope-nope-nope-nope-nope' },
  })
  t.equal(wrong.status, 401)
  t.equal(await statusOf(s, '/x'), 'Hit', 'nothing was purged')

  const auth = { authorization: `Bearer ${TOKEN}` }
  const one = await s.send({ method: 'PURGE', path: '/x', headers: auth })
  t.equal(one.status, 200)
  t.same(one.json(), { purged: 1 })
  t.equal(await statusOf(s, '/x'), 'Miss')

  const prefix = await s.send({ method: 'PURGE', path: '/docs/*', headers: auth })
  t.same(prefix.json(), { purged: 2 })
  const byTag = await s.send({ method: 'PURGE', path: '/', headers: { ...auth, 'cache-tag': 'catalog' } })
  t.same(byTag.json(), { purged: 2 })
  t.equal(await statusOf(s, '/products/1'), 'Miss')
  t.equal(
    s.upstream.requests.filter((r) => r.method === 'PURGE').length,
    0,
    'PURGE never reaches the upstream',
  )
})

t.test('HTTP PURGE by consumer group', async (t) => {
  const s = await setup(t, { purge: { enabled: true, groups: ['ops'] } }, cached, {
    extra: [testAuth],
    routePlugins: [{ name: 'test-auth' }],
  })
  await s.get('/x')
  const anon = await s.send({ method: 'PURGE', path: '/x' })
  t.equal(anon.status, 401)
  const dev = await s.send({ method: 'PURGE', path: '/x', headers: { 'x-user': 'dev:devs' } })
  t.equal(dev.status, 403)
  t.equal(dev.json().code, 'GH_CACHE_PURGE_FORBIDDEN')
  const ops = await s.send({ method: 'PURGE', path: '/x', headers: { 'x-user': 'olga:ops' } })
  t.same(ops.json(), { purged: 1 })
})

t.test('with HTTP purge off, PURGE is proxied like any other method', async (t) => {
  const s = await setup(t, {}, cached)
  const r = await s.send({ method: 'PURGE', path: '/x' })
  t.equal(r.status, 200)
  t.equal(s.upstream.requests[0]?.method, 'PURGE')
})

t.test('admin endpoints: POST /purge and GET /stats', async (t) => {
  const s = await setup(t, {}, tagged)
  const gw = await createGateway(
    {
      services: [
        {
          name: 'a',
          url: s.upstream.url,
          routes: [{ paths: ['/'], plugins: [{ name: 'cache', config: {} }] }],
        },
      ],
    },
    { plugins: [cache], logger: false },
  )
  const config = gw.config.services?.[0]?.routes?.[0]?.plugins?.[0]?.config
  await gw.close()
  const silent = {
    debug() {},
    info() {},
    warn() {},
    error() {},
    trace() {},
    fatal() {},
    child: () => silent,
  } as unknown as Logger
  const handlers = await cache.init(config as Parameters<typeof cache.init>[0], {
    log: silent,
    instance: { id: 'cache-admin', scope: {} },
    consumers: [],
  })
  t.teardown(() => handlers.close?.())
  const admin = handlers.admin as AdminEndpoint[]
  const purge = admin.find((e) => e.method === 'POST' && e.path === '/purge')!
  const stats = admin.find((e) => e.method === 'GET' && e.path === '/stats')!
  const req = (body: unknown) => ({ method: 'POST', params: {}, query: {}, headers: {}, body })
  t.match(await purge.handler(req({})), { status: 400, body: { code: 'GH_CACHE_PURGE_INVALID' } })
  t.match(await purge.handler(req({ tag: ['a', 'b'] })), { status: 200, body: { purged: 0 } })
  t.match(await purge.handler(req({ all: true })), { status: 200, body: { purged: 0 } })
  t.match(await stats.handler(req(undefined)), { status: 200, body: { hits: 0, entries: 0, bytes: 0 } })
})

t.test('stats count what happened', async (t) => {
  const s = await setup(t, {}, cached)
  await s.get('/s')
  await s.get('/s')
  await s.get('/s')
  const instance = cacheInstances().find((c) => c.stats().hits === 2 && c.stats().misses === 1)
  t.ok(instance, 'an instance counted 1 miss and 2 hits')
  t.match(instance?.stats(), { stored: 1, entries: 1 })
})
