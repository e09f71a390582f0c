import type { AddressInfo } from 'node:net'
import { ConfigError, createGateway } from '@gatehousejs/core'
import { request, startUpstream, type UpstreamHandler } from '@gatehousejs/sdk/testing'
import t, { type Test } from 'tap'
import { apiVersion } from '../api-version.js'
import { catalogService } from '../catalog.js'
import { buildGateway } from '../gateway.js'

// The inline `api-version` plugin, through the example's own gateway and a real upstream.

async function setup(t: Test, handler?: UpstreamHandler) {
  const upstream = await startUpstream({ t, ...(handler ? { handler } : {}) })
  const gateway = await buildGateway({ CATALOG_URL: upstream.url }, { logger: false, handleSignals: false })
  t.teardown(() => gateway.close())
  const url = await gateway.listen({ port: 0, host: '127.0.0.1' })
  return { upstream, url }
}

t.test('the version header picks the upstream path prefix', async (t) => {
  const { upstream, url } = await setup(t)
  const res = await request(url, { path: '/catalog/items/7?expand=1', headers: { 'Accept-Version': '2' } })
  t.equal(res.status, 200)
  t.equal(upstream.last()?.url, '/v2/items/7?expand=1')
  t.equal(res.headers['api-version'], '2', 'the client is told which version answered')
  t.equal(res.headers.vary, 'accept-version', 'caches are told the response depends on the header')
})

t.test('without the header the default version serves', async (t) => {
  const { upstream, url } = await setup(t)
  const noVersion: Record<string, string>[] = [{}, { 'accept-version': '' }]
  for (const headers of noVersion) {
    const res = await request(url, { path: '/catalog/items', headers })
    t.equal(res.status, 200)
    t.equal(upstream.last()?.url, '/v1/items')
    t.equal(res.headers['api-version'], '1')
  }
})

t.test('the route root maps to the version root', async (t) => {
  const { upstream, url } = await setup(t)
  t.equal((await request(url, { path: '/catalog', headers: { 'accept-version': '2' } })).status, 200)
  t.equal(upstream.last()?.url, '/v2/')
})

t.test('an unknown version gets 400 GH_API_VERSION_UNSUPPORTED and never reaches the upstream', async (t) => {
  const { upstream, url } = await setup(t)
  for (const version of ['3', 'constructor']) {
    const res = await request(url, { path: '/catalog/items', headers: { 'accept-version': version } })
    t.equal(res.status, 400)
    t.match(res.json(), {
      statusCode: 400,
      code: 'GH_API_VERSION_UNSUPPORTED',
      message: `API version "${version}" is not supported; use one of: 1, 2`,
    })
    t.equal(res.headers.vary, 'accept-version', 'the refusal depends on the header too')
    t.equal(res.headers['api-version'], undefined)
  }
  t.equal(upstream.requests.length, 0)
})

t.test('an upstream Vary is kept and extended', async (t) => {
  const { url } = await setup(t, (_req, res) => {
    res.writeHead(200, { vary: 'accept-encoding', 'content-type': 'text/plain' })
    res.end('ok')
  })
  const res = await request(url, { path: '/catalog/x' })
  t.equal(res.headers.vary, 'accept-encoding, accept-version')
})

t.test('a default that is not a listed version is refused at load, by pointer', async (t) => {
  const err = await createGateway(
    {
      services: [{ name: 'catalog', url: 'http://127.0.0.1:9', routes: [{ paths: ['/catalog'] }] }],
      plugins: [{ name: 'api-version', config: { versions: { '2': '/v2' } } }],
    },
    { plugins: [apiVersion], logger: false },
  ).catch((e: unknown) => e)
  t.ok(err instanceof ConfigError)
  t.match((err as ConfigError).issues, [
    { pointer: '/plugins/0', plugin: 'api-version', message: /default version "1" is not one of: 2/ },
  ])
})

t.test('end to end with the demo catalog: each version gets its own shape', async (t) => {
  const catalog = catalogService()
  await new Promise<void>((resolve) => catalog.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((resolve) => catalog.close(() => resolve())))
  const CATALOG_URL = `http://127.0.0.1:${(catalog.address() as AddressInfo).port}`
  const gateway = await buildGateway({ CATALOG_URL }, { logger: false, handleSignals: false })
  t.teardown(() => gateway.close())
  const url = await gateway.listen({ port: 0, host: '127.0.0.1' })

  const v1 = await request(url, { path: '/catalog/7' })
  t.same(v1.json(), { version: 'v1', items: [{ id: '7', title: 'Lamp' }] })
  const v2 = await request(url, { path: '/catalog/7', headers: { 'accept-version': '2' } })
  t.same(v2.json(), { version: 'v2', items: [{ id: '7', name: 'Lamp', price: 30 }] })
})
