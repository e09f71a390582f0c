import { createGateway, validateConfig } from '@gatehousejs/core'
import { type ConfigIssue, definePlugin, Type } from '@gatehousejs/sdk'
import type { GatewayConfig } from '@gatehousejs/sdk/config'
import t from 'tap'

/**
 * Messages an operator understands: what a pattern expects (not the regex), "did you mean" for
 * unknown properties and names, Kong's field names with the Gatehouse spelling; and validateConfig,
 * which reports every problem at once without initialising any plugin.
 */

const UPSTREAM = 'http://127.0.0.1:9'
let inits = 0
const limiter = definePlugin({
  name: 'limiter',
  version: '1.0.0',
  priority: 100,
  schema: Type.Object(
    {
      limits: Type.Object({ minute: Type.Optional(Type.Integer()), hour: Type.Optional(Type.Integer()) }),
      keyHeader: Type.Optional(Type.String()),
    },
    { additionalProperties: false },
  ),
  validate(config) {
    return config.limits.minute === 0 ? [{ pointer: '/config/limits/minute', message: 'must not be 0' }] : []
  },
  init() {
    inits++
    return {}
  },
})

async function issuesOf(config: unknown): Promise<ConfigIssue[]> {
  try {
    const gw = await createGateway(config as GatewayConfig, { plugins: [limiter], logger: false })
    await gw.close()
  } catch (err) {
    return (err as { issues: ConfigIssue[] }).issues
  }
  throw new Error('the config was accepted')
}

const messageAt = (issues: ConfigIssue[], pointer: string) =>
  issues.find((i) => i.pointer === pointer)?.message

t.test('a failed pattern says what is expected', async (t) => {
  const issues = await issuesOf({
    services: [{ name: 'users', url: UPSTREAM, routes: [{ paths: ['users'], methods: ['get'] }] }],
  })
  t.equal(
    messageAt(issues, '/services/0/routes/0/paths/0'),
    'must match a route path: paths must start with "/" (or "=/" for an exact match) ("users")',
  )
  t.equal(
    messageAt(issues, '/services/0/routes/0/methods/0'),
    'must match an HTTP method: upper-case letters, e.g. "GET" ("get")',
  )
  for (const i of issues) t.notMatch(i.message, /\^|\$"/, `no regular expression in "${i.message}"`)
})

t.test('unknown properties: did you mean, camelCase for snake_case, Kong spellings', async (t) => {
  const issues = await issuesOf({
    services: [
      {
        name: 'users',
        url: UPSTREAM,
        read_timeout: 60000,
        protocols: ['http'],
        routes: [{ pahts: ['/x'], paths: ['/'], strip_path: false }],
      },
    ],
    plugins: [{ name: 'limiter', config: { minute: 5, limits: { hour: 10 }, key_header: 'x' } }],
  })
  const all = issues.map((i) => `${i.pointer}: ${i.message}`)
  t.ok(
    all.includes(
      '/services/0: unknown property "read_timeout"; Kong\'s read_timeout is `timeouts.read` here (e.g. timeouts: { read: 60s })',
    ),
    all.join('\n'),
  )
  t.ok(all.some((m) => /^\/services\/0: unknown property "protocols"; a service has no `protocols`/.test(m)))
  t.ok(all.includes('/services/0/routes/0: unknown property "pahts"; did you mean "paths"?'))
  t.ok(
    all.includes(
      '/services/0/routes/0: unknown property "strip_path"; did you mean "stripPath"? (Gatehouse spells fields in camelCase)',
    ),
  )
  t.ok(all.includes('/plugins/0/config: unknown property "minute"; did you mean "limits.minute"?'))
  t.ok(
    all.includes(
      '/plugins/0/config: unknown property "key_header"; did you mean "keyHeader"? (Gatehouse spells fields in camelCase)',
    ),
  )
})

t.test('validateConfig: every problem at once, hints for names, no plugin initialised', async (t) => {
  inits = 0
  const config = {
    services: [{ name: 'users', url: UPSTREAM, routes: [{ name: 'users', paths: ['nope'] }] }],
    consumers: [{ username: 'alice' }],
    plugins: [
      { name: 'limiter', route: 'userz', config: { limits: { minute: 0 } } },
      { name: 'limiter', service: 'user', config: { limits: { minute: 0 } } },
      { name: 'limiter', consumer: 'alise', config: { limits: { hour: 1 } } },
      { name: 'limitr' },
    ],
  }
  const result = await validateConfig(config as GatewayConfig, { plugins: [limiter], file: 'gw.yaml' })
  t.equal(result.valid, false)
  const by = (p: string) => messageAt(result.issues, p)
  t.match(by('/services/0/routes/0/paths/0'), /paths must start with "\/"/, 'the schema problem')
  t.equal(by('/plugins/0/route'), 'no route named "userz"; did you mean "users"?')
  t.equal(by('/plugins/1/service'), 'no service named "user"; did you mean "users"?')
  t.equal(by('/plugins/2/consumer'), 'no consumer with id or username "alise"; did you mean "alice"?')
  t.match(
    by('/plugins/3/name'),
    /^unknown plugin "limitr"; registered plugins: limiter; did you mean "limiter"\?$/,
  )
  t.equal(by('/plugins/0/config/limits/minute'), 'must not be 0', "the plugin's own validate, located")
  t.equal(by('/plugins/1/config/limits/minute'), 'must not be 0')
  t.ok(
    result.issues.every((i) => i.file === 'gw.yaml'),
    'each issue names the file',
  )
  t.equal(inits, 0, 'no init was called')

  const good = await validateConfig(
    {
      services: [{ name: 'users', url: UPSTREAM, routes: [{ name: 'users', paths: ['/'] }] }],
      plugins: [{ name: 'limiter', config: { limits: { minute: 1 } } }],
    },
    { plugins: [limiter] },
  )
  t.same(good, { valid: true, issues: [], routes: 1, instances: 1 })
  t.equal(inits, 0, 'still no init')
  const input = { services: [{ name: 'users', url: UPSTREAM, timeouts: { read: '5s' } }] }
  await validateConfig(input as GatewayConfig)
  t.same(input.services[0]?.timeouts, { read: '5s' }, "the caller's object is not normalised in place")
})

t.test("a load runs the plugin's validate before any init", async (t) => {
  inits = 0
  const issues = await issuesOf({
    services: [{ name: 'users', url: UPSTREAM, routes: [{ paths: ['/'] }] }],
    plugins: [{ name: 'limiter', config: { limits: { minute: 0 } } }],
  })
  t.same(issues, [
    { pointer: '/plugins/0/config/limits/minute', plugin: 'limiter', message: 'must not be 0' },
  ])
  t.equal(inits, 0)
})
