import { createGateway, type GatewayConfig } from '@gatehousejs/core'
import t from 'tap'
import requestTransformer from '../src/index.js'
import { BASE, issuesFor } from './helpers/gateway.js'

// Schema and compile-time checks: what an operator sees when the config is wrong.

t.test('an empty config is valid and gets every operation defaulted to {}', async (t) => {
  const config: GatewayConfig = {
    services: [
      {
        name: 'api',
        url: 'http://127.0.0.1:9',
        routes: [{ name: 'api', paths: ['/'], plugins: [{ name: 'request-transformer', config: {} }] }],
      },
    ],
  }
  const gw = await createGateway(config, { plugins: [requestTransformer], logger: false })
  t.teardown(() => gw.close())
  t.same(gw.config.services?.[0]?.routes?.[0]?.plugins?.[0]?.config, {
    remove: {},
    rename: {},
    replace: {},
    add: {},
    append: {},
  })
})

t.test('an unknown operation is refused by pointer', async (t) => {
  const issues = await issuesFor({ delete: { headers: ['x-a'] } })
  t.match(issues, [{ pointer: BASE, plugin: 'request-transformer', message: 'unknown property "delete"' }])
})

t.test('an unknown target inside an operation is refused by pointer', async (t) => {
  const issues = await issuesFor({ add: { cookies: { a: 'b' } } })
  t.match(issues, [{ pointer: `${BASE}/add`, message: 'unknown property "cookies"' }])
})

t.test('a template with a syntax error is refused, naming the field', async (t) => {
  const issues = await issuesFor({ add: { headers: { 'x-tenant': 'id-$(headers.x-tenant' } } })
  t.equal(issues.length, 1)
  t.match(issues[0], {
    pointer: `${BASE}/add/headers/x-tenant`,
    plugin: 'request-transformer',
    message: /invalid template: unclosed "\$\("/,
  })
})

t.test('a template naming an unknown variable is refused, listing the known ones', async (t) => {
  const issues = await issuesFor({ append: { query: { who: '$(user.name)' } } })
  t.match(issues, [
    { pointer: `${BASE}/append/query/who`, message: /unknown variable "user".*headers, query/ },
  ])
})

t.test('an empty $() and a bad path inside $() are refused', async (t) => {
  const issues = await issuesFor({
    add: { headers: { 'x-a': '$( )' }, body: { a: '$(headers..x)' } },
  })
  t.equal(issues.length, 2)
  t.match(issues, [
    { pointer: `${BASE}/add/headers/x-a`, message: /empty/ },
    { pointer: `${BASE}/add/body/a`, message: /empty segment/ },
  ])
})

t.test('a dot path that cannot be parsed is refused, naming the field', async (t) => {
  const issues = await issuesFor({
    remove: { body: ['user.', 'ok.path'] },
    rename: { body: { 'a[x]': 'b' } },
    replace: { body: { 'items[0': 1 } },
  })
  t.equal(issues.length, 3)
  t.match(issues, [
    { pointer: `${BASE}/remove/body/0`, message: /invalid path "user\."/ },
    { pointer: `${BASE}/rename/body/a[x]`, message: /bracket/ },
    { pointer: `${BASE}/replace/body/items[0`, message: /unclosed "\["/ },
  ])
})

t.test('a rename into more "*" than it reads is refused', async (t) => {
  const issues = await issuesFor({ rename: { body: { name: 'items[*].name' } } })
  t.match(issues, [{ pointer: `${BASE}/rename/body/name`, message: /more "\*"/ }])
})

t.test(
  'a bad uriPattern, captures without one, and uriPattern without replace.uri are refused',
  async (t) => {
    t.match(await issuesFor({ uriPattern: '^/v1/(' }), [
      { pointer: `${BASE}/uriPattern`, message: /invalid regular expression/ },
      { pointer: `${BASE}/uriPattern`, message: /needs replace.uri/ },
    ])
    t.match(await issuesFor({ replace: { uri: '/v2/$(captures.1)' } }), [
      { pointer: `${BASE}/replace/uri`, message: /needs uriPattern/ },
    ])
    t.match(await issuesFor({ replace: { uri: '/v2/$(nope)' } }), [
      { pointer: `${BASE}/replace/uri`, message: /unknown variable "nope"/ },
    ])
  },
)

t.test('jsonTypes naming a field the operation does not set is refused', async (t) => {
  const issues = await issuesFor({ add: { body: { n: '$(query.n)' }, jsonTypes: { m: 'number' } } })
  t.match(issues, [{ pointer: `${BASE}/add/jsonTypes/m`, message: /not a field/ }])
  const bad = await issuesFor({ add: { body: { n: '1' }, jsonTypes: { n: 'integer' } } })
  t.match(bad, [{ pointer: `${BASE}/add/jsonTypes/n` }])
})

t.test('header names must be tokens; a header value with CR/LF cannot be configured', async (t) => {
  const issues = await issuesFor({ add: { headers: { 'bad name': 'v' } }, remove: { headers: ['x ok'] } })
  t.ok(issues.some((i) => i.pointer === `${BASE}/add/headers` && i.message.includes('"bad name"')))
  t.ok(issues.some((i) => i.pointer === `${BASE}/remove/headers/0`))
})

t.test('httpMethod must be an upper-case token', async (t) => {
  const issues = await issuesFor({ httpMethod: 'post' })
  t.match(issues, [{ pointer: `${BASE}/httpMethod`, message: /pattern/ }])
})
