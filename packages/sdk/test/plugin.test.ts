import { definePlugin, PLUGIN_API_VERSION, PRIORITY, Type } from '@gatehousejs/sdk'
import t from 'tap'

/** plugin.ts: definePlugin validates what a plugin declares and stamps the plugin API version. */

const base = { version: '1.0.0', priority: 100, init: () => ({}) }

t.test('a valid definition is frozen and carries the API version', async (t) => {
  const schema = Type.Object({ greeting: Type.String({ default: 'hello' }) })
  const options = { ...base, name: 'hello', schema, stacking: true, description: 'says hello' }
  const def = definePlugin(options)
  t.equal(def.name, 'hello')
  t.equal(def.priority, 100)
  t.equal(def.schema, schema)
  t.equal(def.stacking, true)
  t.equal(def.apiVersion, PLUGIN_API_VERSION)
  t.ok(Object.isFrozen(def))
  t.not(def, options as unknown, 'a new object')
  t.notOk('apiVersion' in options, 'the options are not mutated')
})

t.test('plugin names must be kebab-case', async (t) => {
  for (const name of ['a', 'rate-limit', 'oauth2-introspection', 'x1-y2-z3']) {
    t.doesNotThrow(() => definePlugin({ ...base, name }), name)
  }
  for (const name of [
    'Hello',
    'rate_limit',
    'rateLimit',
    '1abc',
    '-x',
    'x-',
    'a--b',
    'a b',
    '',
    '@scope/x',
  ]) {
    t.throws(
      () => definePlugin({ ...base, name }),
      { name: 'TypeError', message: /must be kebab-case/ },
      JSON.stringify(name),
    )
  }
})

t.test('priority must be an integer', async (t) => {
  for (const priority of [1.5, Number.NaN, Number.POSITIVE_INFINITY, '10' as unknown as number]) {
    t.throws(
      () => definePlugin({ ...base, name: 'p', priority }),
      { name: 'TypeError', message: 'plugin "p": priority must be an integer' },
      String(priority),
    )
  }
  t.doesNotThrow(() => definePlugin({ ...base, name: 'p', priority: -5 }), 'negative is fine')
  t.doesNotThrow(() => definePlugin({ ...base, name: 'p', priority: 0 }))
})

t.test('init must be a function', async (t) => {
  t.throws(() => definePlugin({ ...base, name: 'p', init: undefined as never }), {
    name: 'TypeError',
    message: 'plugin "p": init must be a function',
  })
})

t.test('primary, when given, must be a function and is kept on the definition', async (t) => {
  t.throws(() => definePlugin({ ...base, name: 'p', primary: 'no' as never }), {
    name: 'TypeError',
    message: 'plugin "p": primary must be a function',
  })
  const primary = () => {}
  t.equal(definePlugin({ ...base, name: 'p', primary }).primary, primary)
})

t.test('the published priority bands run in the documented order', async (t) => {
  const order = [
    'requestId',
    'tracing',
    'cors',
    'ipRestriction',
    'auth',
    'acl',
    'rateLimit',
    'requestTransform',
    // Below cache, so a cache hit answers before an aggregation makes its calls.
    'cache',
    'aggregation',
    'responseTransform',
    'logger',
  ] as const
  t.same(Object.keys(PRIORITY), [...order])
  for (let i = 1; i < order.length; i++) {
    t.ok(PRIORITY[order[i - 1]!] > PRIORITY[order[i]!], `${order[i - 1]} runs before ${order[i]}`)
  }
  t.ok(Object.isFrozen(PRIORITY))
})
