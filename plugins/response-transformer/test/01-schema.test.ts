import t from 'tap'
import { BASE, issuesFor } from './helpers/gateway.js'

// Schema and compile-time checks.

t.test('an unknown operation is refused by pointer', async (t) => {
  t.match(await issuesFor({ strip: { headers: ['server'] } }), [
    { pointer: BASE, plugin: 'response-transformer', message: 'unknown property "strip"' },
  ])
})

t.test('query is not a response target', async (t) => {
  t.match(await issuesFor({ add: { query: { a: 'b' } } }), [
    { pointer: `${BASE}/add`, message: 'unknown property "query"' },
  ])
})

t.test('a template with a syntax error is refused, naming the field', async (t) => {
  t.match(await issuesFor({ add: { body: { 'meta.user': '$(consumer.username' } } }), [
    { pointer: `${BASE}/add/body/meta.user`, message: /invalid template: unclosed/ },
  ])
})

t.test('a dot path that cannot be parsed is refused, naming the field', async (t) => {
  t.match(await issuesFor({ remove: { body: ['a..b'] }, rename: { body: { 'x]': 'y' } } }), [
    { pointer: `${BASE}/remove/body/0`, message: /empty segment/ },
    { pointer: `${BASE}/rename/body/x]`, message: /unexpected "\]"/ },
  ])
})

t.test('status keys must be codes or classes, and nothing maps to a status without a body', async (t) => {
  const issues = await issuesFor({ status: { '4x4': 200, '500': 204 } })
  t.ok(issues.some((i) => i.pointer === `${BASE}/status` && i.message.includes('"4x4"')))
  t.match(await issuesFor({ status: { '500': 304 } }), [
    { pointer: `${BASE}/status/500`, message: /cannot carry/ },
  ])
  t.match(await issuesFor({ status: { '5xx': 99 } }), [{ pointer: `${BASE}/status/5xx` }])
})

t.test('bodyLimit takes a size', async (t) => {
  t.match(await issuesFor({ bodyLimit: 'lots' }), [{ pointer: `${BASE}/bodyLimit` }])
})
