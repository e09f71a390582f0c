import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { FIRST_PARTY_PLUGINS } from '../src/first-party.js'
import { run, tempDir, writeFiles } from './helpers/cli.js'
import { installPackage, pluginSource } from './helpers/plugins.js'

const CLI_DIR = fileURLToPath(new URL('../', import.meta.url))

interface Manifest {
  name: string
  private?: boolean
}

// `gatehouse validate` and `gatehouse routes`: every problem with file:line:column, JSON pointer and
// plugin; exit 0 when valid, 1 when not, 2 for a bad command line; plugins resolved by name.

const GOOD = `services:
  - name: users
    url: http://127.0.0.1:9
    routes:
      - name: users
        paths: [/users]
        plugins:
          - name: ./stamp.mjs
            config: { value: route }
  - name: orders
    url: http://127.0.0.1:9
    routes:
      - name: orders
        paths: [/orders]
        methods: [GET, POST]
plugins:
  - name: gatehouse-plugin-tenant
`

t.test('validate: a good file exits 0 and says what it holds', async (t) => {
  const dir = tempDir(t)
  writeFiles(dir, { 'stamp.mjs': pluginSource('stamp') })
  installPackage(dir, 'gatehouse-plugin-tenant', 'tenant')
  const file = writeFiles(dir, { 'gateway.yaml': GOOD })
  const r = await run(['validate', file])
  t.equal(r.code, 0, r.stderr)
  t.match(r.stdout, /valid \(2 routes, 2 plugin instances\)/)
})

t.test('validate: every problem, each with file:line:column, pointer and plugin; exit 1', async (t) => {
  const dir = tempDir(t)
  writeFiles(dir, { 'stamp.mjs': pluginSource('stamp') })
  installPackage(dir, 'gatehouse-plugin-tenant', 'tenant')
  writeFiles(dir, {
    'gateway.yaml': GOOD.replace('paths: [/orders]', 'paths: [orders]').replace('[GET, POST]', '[GET, post]'),
  })
  const r = await run(['validate', 'gateway.yaml'], { cwd: dir })
  t.equal(r.code, 1)
  t.match(
    r.stderr,
    /^gateway\.yaml:14:17 \/services\/1\/routes\/0\/paths\/0: must match/m,
    'the bad path, located',
  )
  t.match(r.stderr, /^gateway\.yaml:15:24 \/services\/1\/routes\/0\/methods\/1: /m, 'the bad method too')
  t.match(r.stderr, /2 problems in .*gateway\.yaml/)
  t.notMatch(r.stderr, /at .*\.js:\d+/, 'no stack trace')

  const bad = writeFiles(dir, {
    'plugin.yaml': GOOD.replace('{ value: route }', '{ value: route, extra: 1 }'),
  })
  const r2 = await run(['validate', bad])
  t.equal(r2.code, 1)
  t.match(r2.stderr, /plugin\.yaml:9:\d+ \/services\/0\/routes\/0\/plugins\/0\/config.* \(plugin stamp\)/)
})

t.test('validate: a missing plugin says what to install; a wrong API version says why', async (t) => {
  const dir = tempDir(t)
  installPackage(dir, '@acme/gatehouse-plugin-old', 'old', { apiVersion: 2 })
  const file = writeFiles(dir, {
    'gateway.yaml': `plugins:
  - name: nope
  - name: '@acme/gatehouse-plugin-old'
  - name: ./missing.mjs
`,
  })
  const r = await run(['validate', file])
  t.equal(r.code, 1)
  const line = r.stderr.split('\n').find((l) => l.includes('(plugin nope)')) ?? ''
  t.match(
    line,
    /gateway\.yaml:2:\d+ \/plugins\/0\/name \(plugin nope\): plugin "nope" is not installed: looked for @gatehousejs\/plugin-nope, gatehouse-plugin-nope, nope in the node_modules folders next to the file \(from .* upwards\) and next to the CLI \(from .* upwards\)/,
  )
  t.ok(line.includes(`from ${dir} upwards`), 'names the folder of the file')
  t.ok(line.includes(`from ${CLI_DIR} upwards`), 'names the folder of the CLI')
  t.match(
    line,
    /"nope" is not a Gatehouse plugin: a third-party plugin is published as gatehouse-plugin-nope or @<scope>\/gatehouse-plugin-nope/,
  )
  t.notMatch(
    line,
    /npm install @gatehousejs\/plugin-nope/,
    'never suggests a first-party name nobody publishes',
  )
  t.match(
    r.stderr,
    /@acme\/gatehouse-plugin-old@2\.3\.4 was built for plugin API v2, but this Gatehouse speaks v1/,
  )
  t.match(r.stderr, /no plugin file at .*missing\.mjs/)
})

