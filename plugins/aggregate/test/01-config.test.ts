import type { ConfigIssue, GatewayConfig } from '@gatehousejs/core'
import { configIssues } from '@gatehousejs/sdk/testing'
import t, { type Test } from 'tap'
import aggregate from '../src/index.js'

// Bad configurations are refused at load, each problem naming its JSON pointer.

function config(calls: unknown[], extra: Record<string, unknown> = {}): GatewayConfig {
  return {
    services: [
      { name: 'users', url: 'http://127.0.0.1:9', routes: [{ name: 'users', paths: ['/users'] }] },
      { name: 'bff', url: 'http://127.0.0.1:9', routes: [{ name: 'home', paths: ['/home/:id'] }] },
    ],
    plugins: [{ name: 'aggregate', route: 'home', config: { calls, ...extra } }],
  }
}

/** Every expected issue is reported (in any order), and nothing else. */
function expectIssues(
  t: Test,
  issues: ConfigIssue[],
  expected: Array<{ pointer: string; message: RegExp; plugin?: string }>,
): void {
  for (const e of expected) {
    t.ok(
      issues.some((i) => i.pointer === e.pointer && e.message.test(i.message)),
      `${e.pointer}: ${e.message}`,
    )
  }
  t.equal(issues.length, expected.length, 'no other issue')
}

const issuesOf = (calls: unknown[], extra?: Record<string, unknown>) =>
  configIssues({ plugins: [aggregate], config: config(calls, extra) })

t.test('a call naming a service or route that does not exist', async (t) => {
  const issues = await issuesOf([
    { name: 'a', service: 'nope', path: '/' },
    { name: 'b', route: 'gone', path: '/' },
    { name: 'c', path: '/' },
  ])
  expectIssues(t, issues, [
    { pointer: '/plugins/0/config/calls/0/service', message: /no service named "nope"/ },
    { pointer: '/plugins/0/config/calls/1/route', message: /no route named "gone"/ },
    { pointer: '/plugins/0/config/calls/2', message: /exactly one of "service" and "route"/ },
  ])
})

t.test('a cycle in the dependencies, explicit or through templates', async (t) => {
  const issues = await issuesOf([
    { name: 'a', service: 'users', path: '/a/$(calls.c.body.id)' },
    { name: 'b', service: 'users', path: '/b', dependsOn: ['a'] },
    { name: 'c', service: 'users', path: '/c', dependsOn: ['b'] },
  ])
  t.equal(issues.length, 1)
  t.match(issues[0], { pointer: '/plugins/0/config/calls/0/dependsOn', message: /cycle: a → c → b → a/ })
})

t.test('unknown or self dependencies', async (t) => {
  const issues = await issuesOf([
    { name: 'a', service: 'users', path: '/a', dependsOn: ['zed', 'a'] },
    { name: 'b', service: 'users', path: '/b/$(calls.nobody.body.id)' },
    { name: 'b', service: 'users', path: '/b' },
  ])
  expectIssues(t, issues, [
    { pointer: '/plugins/0/config/calls/2/name', message: /duplicate call name "b"/ },
    { pointer: '/plugins/0/config/calls/0/dependsOn/0', message: /no call named "zed"/ },
    { pointer: '/plugins/0/config/calls/0/dependsOn/1', message: /cannot depend on itself/ },
    { pointer: '/plugins/0/config/calls/1/path', message: /no call named "nobody"/ },
  ])
})

t.test('invalid dot paths and templates', async (t) => {
  const issues = await issuesOf([
    {
      name: 'a',
      service: 'users',
      path: '/a/$(params.id',
      allow: ['ok', 'items[x'],
      deny: ['a..b'],
      target: 'data[*]',
      mapping: { 'x.': 'y' },
      setHeaders: { 'x-who': '$(nobody.x)' },
    },
  ])
  expectIssues(t, issues, [
    { pointer: '/plugins/0/config/calls/0/setHeaders/x-who', message: /unknown variable "nobody"/ },
    { pointer: '/plugins/0/config/calls/0/path', message: /unclosed/ },
    { pointer: '/plugins/0/config/calls/0/target', message: /"\*" is not allowed/ },
    { pointer: '/plugins/0/config/calls/0/allow/1', message: /invalid path "items\[x"/ },
    { pointer: '/plugins/0/config/calls/0/deny/0', message: /invalid path "a\.\.b"/ },
    { pointer: '/plugins/0/config/calls/0/mapping/x.', message: /invalid path "x\."/ },
  ])
})

t.test('hop-by-hop and body headers are refused; an unknown merge function too', async (t) => {
  const issues = await issuesOf(
    [
      {
        name: 'a',
        service: 'users',
        path: '/a',
        headers: ['authorization', 'Connection', 'content-length'],
        setHeaders: { host: 'evil' },
      },
    ],
    { merge: 'custom' },
  )
  expectIssues(t, issues, [
    { pointer: '/plugins/0/config/calls/0/headers/1', message: /"connection" is never passed/ },
    { pointer: '/plugins/0/config/calls/0/headers/2', message: /"content-length" is never passed/ },
    { pointer: '/plugins/0/config/calls/0/setHeaders/host', message: /cannot be set/ },
    { pointer: '/plugins/0/config/merge', message: /no merge function "custom"/ },
  ])
})

t.test('the schema: calls are required, fields are checked', async (t) => {
  const issues = await configIssues({
    plugins: [aggregate],
    config: {
      ...config([]),
      plugins: [
        {
          name: 'aggregate',
          route: 'home',
          config: { calls: [{ name: '1x', service: 'users', path: 'x' }] },
        },
      ],
    },
  })
  t.ok(issues.some((i) => i.pointer === '/plugins/0/config/calls/0/name'))
  t.ok(issues.some((i) => i.pointer === '/plugins/0/config/calls/0/path'))
})
