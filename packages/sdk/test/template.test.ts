import { compileTemplate, TemplateSyntaxError } from '@gatehousejs/sdk/transform'
import t from 'tap'

const scope = {
  headers: { 'x-tenant': 'acme', 'x-list': ['a', 'b'] },
  consumer: { username: 'ada', id: 7, groups: ['x', 'y'] },
  shared: { user: { plan: 'gold', flags: { beta: true } } },
}

t.test('placeholders render from the scope; static text stays', async (t) => {
  const tpl = compileTemplate('t=$(headers.x-tenant) u=$( consumer.username ) id=$(consumer.id)')
  t.equal(tpl.render(scope), 't=acme u=ada id=7')
  t.same([...tpl.variables], ['headers', 'consumer'])
  t.notOk(tpl.isStatic)
  const plain = compileTemplate('no placeholders')
  t.ok(plain.isStatic)
  t.equal(plain.render({}), 'no placeholders')
})

t.test('how values render: arrays joined, objects as JSON, missing as ""', async (t) => {
  t.equal(compileTemplate('$(headers.x-list)').render(scope), 'a,b')
  t.equal(compileTemplate('$(shared.user.flags)').render(scope), '{"beta":true}')
  t.equal(compileTemplate('[$(shared.nope.deeper[3])]').render(scope), '[]')
  t.equal(compileTemplate('[$(missing)]').render(scope), '[]')
  t.equal(compileTemplate('$(consumer.groups[1])').render(scope), 'y')
})

t.test('options: allowed variables, lower-cased first keys, escaping', async (t) => {
  t.throws(() => compileTemplate('$(user.name)', { variables: ['headers'] }), {
    name: 'TemplateSyntaxError',
    message: /unknown variable "user" \(use one of headers\)/,
  })
  t.equal(compileTemplate('$(headers.X-Tenant)', { lowerCase: ['headers'] }).render(scope), 'acme')
  const esc = compileTemplate('/p/$(headers.x-tenant)', { escape: (v) => v.toUpperCase() })
  t.equal(esc.render(scope), '/p/ACME')
})

t.test('syntax errors are thrown at compile time', async (t) => {
  for (const [source, why] of [
    ['a $(b', /unclosed "\$\(" at character 3/],
    ['$()', /empty/],
    ['$(a..b)', /empty segment/],
    ['$(a.*)', /"\*" is not allowed/],
    ['$([0])', /must start with a variable name/],
  ] as const) {
    t.throws(() => compileTemplate(source), TemplateSyntaxError, source)
    t.throws(() => compileTemplate(source), { message: why }, source)
  }
})

t.test('\\$( is a literal', async (t) => {
  t.equal(compileTemplate('\\$(x) $(a)').render({ a: 1 }), '$(x) 1')
})