t.test(
  'validate: the install hint names @gatehousejs/plugin-<name> only for first-party plugins',
  async (t) => {
    const dir = tempDir(t)
    const file = writeFiles(dir, {
      'gateway.yaml': `plugins:
  - name: grpc
  - name: cros
  - name: ratelimit
  - name: '@gatehousejs/plugin-nope'
  - name: gatehouse-plugin-tenant
`,
    })
    // NODE_PATH (pnpm sets it to its store of every package) is one more place Node looks: not here.
    const r = await run(['validate', file], { env: { NODE_PATH: '' } })
    t.equal(r.code, 1)
    const lineOf = (plugin: string) =>
      r.stderr.split('\n').find((l) => l.includes(`(plugin ${plugin})`)) ?? ''
    // (grpc: a first-party plugin that neither the file's folder nor the CLI's can reach here)
    t.match(lineOf('grpc'), /install it: npm install @gatehousejs\/plugin-grpc$/)
    t.match(lineOf('cros'), /gatehouse-plugin-cros or @<scope>\/gatehouse-plugin-cros/)
    t.match(lineOf('cros'), /Did you mean "cors" \(npm install @gatehousejs\/plugin-cors\)\?$/)
    t.match(
      lineOf('ratelimit'),
      /Did you mean "rate-limit" \(npm install @gatehousejs\/plugin-rate-limit\)\?$/,
    )
    t.match(lineOf('@gatehousejs/plugin-nope'), /Gatehouse publishes no plugin called "nope"\.$/)
    t.match(lineOf('gatehouse-plugin-tenant'), /install it: npm install gatehouse-plugin-tenant$/)
  },
)

t.test('validate and routes: a first-party plugin installed next to the CLI is found', async (t) => {
  // The CLI's own node_modules holds @gatehousejs/plugin-prometheus (a dev dependency here, as a
  // global or project install puts plugins beside the CLI); the file's folder holds nothing.
  const dir = tempDir(t)
  const file = writeFiles(dir, {
    'gateway.yaml': `services:
  - name: a
    url: http://127.0.0.1:9
    routes:
      - paths: [/a]
plugins:
  - name: prometheus
`,
  })
  const r = await run(['validate', file])
  t.equal(r.code, 0, r.stderr)
  const routes = await run(['routes', file])
  t.equal(routes.code, 0, routes.stderr)
  t.match(routes.stdout, /prometheus/)
})

t.test('the first-party list compiled into the CLI is the public plugins of this repository', async (t) => {
  const root = fileURLToPath(new URL('../../../plugins/', import.meta.url))
  const published = readdirSync(root)
    .filter((entry) => existsSync(join(root, entry, 'package.json')))
    .map((entry) => JSON.parse(readFileSync(join(root, entry, 'package.json'), 'utf8')) as Manifest)
    .filter((m) => !m.private)
    .map((m) => m.name.replace('@gatehousejs/plugin-', ''))
    .sort()
  t.same(
    [...FIRST_PARTY_PLUGINS].sort(),
    published,
    'packages/cli/src/first-party.ts lists exactly the public packages in plugins/',
  )
})

