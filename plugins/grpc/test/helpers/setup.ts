import type { GatewayConfig } from '@gatehousejs/core'
import { startGateway } from '@gatehousejs/sdk/testing'
import type { Test } from 'tap'
import grpc from '../../src/index.js'
import { PROTO, startUsersServer } from './users-server.js'

/** The rules most tests use: every shape of google.api.http mapping the fixture service allows. */
export const RULES = [
  { rpc: 'GetUser', method: 'GET', path: '/v1/users/{id}' },
  { rpc: 'ListUsers', method: 'GET', path: '/v1/users' },
  { rpc: 'CreateUser', method: 'POST', path: '/v1/orgs/{org}/users', body: 'user' },
  { rpc: 'UpdateUser', method: 'PATCH', path: '/v1/users/{user.id}', body: '*' },
  { rpc: 'ListUsers', method: 'GET', path: '/v1/users-only', responseBody: 'users' },
  { rpc: 'WatchUsers', method: 'GET', path: '/v1/watch' },
  { rpc: 'WatchUsers', method: 'GET', path: '/v1/watch.sse', stream: 'sse' },
  { rpc: 'Fail', method: 'POST', path: '/v1/fail', body: '*' },
]

/** A real gRPC server, and a real gateway whose `users` service url points at it. */
export async function setup(
  t: Test,
  extra: Record<string, unknown> = {},
  route: Record<string, unknown> = {},
) {
  const server = await startUsersServer(t)
  const config: GatewayConfig = {
    services: [
      {
        name: 'users',
        url: server.target,
        routes: [{ name: 'v1', paths: ['/v1'], ...route }],
        plugins: [
          { name: 'grpc', config: { proto: PROTO, service: 'demo.users.v1.Users', rules: RULES, ...extra } },
        ],
      },
    ],
  }
  const gw = await startGateway({ t, plugins: [grpc], config })
  return { server, gw }
}
