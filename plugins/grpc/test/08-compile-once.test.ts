import { captureLogs, startGateway } from '@gatehousejs/sdk/testing'
import t from 'tap'
import grpc from '../src/index.js'
import { RULES } from './helpers/setup.js'
import { PROTO, startUsersServer } from './helpers/users-server.js'

// `validate` reads the .proto files (so `gatehouse validate` reports a bad one) and a start serves
// with what it read: `init` reuses the same load's result instead of parsing the files again.

t.test('a start reads the .proto once: init serves with what validate loaded', async (t) => {
  const server = await startUsersServer(t)
  const logs = captureLogs()
  const gw = await startGateway({
    t,
    plugins: [grpc],
    logger: logs.logger,
    config: {
      services: [
        {
          name: 'users',
          url: server.target,
          routes: [{ name: 'v1', paths: ['/v1'] }],
          plugins: [{ name: 'grpc', config: { proto: PROTO, service: 'demo.users.v1.Users', rules: RULES } }],
        },
      ],
    },
  })
  const ready = logs.withMsg('grpc ready')
  t.equal(ready.length, 1, 'one instance initialised')
  t.equal(ready[0]?.compiledInValidate, true, 'init reused what validate compiled for this load')
  t.equal(ready[0]?.rules, RULES.length)

  const res = await gw.request({ path: '/v1/users/7' })
  t.equal(res.status, 200, 'and it serves with it')
  t.equal(res.json().displayName, 'Ada Lovelace')
  t.equal(server.calls[0]?.method, 'GetUser')
})
