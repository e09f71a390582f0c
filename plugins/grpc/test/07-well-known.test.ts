import t from 'tap'
import { setup } from './helpers/setup.js'

// protobuf's JSON mapping for Timestamp, Duration and the wrappers, both ways.

t.test(
  'Timestamp, Duration and wrappers: JSON strings and bare values in, messages to the service, back again',
  async (t) => {
    const { server, gw } = await setup(t)
    const res = await gw.request({
      method: 'POST',
      path: '/v1/orgs/acme/users',
      body: {
        displayName: 'Grace',
        updatedAt: '2024-05-06T07:08:09.5Z',
        session: '-1.25s',
        age: 42,
        logins: ['2024-01-01T00:00:00Z', '2024-01-01T02:00:00.000001+01:00'],
      },
    })
    t.equal(res.status, 200)
    const user = server.calls[0]!.request.user as Record<string, unknown>
    t.same(user.updatedAt, { seconds: '1714979289', nanos: 500000000 })
    t.same(user.session, { seconds: '-1', nanos: -250000000 })
    t.same(user.age, { value: 42 })
    t.same(user.logins, [
      { seconds: '1704067200', nanos: 0 },
      { seconds: '1704070800', nanos: 1000 },
    ])
    const json = res.json()
    t.equal(json.updatedAt, '2024-05-06T07:08:09.500Z')
    t.equal(json.session, '-1.250s')
    t.equal(json.age, 42)
    t.same(json.logins, ['2024-01-01T00:00:00Z', '2024-01-01T01:00:00.000001Z'])
  },
)

t.test('unset well-known fields are null; bad values are 400 GH_GRPC_REQUEST_INVALID', async (t) => {
  const { server, gw } = await setup(t)
  const res = await gw.request({ path: '/v1/users/1' })
  t.equal(res.json().updatedAt, null)
  t.equal(res.json().age, null)
  for (const user of [{ updatedAt: 'yesterday' }, { session: '5 minutes' }, { updatedAt: 5 }]) {
    const bad = await gw.request({ method: 'POST', path: '/v1/orgs/acme/users', body: user })
    t.equal(bad.status, 400, JSON.stringify(user))
    t.equal(bad.json().code, 'GH_GRPC_REQUEST_INVALID')
    t.match(bad.json().message, Object.keys(user)[0]!)
  }
  t.equal(server.calls.length, 1)
})
