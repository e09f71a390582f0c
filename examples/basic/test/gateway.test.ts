import type { Server } from 'node:http'
import { request, startUpstream } from '@gatehousejs/sdk/testing'
import t, { type Test } from 'tap'
import { buildGateway } from '../gateway.js'
import { listen, ordersService, usersService } from '../services.js'

// The example as a user runs it: the demo services and the gateway from gateway.ts, all real servers.

async function serve(t: Test, server: Server): Promise<string> {
  const url = await listen(server, 0, '127.0.0.1')
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())))
  return url
}

async function gatewayFor(t: Test, env: NodeJS.ProcessEnv): Promise<string> {
  const gateway = await buildGateway(env, { logger: false, handleSignals: false })
  t.teardown(() => gateway.close())
  return gateway.listen({ port: 0, host: '127.0.0.1' })
}

t.test('both routes reach their own service', async (t) => {
  const USERS_URL = await serve(t, usersService())
  const ORDERS_URL = await serve(t, ordersService())
  const url = await gatewayFor(t, { USERS_URL, ORDERS_URL })

  const user = await request(url, { path: '/users/1' })
  t.equal(user.status, 200)
  t.same(user.json(), { service: 'users', item: { id: '1', name: 'Ada Lovelace' } })

  const orders = await request(url, { path: '/orders' })
  t.equal(orders.status, 200)
  t.equal(orders.json().service, 'orders')
  t.equal(orders.json().items.length, 2)

  const order = await request(url, { path: '/orders/101' })
  t.same(order.json(), { service: 'orders', item: { id: '101', userId: '2', total: 7 } })
})

t.test('a service’s own 404 passes through; a path no route owns is the gateway’s 404', async (t) => {
  const USERS_URL = await serve(t, usersService())
  const ORDERS_URL = await serve(t, ordersService())
  const url = await gatewayFor(t, { USERS_URL, ORDERS_URL })

  const missingUser = await request(url, { path: '/users/999' })
  t.equal(missingUser.status, 404)
  t.match(missingUser.json(), { service: 'users', error: 'not found', path: '/999' })

  const noRoute = await request(url, { path: '/invoices/1' })
  t.equal(noRoute.status, 404)
  t.equal(noRoute.json().code, 'GH_ROUTE_NOT_FOUND')
})

t.test('each upstream receives the path without the route prefix, and the query', async (t) => {
  const users = await startUpstream({ t })
  const orders = await startUpstream({ t })
  const url = await gatewayFor(t, { USERS_URL: users.url, ORDERS_URL: orders.url })

  t.equal((await request(url, { path: '/users/1?fields=name' })).status, 200)
  t.equal((await request(url, { path: '/orders/100', method: 'DELETE' })).status, 200)

  t.equal(users.requests.length, 1)
  t.equal(users.last()?.url, '/1?fields=name')
  t.equal(users.last()?.headers.host, new URL(users.url).host, 'the service’s own Host header')
  t.match(users.last()?.headers['x-request-id'], /^[0-9a-f-]{36}$/)
  t.equal(orders.requests.length, 1)
  t.equal(orders.last()?.method, 'DELETE')
  t.equal(orders.last()?.url, '/100')
})

t.test('without USERS_URL / ORDERS_URL the services are expected on localhost:3001 and :3002', async (t) => {
  const gateway = await buildGateway({}, { logger: false, handleSignals: false })
  t.teardown(() => gateway.close())
  t.same(
    gateway.config.services?.map((s) => [s.name, s.url]),
    [
      ['users', 'http://localhost:3001'],
      ['orders', 'http://localhost:3002'],
    ],
  )
})
