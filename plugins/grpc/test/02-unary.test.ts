import { definePlugin, PRIORITY } from '@gatehousejs/sdk'
import { startGateway } from '@gatehousejs/sdk/testing'
import t from 'tap'
import grpc from '../src/index.js'
import { setup } from './helpers/setup.js'
import { PROTO, startUsersServer } from './helpers/users-server.js'

t.test('GET with a path parameter: the response message as JSON (int64 and enums as strings)', async (t) => {
  const { server, gw } = await setup(t)
  const res = await gw.request({ path: '/v1/users/7' })
  t.equal(res.status, 200)
  t.match(res.headers['content-type'], /^application\/json/)
  t.same(res.json(), {
    id: '7',
    displayName: 'Ada Lovelace',
    role: 'ROLE_ADMIN',
    createdAtMs: '9007199254740993',
    tags: ['math'],
    address: { city: 'London', countryCode: 'GB' },
    active: true,
    updatedAt: null,
    session: null,
    age: null,
    logins: [],
  })
  t.equal(server.calls.length, 1)
  t.equal(server.calls[0]?.method, 'GetUser')
  t.same(server.calls[0]?.request, { id: '7' })
})

t.test('unset fields come back with their defaults', async (t) => {
  const { gw } = await setup(t)
  const res = await gw.request({ path: '/v1/users' })
  t.equal(res.status, 200)
  t.same(res.json().users[1], {
    id: '2',
    displayName: 'Alan Turing',
    role: 'ROLE_UNSPECIFIED',
    createdAtMs: '0',
    tags: [],
    address: null,
    active: false,
    updatedAt: null,
    session: null,
    age: null,
    logins: [],
  })
  t.equal(res.json().total, 2)
})

t.test('query parameters fill the request message, typed by field (snake_case or camelCase)', async (t) => {
  const { server, gw } = await setup(t)
  const res = await gw.request({
    path: '/v1/users?page_size=5&role=ROLE_MEMBER&tags=a&tags=b&near.city=Paris&activeOnly=true&since_ms=12345678901234&min_score=0.5&utm_source=x',
  })
  t.equal(res.status, 200)
  t.same(server.calls[0]?.request, {
    pageSize: 5,
    role: 'ROLE_MEMBER',
    tags: ['a', 'b'],
    near: { city: 'Paris' },
    activeOnly: true,
    sinceMs: '12345678901234',
    minScore: 0.5,
  })
})

t.test('a query value that does not fit its field is 400 GH_GRPC_REQUEST_INVALID, not sent', async (t) => {
  const { server, gw } = await setup(t)
  for (const q of ['page_size=ten', 'active_only=maybe', 'role=ROLE_NOPE', 'min_score=abc']) {
    const res = await gw.request({ path: `/v1/users?${q}` })
    t.equal(res.status, 400, q)
    t.equal(res.json().code, 'GH_GRPC_REQUEST_INVALID', q)
    t.match(res.json().message, q.split('=')[0]!, 'the message names the parameter')
  }
  t.equal(server.calls.length, 0)
})

t.test('body: "<field>": the JSON body is that field; path parameters and query fill the rest', async (t) => {
  const { server, gw } = await setup(t)
  const res = await gw.request({
    method: 'POST',
    path: '/v1/orgs/acme/users',
    body: { display_name: 'Grace Hopper', role: 'ROLE_MEMBER', address: { country_code: 'US' } },
  })
  t.equal(res.status, 200)
  t.same(server.calls[0]?.request, {
    org: 'acme',
    user: { displayName: 'Grace Hopper', role: 'ROLE_MEMBER', address: { countryCode: 'US' } },
  })
  t.equal(res.json().id, '42')
  t.equal(res.json().displayName, 'Grace Hopper')
})

t.test('body: "*": the whole message from the body, with a nested path parameter winning', async (t) => {
  // `keep`: the encoded slash in the id is data (core refuses it by default).
  const { server, gw } = await setup(t, {}, { escapedSlashes: 'keep' })
  const res = await gw.request({
    method: 'PATCH',
    path: '/v1/users/u%2F9',
    body: { user: { id: 'ignored', displayName: 'Renamed' }, reason: 'typo' },
  })
  t.equal(res.status, 200)
  t.same(server.calls[0]?.request, { user: { id: 'u/9', displayName: 'Renamed' }, reason: 'typo' })
  t.equal(res.json().id, 'u/9', 'the path parameter is percent-decoded')
})

