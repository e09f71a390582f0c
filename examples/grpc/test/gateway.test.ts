import { request as httpRequest } from 'node:http'
import { request } from '@gatehousejs/sdk/testing'
import t, { type Test } from 'tap'
import { buildGateway } from '../gateway.js'
import { bind, inventoryService } from '../service.js'

// The example as a user runs it: the embedded gRPC service and the gateway from gateway.ts, real servers.

async function start(t: Test): Promise<string> {
  const service = inventoryService()
  const port = await bind(service)
  t.teardown(() => service.forceShutdown())
  const gateway = await buildGateway(`http://127.0.0.1:${port}`, { logger: false, handleSignals: false })
  t.teardown(() => gateway.close())
  return gateway.listen({ port: 0, host: '127.0.0.1' })
}

t.test('GET an item and a filtered list: gRPC answers as JSON', async (t) => {
  const url = await start(t)
  const item = await request(url, { path: '/v1/items/bk-1' })
  t.equal(item.status, 200)
  t.same(item.json(), {
    sku: 'bk-1',
    name: 'Structure and Interpretation of Computer Programs',
    category: 'CATEGORY_BOOKS',
    priceCents: '4500',
    inStock: 3,
  })
  const tools = await request(url, { path: '/v1/items?category=CATEGORY_TOOLS' })
  t.equal(tools.status, 200)
  t.same(
    tools.json().map((i: { sku: string }) => i.sku),
    ['tl-1'],
  )
  const missing = await request(url, { path: '/v1/items/nope' })
  t.equal(missing.status, 404)
  t.equal(missing.json().code, 'GH_GRPC_NOT_FOUND')
  t.equal(missing.json().message, 'no item nope')
})

t.test('POST a reservation: the body, the path and a forwarded header make the gRPC request', async (t) => {
  const url = await start(t)
  const anonymous = await request(url, {
    method: 'POST',
    path: '/v1/items/bk-1/reservations',
    body: { quantity: 1, customer: 'ada' },
  })
  t.equal(anonymous.status, 401)
  t.equal(anonymous.json().code, 'GH_GRPC_UNAUTHENTICATED')
  const ok = await request(url, {
    method: 'POST',
    path: '/v1/items/bk-1/reservations',
    headers: { 'x-customer-id': 'c-1' },
    body: { quantity: 2, customer: 'ada' },
  })
  t.equal(ok.status, 200)
  t.same(ok.json(), { id: 'r-1', sku: 'bk-1', quantity: 2, customer: 'ada', leftInStock: 1 })
  const tooMany = await request(url, {
    method: 'POST',
    path: '/v1/items/bk-1/reservations',
    headers: { 'x-customer-id': 'c-1' },
    body: { quantity: 5, customer: 'ada' },
  })
  t.equal(tooMany.status, 400)
  t.equal(tooMany.json().code, 'GH_GRPC_FAILED_PRECONDITION')
  t.equal(tooMany.json().message, 'only 1 left')
})

t.test('the stock streams as NDJSON, one line per update', async (t) => {
  const url = await start(t)
  const { status, type, lines } = await new Promise<{ status: number; type: string; lines: string[] }>(
    (resolve, reject) => {
      httpRequest(`${url}/v1/items/tl-1/stock?updates=3&interval_ms=20`, (res) => {
        let text = ''
        res.setEncoding('utf8')
        res.on('data', (c: string) => {
          text += c
        })
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            type: String(res.headers['content-type']),
            lines: text.trim().split('\n'),
          }),
        )
      })
        .on('error', reject)
        .end()
    },
  )
  t.equal(status, 200)
  t.match(type, /^application\/x-ndjson/)
  t.same(
    lines.map((l) => JSON.parse(l)),
    [1, 2, 3].map(() => ({ sku: 'tl-1', inStock: 10 })),
  )
})
