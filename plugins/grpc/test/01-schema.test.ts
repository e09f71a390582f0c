import { writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createGateway, type GatewayConfig } from '@gatehousejs/core'
import { configIssues } from '@gatehousejs/sdk/testing'
import t from 'tap'
import grpc from '../src/index.js'
import { PROTO } from './helpers/users-server.js'

const BASE = '/services/0/plugins/0/config'

function configWith(config: Record<string, unknown>): GatewayConfig {
  return {
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
              rules: [{ rpc: 'GetUser', method: 'GET', path: '/v1/users/{id}' }],
              ...config,
            },
          },
        ],
      },
    ],
  }
}

function issuesFor(config: Record<string, unknown>) {
  return configIssues({ plugins: [grpc], config: configWith(config) })
}

t.test('defaults: no extra headers either way, NDJSON for streams', async (t) => {
  const gw = await createGateway(configWith({}), { plugins: [grpc], logger: false })
  t.teardown(() => gw.close())
  t.same(gw.config.services?.[0]?.plugins?.[0]?.config, {
    proto: PROTO,
    service: 'demo.users.v1.Users',
    includeDirs: [],
    forwardHeaders: [],
    responseHeaders: [],
    stream: 'ndjson',
    rules: [{ rpc: 'GetUser', method: 'GET', path: '/v1/users/{id}' }],
  })
})

t.test('a missing proto file is refused at /config/proto', async (t) => {
  t.match(await issuesFor({ proto: '/nonexistent/users.proto' }), [
    { pointer: `${BASE}/proto`, plugin: 'grpc', message: /cannot load .*ENOENT/ },
  ])
})

t.test('a proto that does not parse is refused at /config/proto with the parser’s line', async (t) => {
  const bad = join(tmpdir(), `gatehouse-grpc-bad-${process.pid}.proto`)
  writeFileSync(bad, 'syntax = "proto3";\nmessage A { strin x = 1 }\n')
  t.match(await issuesFor({ proto: bad }), [{ pointer: `${BASE}/proto`, message: /line 2/ }])
})

t.test('a service that does not exist is refused at /config/service', async (t) => {
  t.match(await issuesFor({ service: 'demo.users.v1.Nope' }), [
    { pointer: `${BASE}/service`, message: /no service "demo\.users\.v1\.Nope"/ },
  ])
  t.match(
    await issuesFor({ service: 'demo.users.v1.User' }),
    [{ pointer: `${BASE}/service` }],
    'a message is no service',
  )
})

t.test('each bad rule is named by pointer', async (t) => {
  const issues = await issuesFor({
    rules: [
      { rpc: 'GetUser', method: 'GET', path: '/v1/users/{id}' },
      { rpc: 'DeleteUser', method: 'DELETE', path: '/v1/users/{id}' },
      { rpc: 'Upload', method: 'POST', path: '/v1/upload', body: '*' },
      { rpc: 'GetUser', method: 'GET', path: '/v1/users/{user_id}' },
      { rpc: 'UpdateUser', method: 'PATCH', path: '/v1/users/{user}', body: 'nope' },
      { rpc: 'ListUsers', method: 'GET', path: '/v1/users/{tags}', responseBody: 'items' },
      { rpc: 'UpdateUser', method: 'PATCH', path: '/v1/users/{user.nope}/x{y}' },
    ],
  })
  t.match(issues, [
    { pointer: `${BASE}/rules/1/rpc`, message: /no method "DeleteUser"/ },
    { pointer: `${BASE}/rules/2/rpc`, message: /client-streaming/ },
    { pointer: `${BASE}/rules/3/path`, message: /\{user_id\}.*no field "user_id"/ },
    { pointer: `${BASE}/rules/4/path`, message: /\{user\} must be a single scalar field/ },
    { pointer: `${BASE}/rules/4/body`, message: /no field "nope"/ },
    { pointer: `${BASE}/rules/5/path`, message: /\{tags\} must be a single scalar field/ },
    { pointer: `${BASE}/rules/5/responseBody`, message: /no field "items"/ },
    { pointer: `${BASE}/rules/6/path`, message: /no field "nope"/ },
    { pointer: `${BASE}/rules/6/path`, message: /"x\{y\}" is not a literal segment/ },
  ])
  t.equal(issues.length, 9)
})

t.test(
  'schema errors: no rules, an unknown HTTP method, a path without a slash, a bad stream format',
  async (t) => {
    const issues = await issuesFor({
      rules: [{ rpc: 'GetUser', method: 'TRACE', path: 'users', stream: 'xml' }],
    })
    t.ok(issues.some((i) => i.pointer === `${BASE}/rules/0/method`))
    t.ok(issues.some((i) => i.pointer === `${BASE}/rules/0/path`))
    t.ok(issues.some((i) => i.pointer === `${BASE}/rules/0/stream`))
    t.match(await issuesFor({ rules: [] }), [{ pointer: `${BASE}/rules` }])
  },
)

t.test('a bad target, a zero timeout, a bad metadata key and a missing CA file are refused', async (t) => {
  const issues = await issuesFor({
    target: 'grpc://somewhere',
    timeout: 0,
    forwardHeaders: ['grpc-timeout', 'x!y'],
    caFile: '/nonexistent/ca.pem',
  })
  t.match(issues, [
    { pointer: `${BASE}/target`, message: /host:port/ },
    { pointer: `${BASE}/timeout`, message: /more than 0/ },
    { pointer: `${BASE}/forwardHeaders/0`, message: /metadata key/ },
    { pointer: `${BASE}/forwardHeaders/1`, message: /metadata key/ },
    { pointer: `${BASE}/caFile`, message: /cannot read/ },
  ])
})
