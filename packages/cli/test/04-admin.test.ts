import { request, startUpstream } from '@gatehousejs/sdk/testing'
import t from 'tap'
import { run, start, tempDir, writeFiles } from './helpers/cli.js'
import { pluginSource } from './helpers/plugins.js'

// The admin API: off by default, loopback by default, a token always; health, config with secrets
// redacted, routes, plugins and their endpoints, and applying a new config atomically.

const TOKEN = 'an-admin-token-of-some-length'

function yaml(upstreamUrl: string, value: string): string {
  return `services:
  - name: echo
    url: ${upstreamUrl}
    routes:
      - name: echo
        paths: [/]
consumers:
  - username: alice
    credentials:
      key-auth:
        - id: alice-key
          key: plain-text-key-value
plugins:
  - name: ./stamp.mjs
    id: stamp
    config: { value: "\${STAMP_VALUE:-${value}}" }
`
}

t.test('admin API over the CLI', async (t) => {
  const upstream = await startUpstream({ t })
  const dir = tempDir(t)
  writeFiles(dir, { 'stamp.mjs': pluginSource('stamp') })
  const file = writeFiles(dir, { 'gateway.yaml': yaml(upstream.url, 'from-file') })
  const gw = await start(
    t,
    [file, '--port', '0', '--host', '127.0.0.1', '--no-watch', '--admin', '127.0.0.1:0'],
    { env: { GATEHOUSE_ADMIN_TOKEN: TOKEN, STAMP_VALUE: 'env-secret-value' } },
  )
  t.ok(gw.admin, 'the admin address is printed')
  const admin = gw.admin as string
  const auth = { authorization: `Bearer ${TOKEN}` }

  const none = await request(admin, { path: '/health' })
  t.equal(none.status, 401)
  t.equal(none.json().code, 'GH_ADMIN_UNAUTHORIZED')
  t.match(none.headers['www-authenticate'], /^Bearer realm="gatehouse-admin"/)
  const wrong = await request(admin, { path: '/config', headers: { authorization: 'Bearer nope' } })
  t.equal(wrong.status, 401)
  t.equal(wrong.json().code, 'GH_ADMIN_UNAUTHORIZED')

  t.same((await request(admin, { path: '/health', headers: auth })).json(), { status: 'ok' })
  t.same((await request(admin, { path: '/ready', headers: auth })).json(), { ready: true })

  const config = await request(admin, { path: '/config', headers: auth })
  t.equal(config.status, 200)
  const shown = config.body.toString()
  t.notMatch(shown, /env-secret-value/, 'a value from the environment is redacted')
  t.notMatch(shown, /plain-text-key-value/, 'credential secrets are redacted')
  t.match(config.json(), {
    plugins: [{ config: { value: '[redacted]' } }],
    consumers: [{ credentials: { 'key-auth': [{ id: 'alice-key', key: '[redacted]' }] } }],
  })

  const routes = await request(admin, { path: '/routes', headers: auth })
  t.match(routes.json(), [{ name: 'echo', service: 'echo', plugins: { access: ['stamp'] } }])

  const plugins = await request(admin, { path: '/plugins', headers: auth })
  t.match(plugins.json(), [
    {
      id: 'stamp',
      plugin: 'stamp',
      endpoints: [
        { method: 'GET', path: '/plugins/stamp/echo/:word' },
        { method: 'POST', path: '/plugins/stamp/echo' },
      ],
    },
  ])
  const echo = await request(admin, { path: '/plugins/stamp/echo/hello', headers: auth })
  t.same(echo.json(), { word: 'hello', value: 'env-secret-value' }, 'a plugin endpoint, mounted')
  const posted = await request(admin, {
    path: '/plugins/stamp/echo',
    method: 'POST',
    headers: { ...auth, 'content-type': 'application/json' },
    body: JSON.stringify({ a: 1 }),
  })
  t.equal(posted.status, 201)
  t.same(posted.json(), { got: { a: 1 } })
  const badMethod = await request(admin, { path: '/plugins/stamp/echo', method: 'DELETE', headers: auth })
  t.equal(badMethod.status, 405)
  const missing = await request(admin, { path: '/nope', headers: auth })
  t.equal(missing.status, 404)
  t.equal(missing.json().code, 'GH_ADMIN_NOT_FOUND')

  // Apply a new config: validated, atomic.
  const invalid = await request(admin, {
    path: '/config',
    method: 'PUT',
    headers: { ...auth, 'content-type': 'application/yaml' },
    body: yaml(upstream.url, 'x').replace('paths: [/]', 'paths: [bad]'),
  })
  t.equal(invalid.status, 400)
  t.equal(invalid.json().code, 'GH_ADMIN_CONFIG_INVALID')
  t.match(invalid.json().issues, [{ pointer: '/services/0/routes/0/paths/0' }])
  t.match(
    invalid.json().issues,
    [{ pointer: '/services/0/routes/0/paths/0', line: 6, column: 17 }],
    'the line and column in the YAML body',
  )
  t.notOk(
    invalid.json().issues.some((i: { file?: string }) => 'file' in i),
    'no file name: the body is not the file',
  )
  await request(gw.url, { path: '/still' })
  t.equal(upstream.last()?.headers['x-stamp'], 'env-secret-value', 'the running config stays')

  const applied = await request(admin, {
    path: '/config',
    method: 'PUT',
    headers: { ...auth, 'content-type': 'application/yaml' },
    body: yaml(upstream.url, 'x').replace('${STAMP_VALUE:-x}', 'applied'),
  })
  t.equal(applied.status, 200, applied.body.toString())
  t.same(applied.json(), { applied: true, routes: 1 })
  await request(gw.url, { path: '/new' })
  t.equal(upstream.last()?.headers['x-stamp'], 'applied', 'the new config serves')
  t.notMatch(gw.output(), /plain-text-key-value|env-secret-value/, 'no secret in the log')
})

t.test('the admin API refuses to start without a token, or off loopback unless allowed', async (t) => {
  const dir = tempDir(t)
  writeFiles(dir, { 'stamp.mjs': pluginSource('stamp') })
  const file = writeFiles(dir, { 'gateway.yaml': yaml('http://127.0.0.1:9', 'v') })
  const noToken = await run(['start', file, '--port', '0', '--admin', '0'], {
    env: { GATEHOUSE_ADMIN_TOKEN: '' },
  })
  t.equal(noToken.code, 2)
  t.match(noToken.stderr, /GATEHOUSE_ADMIN_TOKEN/)
  const remote = await run(['start', file, '--port', '0', '--admin', '0.0.0.0:0'], {
    env: { GATEHOUSE_ADMIN_TOKEN: TOKEN },
  })
  t.equal(remote.code, 2)
  t.match(remote.stderr, /not a loopback address; add --admin-allow-remote/)
})
