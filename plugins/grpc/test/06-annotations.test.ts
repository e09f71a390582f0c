import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import type { GatewayConfig } from '@gatehousejs/core'
import { configIssues, startGateway } from '@gatehousejs/sdk/testing'
import t from 'tap'
import grpc from '../src/index.js'
import { PROTO, startUsersServer } from './helpers/users-server.js'

// Without `rules`, the rules come from the methods' google.api.http annotations, as in Envoy and Kong.
const FIXTURES = dirname(PROTO)
const ANNOTATED = join(FIXTURES, 'users-annotated.proto')

function configFor(url: string, config: Record<string, unknown>): GatewayConfig {
  return {
    services: [
      {
        name: 'users',
        url,
        routes: [{ name: 'v2', paths: ['/v2'] }],
        plugins: [
          { name: 'grpc', config: { service: 'demo.users.v1.Users', includeDirs: [FIXTURES], ...config } },
        ],
      },
    ],
  }
}

t.test('the annotations map the routes: bindings, additional bindings, body and response_body', async (t) => {
  const server = await startUsersServer(t)
  const gw = await startGateway({
    t,
    plugins: [grpc],
    config: configFor(server.target, { proto: ANNOTATED }),
  })

  const one = await gw.request({ path: '/v2/users/7' })
  t.equal(one.status, 200)
  t.equal(one.json().id, '7')
  const other = await gw.request({ path: '/v2/people/8' })
  t.equal(other.status, 200, 'an additional binding')
  t.equal(other.json().id, '8')
  const list = await gw.request({ path: '/v2/users?page_size=2' })
  t.equal(list.status, 200)
  t.equal(list.json().length, 2, 'response_body: the users array only')
  const created = await gw.request({
    method: 'POST',
    path: '/v2/orgs/acme/users',
    body: { displayName: 'Grace' },
  })
  t.equal(created.status, 200)
  t.same(
    server.calls.map((c) => [c.method, c.request]),
    [
      ['GetUser', { id: '7' }],
      ['GetUser', { id: '8' }],
      ['ListUsers', { pageSize: 2 }],
      ['CreateUser', { org: 'acme', user: { displayName: 'Grace' } }],
    ],
  )
  const unmapped = await gw.request({ method: 'DELETE', path: '/v2/users/7' })
  t.equal(unmapped.status, 404)
  t.equal(unmapped.json().code, 'GH_GRPC_NO_RULE')
})

t.test('no rules and no annotations: refused at /config/rules', async (t) => {
  t.match(
    await configIssues({ plugins: [grpc], config: configFor('http://127.0.0.1:9', { proto: PROTO }) }),
    [{ pointer: '/services/0/plugins/0/config/rules', message: /google\.api\.http/ }],
  )
})

t.test('an annotation the plugin cannot use is refused at /config/proto, naming the method', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-grpc-'))
  const file = join(dir, 'bad.proto')
  writeFileSync(
    file,
    `syntax = "proto3";
package bad.v1;
import "google/api/annotations.proto";
service Books {
  rpc GetBook(GetBookRequest) returns (GetBookRequest) { option (google.api.http) = { get: "/v1/{name=shelves/*/books/*}" }; }
  rpc GetShelf(GetBookRequest) returns (GetBookRequest) { option (google.api.http) = { get: "/v1/shelves/{shelf}" }; }
}
message GetBookRequest { string name = 1; }
`,
  )
  const issues = await configIssues({
    plugins: [grpc],
    config: configFor('http://127.0.0.1:9', { proto: file, service: 'bad.v1.Books' }),
  })
  t.match(issues, [
    { pointer: '/services/0/plugins/0/config/proto', message: /GetBook: .*shelves\/\*.* is not supported/ },
    {
      pointer: '/services/0/plugins/0/config/proto',
      message: /google\.api\.http annotation: path parameter \{shelf\}/,
    },
  ])
  t.equal(issues.length, 2)
})
