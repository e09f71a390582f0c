import type { Server } from 'node:http'
import { request } from '@gatehousejs/sdk/testing'
import t, { type Test } from 'tap'
import { buildGateway, type ServiceUrls } from '../gateway.js'
import { listen, ordersService, recommendationsService, usersService } from '../services.js'

// The example as a user runs it: the three demo services and both gateways, all real servers.

async function serve(t: Test, server: Server): Promise<string> {
  const url = await listen(server)
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())))
  return url
}

async function services(t: Test, withRecommendations = true): Promise<ServiceUrls> {
  return {
    users: await serve(t, usersService()),
    orders: await serve(t, ordersService()),
    // A closed port: the recommendations service is down.
    recommendations: withRecommendations ? await serve(t, recommendationsService()) : 'http://127.0.0.1:9',
  }
}

async function gateway(t: Test, client: 'mobile' | 'web', urls: ServiceUrls): Promise<string> {
  const gw = await buildGateway(client, urls, { logger: false, handleSignals: false })
  t.teardown(() => gw.close())
  return gw.listen({ port: 0, host: '127.0.0.1' })
}

t.test('mobile: one small payload for the home screen', async (t) => {
  const url = await gateway(t, 'mobile', await services(t))
  const res = await request(url, { path: '/home/1' })
  t.equal(res.status, 200)
  t.equal(res.headers['gatehouse-completed'], 'true')
  t.same(res.json(), {
    name: 'Ada Lovelace',
    avatar: '/img/ada-64.png',
    orders: [
      { id: '100', status: 'shipped' },
      { id: '101', status: 'open' },
    ],
  })
})

t.test('web: the full picture, recommendations chosen by the user’s tier', async (t) => {
  const url = await gateway(t, 'web', await services(t))
  const res = await request(url, { path: '/home/1' })
  t.equal(res.status, 200)
  const body = res.json()
  t.equal(body.user.email, 'ada@example.com')
  t.equal(body.user.passwordHash, undefined, 'secrets are denied')
  t.equal(body.orders[0].lines[0].sku, 'pen')
  t.same(body.recommendations, [
    { sku: 'notebook', score: 0.9 },
    { sku: 'lamp', score: 0.7 },
  ])
  t.equal(res.headers['cache-control'], 'private, max-age=10')
})

t.test('web with recommendations down: a partial answer, flagged', async (t) => {
  const url = await gateway(t, 'web', await services(t, false))
  const res = await request(url, { path: '/home/1' })
  t.equal(res.status, 200)
  t.equal(res.headers['gatehouse-completed'], 'false')
  const body = res.json()
  t.equal(body.user.name, 'Ada Lovelace')
  t.match(body._errors, [{ call: 'recommendations', code: 'GH_UPSTREAM_UNREACHABLE', status: 502 }])
})

t.test('an unknown user: the required call fails, 502 GH_AGGREGATE_FAILED', async (t) => {
  const url = await gateway(t, 'mobile', await services(t))
  const res = await request(url, { path: '/home/404' })
  t.equal(res.status, 502)
  t.equal(res.json().code, 'GH_AGGREGATE_FAILED')
  t.match(res.json()._errors, [{ call: 'user', status: 404 }])
})

t.test('the same services stay reachable directly, unshaped', async (t) => {
  const url = await gateway(t, 'web', await services(t))
  const res = await request(url, { path: '/users/1' })
  t.equal(res.status, 200)
  t.equal(res.json().tier, 'gold')
})