t.test('a body with an unknown field, a wrong type or bad JSON is 400 GH_GRPC_REQUEST_INVALID', async (t) => {
  const { server, gw } = await setup(t)
  const unknown = await gw.request({
    method: 'PATCH',
    path: '/v1/users/1',
    body: { user: { nickname: 'x' } },
  })
  t.equal(unknown.status, 400)
  t.equal(unknown.json().code, 'GH_GRPC_REQUEST_INVALID')
  t.match(unknown.json().message, /nickname/)
  const wrongType = await gw.request({
    method: 'PATCH',
    path: '/v1/users/1',
    body: { user: { address: 'London' } },
  })
  t.equal(wrongType.status, 400)
  t.equal(wrongType.json().code, 'GH_GRPC_REQUEST_INVALID')
  const notJson = await gw.request({
    method: 'POST',
    path: '/v1/orgs/acme/users',
    headers: { 'content-type': 'text/plain' },
    body: 'display_name=x',
  })
  t.equal(notJson.status, 400)
  t.equal(notJson.json().code, 'GH_GRPC_REQUEST_INVALID')
  t.equal(server.calls.length, 0)
})

t.test('responseBody answers with one field of the response message', async (t) => {
  const { gw } = await setup(t)
  const res = await gw.request({ path: '/v1/users-only' })
  t.equal(res.status, 200)
  t.equal(res.json().length, 2)
  t.equal(res.json()[0].displayName, 'Ada Lovelace')
})

t.test('no rule for the method and path: 404 GH_GRPC_NO_RULE', async (t) => {
  const { server, gw } = await setup(t)
  for (const [method, path] of [
    ['DELETE', '/v1/users/1'],
    ['GET', '/v1/users/1/extra'],
    ['GET', '/v1/nothing'],
  ] as const) {
    const res = await gw.request({ method, path })
    t.equal(res.status, 404, `${method} ${path}`)
    t.equal(res.json().code, 'GH_GRPC_NO_RULE')
  }
  t.equal(server.calls.length, 0)
})

t.test(
  'configured headers are sent as metadata, with the request id; response metadata as headers',
  async (t) => {
    const { server, gw } = await setup(t, {
      forwardHeaders: ['authorization', 'X-Tenant'],
      responseHeaders: ['x-served-by', 'x-cost'],
    })
    const res = await gw.request({
      path: '/v1/users/1',
      headers: {
        authorization: 'Bearer abc',
        'x-tenant': 'acme',
        'x-other': 'not sent',
        'x-request-id': 'req-1',
      },
    })
    t.equal(res.status, 200)
    const md = server.calls[0]!.metadata
    t.equal(md.authorization, 'Bearer abc')
    t.equal(md['x-tenant'], 'acme')
    t.equal(md['x-other'], undefined, 'headers not listed are not forwarded')
    t.equal(md['x-request-id'], res.headers['x-request-id'])
    t.equal(res.headers['x-served-by'], 'users-1', 'initial metadata')
    t.equal(res.headers['x-cost'], '3', 'trailer')
  },
)

t.test('a fixed target in the plugin config is used instead of the service url', async (t) => {
  const other = await startUsersServer(t)
  const { server, gw } = await setup(t, { target: `127.0.0.1:${other.port}` })
  const res = await gw.request({ path: '/v1/users/3' })
  t.equal(res.status, 200)
  t.equal(other.calls.length, 1)
  t.equal(server.calls.length, 0)
})

t.test('a literal segment wins over a path parameter, whatever the order of the rules', async (t) => {
  const { server, gw } = await setup(t, {
    rules: [
      { rpc: 'GetUser', method: 'GET', path: '/v1/users/{id}' },
      { rpc: 'ListUsers', method: 'GET', path: '/v1/users/all' },
    ],
  })
  t.equal((await gw.request({ path: '/v1/users/all' })).status, 200)
  t.equal((await gw.request({ path: '/v1/users/alex' })).status, 200)
  t.same(
    server.calls.map((c) => c.method),
    ['ListUsers', 'GetUser'],
  )
})

t.test(
  'headers set upstream by an earlier plugin (an auth plugin’s x-consumer-id) can be forwarded',
  async (t) => {
    const fakeAuth = definePlugin({
      name: 'fake-auth',
      version: '1.0.0',
      priority: PRIORITY.auth,
      init: () => ({
        access: function fakeAuthAccess(ctx) {
          ctx.upstream.headers['x-consumer-id'] = 'consumer-7'
        },
      }),
    })
    const server = await startUsersServer(t)
    const gw = await startGateway({
      t,
      plugins: [grpc, fakeAuth],
      config: {
        services: [
          {
            name: 'users',
            url: server.target,
            routes: [{ name: 'v1', paths: ['/v1'] }],
            plugins: [
              { name: 'fake-auth' },
              {
                name: 'grpc',
                config: {
                  proto: PROTO,
                  service: 'demo.users.v1.Users',
                  forwardHeaders: ['x-consumer-id'],
                  rules: [{ rpc: 'GetUser', method: 'GET', path: '/v1/users/{id}' }],
                },
              },
            ],
          },
        ],
      },
    })
    const res = await gw.request({ path: '/v1/users/1', headers: { 'x-consumer-id': 'forged' } })
    t.equal(res.status, 200)
    t.equal(server.calls[0]?.metadata['x-consumer-id'], 'consumer-7')
  },
)
