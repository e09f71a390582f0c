import { createGateway, redactConfig, startAdmin } from '@gatehousejs/core'
import { definePlugin, Secret, Type } from '@gatehousejs/sdk'
import { request } from '@gatehousejs/sdk/testing'
import t from 'tap'

/**
 * The admin API from code (`startAdmin`): refuses to run without a token or off loopback unless
 * allowed, and shows the running config with every secret redacted (fields a plugin marks Secret(),
 * credential fields that are not identifiers, and pointers the caller names).
 */

const vault = definePlugin({
  name: 'vault',
  version: '1.0.0',
  priority: 1,
  schema: Type.Object(
    {
      token: Secret(),
      nested: Type.Optional(Type.Object({ password: Secret(), user: Type.String() })),
      list: Type.Optional(Type.Array(Type.Object({ key: Secret(), label: Type.String() }))),
      plain: Type.Optional(Type.String()),
    },
    { additionalProperties: false },
  ),
  init: () => ({}),
})

async function gateway(t: { teardown(fn: () => unknown): void }) {
  const gw = await createGateway(
    {
      services: [{ name: 's', url: 'http://127.0.0.1:9', routes: [{ paths: ['/'] }] }],
      consumers: [{ username: 'alice', credentials: { 'key-auth': [{ id: 'k1', key: 'alice-secret' }] } }],
      plugins: [
        {
          name: 'vault',
          id: 'v',
          config: {
            token: 't0ps3cret',
            nested: { password: 'pw-secret', user: 'bob' },
            list: [{ key: 'list-secret', label: 'first' }],
            plain: 'shown',
          },
        },
      ],
    },
    { plugins: [vault], logger: false, handleSignals: false },
  )
  t.teardown(() => gw.close())
  return gw
}

t.test('redactConfig hides Secret() fields, credentials and named pointers', async (t) => {
  const gw = await gateway(t)
  const shown = redactConfig(gw.config, gw.plugins(), ['/services/0/url'])
  const text = JSON.stringify(shown)
  for (const secret of ['t0ps3cret', 'pw-secret', 'list-secret', 'alice-secret', '127.0.0.1:9']) {
    t.notMatch(text, secret, `${secret} is not shown`)
  }
  t.match(shown.plugins?.[0]?.config, {
    token: '[redacted]',
    nested: { password: '[redacted]', user: 'bob' },
    list: [{ key: '[redacted]', label: 'first' }],
    plain: 'shown',
  })
  t.same(shown.consumers?.[0]?.credentials?.['key-auth'], [{ id: 'k1', key: '[redacted]' }])
  t.equal(gw.config.plugins?.[0]?.config?.token, 't0ps3cret', 'the running config is untouched')
})

t.test('startAdmin needs a real token and stays on loopback unless allowed', async (t) => {
  const gw = await gateway(t)
  await t.rejects(startAdmin(gw, { token: 'short' }), /token of at least 16 characters/)
  await t.rejects(
    startAdmin(gw, { token: 'x'.repeat(20), host: '0.0.0.0' }),
    /loopback only unless allowRemote is set \(asked for 0\.0\.0\.0\)/,
  )
  const admin = await startAdmin(gw, { token: 'x'.repeat(20) })
  t.teardown(() => admin.close())
  t.match(admin.url, /^http:\/\/127\.0\.0\.1:\d+$/)
  const res = await request(admin.url, {
    path: '/config',
    headers: { authorization: `Bearer ${'x'.repeat(20)}` },
  })
  t.equal(res.status, 200)
  t.notMatch(res.body.toString(), /t0ps3cret|alice-secret/)
  t.equal((await request(admin.url, { path: '/config' })).status, 401)
  t.same(
    (
      await request(admin.url, { path: '/ready', headers: { authorization: `Bearer ${'x'.repeat(20)}` } })
    ).json(),
    {
      ready: false,
    },
    'not ready before the gateway listens',
  )
})

t.test('PUT /config applies JSON atomically, or explains and keeps the running config', async (t) => {
  const gw = await gateway(t)
  const token = 'y'.repeat(24)
  const admin = await startAdmin(gw, { token })
  t.teardown(() => admin.close())
  const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' }
  const bad = await request(admin.url, { path: '/config', method: 'PUT', headers, body: '{"services": 1}' })
  t.equal(bad.status, 400)
  t.equal(bad.json().code, 'GH_ADMIN_CONFIG_INVALID')
  t.match(bad.json().issues, [{ pointer: '/services' }])
  const notJson = await request(admin.url, { path: '/config', method: 'PUT', headers, body: '{' })
  t.equal(notJson.status, 400)
  t.equal(gw.routes().length, 1)
  const ok = await request(admin.url, {
    path: '/config',
    method: 'PUT',
    headers,
    body: JSON.stringify({
      services: [{ name: 'a', url: 'http://127.0.0.1:9', routes: [{ paths: ['/a'] }, { paths: ['/b'] }] }],
    }),
  })
  t.equal(ok.status, 200)
  t.same(ok.json(), { applied: true, routes: 2 })
  t.equal(gw.routes().length, 2)
})

t.test('GET /upstreams shows target health; a plugin endpoint may answer text', async (t) => {
  const texty = definePlugin({
    name: 'texty',
    version: '1.0.0',
    priority: 1,
    init: () => ({
      admin: [
        {
          method: 'GET',
          path: '/metrics',
          handler: () => ({ headers: { 'content-type': 'text/plain; version=0.0.4' }, body: 'a_total 1\n' }),
        },
      ],
    }),
  })
  const gw = await createGateway(
    {
      services: [
        {
          name: 'pool',
          targets: [{ url: 'http://127.0.0.1:9' }, { url: 'http://127.0.0.1:10' }],
          routes: [{ paths: ['/'] }],
        },
      ],
      plugins: [{ name: 'texty', id: 'texty' }],
    },
    { plugins: [texty], logger: false, handleSignals: false },
  )
  t.teardown(() => gw.close())
  const token = 'z'.repeat(20)
  const admin = await startAdmin(gw, { token })
  t.teardown(() => admin.close())
  const headers = { authorization: `Bearer ${token}` }
  const ups = await request(admin.url, { path: '/upstreams', headers })
  t.equal(ups.status, 200)
  t.match(ups.json(), [
    {
      service: 'pool',
      targets: [
        { url: 'http://127.0.0.1:9', state: 'healthy' },
        { url: 'http://127.0.0.1:10', state: 'healthy' },
      ],
    },
  ])
  const text = await request(admin.url, { path: '/plugins/texty/metrics', headers })
  t.equal(text.status, 200)
  t.equal(text.headers['content-type'], 'text/plain; version=0.0.4')
  t.equal(text.body.toString(), 'a_total 1\n', 'sent as it is, not as a JSON string')
})