t.test('validate: unset env vars and syntax errors are reported with their place', async (t) => {
  const dir = tempDir(t)
  const file = writeFiles(dir, {
    'gateway.yaml': 'services:\n  - name: a\n    url: ${NOT_SET_FOR_THIS_TEST}\n',
  })
  const r = await run(['validate', file], { env: { NOT_SET_FOR_THIS_TEST: '' } })
  t.equal(r.code, 1)
  t.match(
    r.stderr,
    /gateway\.yaml:3:10 \/services\/0\/url: environment variable NOT_SET_FOR_THIS_TEST is not set/,
  )

  const bad = writeFiles(dir, { 'bad.yaml': 'services: [\n' })
  const r2 = await run(['validate', bad])
  t.equal(r2.code, 1)
  t.match(r2.stderr, /bad\.yaml:\d+:\d+: syntax: /)
})

t.test('validate: secrets from the environment are never printed', async (t) => {
  const dir = tempDir(t)
  const file = writeFiles(dir, {
    'gateway.yaml': 'services:\n  - name: a\n    url: ${SECRET_URL}\n    routes: [{ paths: [nope] }]\n',
  })
  const r = await run(['validate', file], { env: { SECRET_URL: 'http://user:hunter2-secret@127.0.0.1:9' } })
  t.equal(r.code, 1)
  t.notMatch(r.stdout + r.stderr, /hunter2-secret/)
})

t.test('routes: the table with each phase chain in order', async (t) => {
  const dir = tempDir(t)
  writeFiles(dir, { 'stamp.mjs': pluginSource('stamp') })
  installPackage(dir, 'gatehouse-plugin-tenant', 'tenant')
  const file = writeFiles(dir, { 'gateway.yaml': GOOD })
  const r = await run(['routes', file])
  t.equal(r.code, 0, r.stderr)
  t.match(
    r.stdout,
    /users {2}→ {2}users \(http:\/\/127\.0\.0\.1:9\)\n {2}paths: {3}\/users\n {2}methods: \(any\)\n {2}access: {2}\S+ → \S+/,
  )
  t.match(r.stdout, /orders {2}→ {2}orders[^\n]*\n {2}paths: {3}\/orders\n {2}methods: GET, POST/)
  const json = await run(['routes', file, '--json'])
  const routes = JSON.parse(json.stdout) as { name: string; plugins: { access: string[] } }[]
  t.same(
    routes.map((r) => r.name),
    ['users', 'orders'],
  )
  t.equal(routes[0]?.plugins.access.length, 2, 'route and global instance both run on users')
  t.equal(routes[1]?.plugins.access.length, 1, 'only the global one on orders')
})

t.test('usage errors exit 2 with a hint; --version and --help exit 0', async (t) => {
  const r1 = await run(['frobnicate', 'x'])
  t.equal(r1.code, 2)
  t.match(r1.stderr, /unknown command "frobnicate"\nRun `gatehouse --help` for usage\./)
  const r2 = await run(['validate'])
  t.equal(r2.code, 2)
  t.match(r2.stderr, /validate needs a file/)
  const r3 = await run(['start', 'x.yaml', '--bogus'])
  t.equal(r3.code, 2)
  t.match(r3.stderr, /Unknown option '--bogus'/)
  const r4 = await run(['start', 'x.yaml', '--workers', '0'])
  t.equal(r4.code, 2)
  const v = await run(['--version'])
  t.equal(v.code, 0)
  t.match(v.stdout, /^\d+\.\d+\.\d+\n$/)
  const h = await run(['--help'])
  t.equal(h.code, 0)
  t.match(h.stdout, /gatehouse start <file>/)
  const hs = await run(['help', 'start'])
  t.match(hs.stdout, /--workers N/)
  const none = await run([])
  t.equal(none.code, 2, 'no command is a usage error, with the help')
  t.match(none.stdout, /Usage:/)
})

t.test('start: an invalid file exits 1 without listening', async (t) => {
  const dir = tempDir(t)
  const file = writeFiles(dir, { 'gateway.yaml': 'services:\n  - name: a\n    url: 42\n' })
  const r = await run(['start', file, '--port', '0', '--no-watch'])
  t.equal(r.code, 1)
  t.match(r.stderr, /gateway\.yaml:3:10 \/services\/0\/url/)
})
