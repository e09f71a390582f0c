import { startGateway } from '@gatehousejs/sdk/testing'
import * as grpcJs from '@grpc/grpc-js'
import t from 'tap'
import grpc from '../src/index.js'
import { setup } from './helpers/setup.js'
import { PROTO } from './helpers/users-server.js'

// Envoy's and grpc-gateway's mapping; the 4xx keep the service's message, the 5xx get a fixed one.
const CASES = [
  ['INVALID_ARGUMENT', 400, 'name is required'],
  ['FAILED_PRECONDITION', 400, 'user is archived'],
  ['OUT_OF_RANGE', 400, 'page out of range'],
  ['UNAUTHENTICATED', 401, 'token expired'],
  ['PERMISSION_DENIED', 403, 'not your org'],
  ['NOT_FOUND', 404, 'no such user'],
  ['ALREADY_EXISTS', 409, 'user exists'],
  ['ABORTED', 409, 'concurrent update'],
  ['RESOURCE_EXHAUSTED', 429, 'quota used up'],
  ['CANCELLED', 499, 'cancelled upstream'],
  ['UNKNOWN', 500, 'The gRPC service failed'],
  ['INTERNAL', 500, 'The gRPC service failed'],
  ['DATA_LOSS', 500, 'The gRPC service failed'],
  ['UNIMPLEMENTED', 501, 'The gRPC method is not implemented by the service'],
  ['UNAVAILABLE', 503, 'The gRPC service is unavailable'],
] as const

t.test('each gRPC status maps to its HTTP status and GH_GRPC_<STATUS>', async (t) => {
  const { server, gw } = await setup(t)
  for (const [name, http, message] of CASES) {
    const code = grpcJs.status[name]
    const res = await gw.request({
      method: 'POST',
      path: '/v1/fail',
      body: { code, message: http >= 500 ? 'secret stack at db.internal:5432' : message },
    })
    t.equal(res.status, http, name)
    const body = res.json()
    t.equal(body.code, `GH_GRPC_${name}`, name)
    t.equal(body.statusCode, http)
    t.equal(
      body.message,
      message,
      `${name}: ${http >= 500 ? 'a fixed message, no internals' : "the service's message"}`,
    )
    t.equal(body.requestId, res.headers['x-request-id'])
    t.equal(res.headers['grpc-status'], String(code))
  }
  t.equal(server.calls.length, CASES.length)
})

t.test('the plugin timeout is the deadline: a slow method is 504 GH_GRPC_DEADLINE_EXCEEDED', async (t) => {
  const { gw } = await setup(t, { timeout: '100ms' })
  const res = await gw.request({ method: 'POST', path: '/v1/fail', body: { code: 0, delayMs: 3000 } })
  t.equal(res.status, 504)
  t.equal(res.json().code, 'GH_GRPC_DEADLINE_EXCEEDED')
  t.equal(res.headers['grpc-status'], '4')
})

t.test("without a plugin timeout, the route's read timeout is the deadline", async (t) => {
  // 1 s: also the deadline of the fast call below, which a busy machine must not push past it.
  const { gw } = await setup(t, {}, { timeouts: { read: '1s' } })
  const res = await gw.request({ method: 'POST', path: '/v1/fail', body: { code: 0, delayMs: 3000 } })
  t.equal(res.status, 504)
  t.equal(res.json().code, 'GH_GRPC_DEADLINE_EXCEEDED')
  const fast = await gw.request({ path: '/v1/users/1' })
  t.equal(fast.status, 200)
})

t.test('no server listening: 503 GH_GRPC_UNAVAILABLE, without the address in the message', async (t) => {
  const gw = await startGateway({
    t,
    plugins: [grpc],
    config: {
      services: [
        {
          name: 'users',
          url: 'http://127.0.0.1:9',
          routes: [{ name: 'v1', paths: ['/v1'] }],
          plugins: [
            {
              name: 'grpc',
              config: {
                proto: PROTO,
                service: 'demo.users.v1.Users',
                timeout: '5s',
                rules: [{ rpc: 'GetUser', method: 'GET', path: '/v1/users/{id}' }],
              },
            },
          ],
        },
      ],
    },
  })
  const res = await gw.request({ path: '/v1/users/1' })
  t.equal(res.status, 503)
  t.equal(res.json().code, 'GH_GRPC_UNAVAILABLE')
  t.notMatch(res.text, /127\.0\.0\.1|ECONNREFUSED/)
})
