import type { GatewayConfig } from '@gatehousejs/core'
import cache from '@gatehousejs/plugin-cache'
import responseTransformer from '@gatehousejs/plugin-response-transformer'
import { startGateway } from '@gatehousejs/sdk/testing'
import t from 'tap'
import aggregate from '../src/index.js'
import { jsonService } from './helpers/services.js'

// The aggregated answer is an ordinary response to the rest of the chain: the cache stores it (a hit
// answers before any call is made) and the response-transformer rewrites it.

function config(a: string, b: string, plugins: GatewayConfig['plugins']): GatewayConfig {
  return {
    services: [
      { name: 'a', url: a },
      { name: 'b', url: b },
      { name: 'bff', url: 'http://127.0.0.1:9', routes: [{ name: 'home', paths: ['/home'] }] },
    ],
    plugins: [
      {
        name: 'aggregate',
        route: 'home',
        config: {
          responseHeaders: { 'cache-control': 'public, max-age=60' },
          calls: [
            { name: 'a', service: 'a', path: '/x', group: 'a' },
            { name: 'b', service: 'b', path: '/x', group: 'b' },
          ],
        },
      },
      ...(plugins ?? []),
    ],
  }
}

t.test('cache on an aggregated route: the second request is a HIT and calls no upstream', async (t) => {
  const a = await jsonService(t, { '/x': { n: 1 } })
  const b = await jsonService(t, { '/x': { n: 2 } })
  const gw = await startGateway({
    t,
    plugins: [aggregate, cache],
    config: config(a.url, b.url, [{ name: 'cache', route: 'home' }]),
  })
  const first = await gw.request({ path: '/home' })
  t.equal(first.status, 200)
  t.equal(first.headers['x-cache-status'], 'Miss')
  t.same(first.json(), { a: { n: 1 }, b: { n: 2 } })
  const second = await gw.request({ path: '/home' })
  t.equal(second.status, 200)
  t.equal(second.headers['x-cache-status'], 'Hit')
  t.same(second.json(), { a: { n: 1 }, b: { n: 2 } })
  t.equal(second.headers['gatehouse-completed'], 'true')
  t.equal(a.requests.length, 1, 'no call on a hit')
  t.equal(b.requests.length, 1)
})

t.test('a partial answer is not stored', async (t) => {
  const a = await jsonService(t, { '/x': { n: 1 } })
  const b = await jsonService(t, {}) // 404: call b fails
  const gw = await startGateway({
    t,
    plugins: [aggregate, cache],
    config: config(a.url, b.url, [{ name: 'cache', route: 'home' }]),
  })
  await gw.request({ path: '/home' })
  const again = await gw.request({ path: '/home' })
  t.equal(again.headers['gatehouse-completed'], 'false')
  t.not(again.headers['x-cache-status'], 'Hit')
  t.equal(a.requests.length, 2)
})

t.test('the response-transformer rewrites the aggregated body and headers', async (t) => {
  const a = await jsonService(t, { '/x': { n: 1, secret: 's' } })
  const b = await jsonService(t, { '/x': { n: 2 } })
  const gw = await startGateway({
    t,
    plugins: [aggregate, responseTransformer],
    config: config(a.url, b.url, [
      {
        name: 'response-transformer',
        route: 'home',
        config: {
          remove: { body: ['a.secret'] },
          rename: { body: { b: 'bee' } },
          add: { headers: { 'x-bff': 'web' } },
        },
      },
    ]),
  })
  const res = await gw.request({ path: '/home' })
  t.equal(res.status, 200)
  t.same(res.json(), { a: { n: 1 }, bee: { n: 2 } })
  t.equal(res.headers['x-bff'], 'web')
  t.equal(Number(res.headers['content-length']), res.body.length, 'content-length fits the new body')
})
