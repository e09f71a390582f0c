import t from 'tap'
import { FileError, loadConfigFile, parseConfigText, substitute } from '../src/load.js'
import { tempDir, writeFiles } from './helpers/cli.js'

// Reading a gateway file: YAML and JSON, ${ENV} substitution, and positions for every JSON pointer.

const YAML = `# a gateway
services:
  - name: users
    url: \${USERS_URL}
    routes:
      - paths: [/users]
consumers:
  - username: alice
    credentials:
      key-auth:
        - key: \${ALICE_KEY:-dev-key}
`

t.test('YAML: values come from the environment, with defaults', async (t) => {
  const loaded = parseConfigText(YAML, '/x/gateway.yaml', { USERS_URL: 'http://127.0.0.1:3001' })
  t.equal(loaded.config.services?.[0]?.url, 'http://127.0.0.1:3001')
  t.equal(loaded.config.consumers?.[0]?.credentials?.['key-auth']?.[0]?.key, 'dev-key', 'the default applies')
  t.same([...loaded.substituted].sort(), ['/consumers/0/credentials/key-auth/0/key', '/services/0/url'])
})

t.test('an unset variable is an error naming it and its place; every one is reported', async (t) => {
  const err = (() => {
    try {
      parseConfigText(YAML.replace('${ALICE_KEY:-dev-key}', '${ALICE_KEY}'), '/x/gateway.yaml', {})
    } catch (e) {
      return e
    }
  })()
  t.type(err, FileError)
  const e = err as FileError
  t.equal(e.issues.length, 2)
  t.match(e.issues[0]?.message, /environment variable USERS_URL is not set/)
  t.equal(e.issues[0]?.pointer, '/services/0/url')
  t.same(e.positions[0], { line: 4, column: 10 })
  t.match(e.issues[1]?.message, /ALICE_KEY/)
  t.equal(e.positions[1]?.line, 11)
})

t.test('an empty variable counts as unset; $${ writes a literal', async (t) => {
  t.same(substitute('${A}', { A: '' }).missing, ['A'])
  t.equal(substitute('$${A} and ${B}', { B: 'b' }).value, '${A} and b')
  t.equal(substitute('${A:-}', {}).value, '', 'an empty default is allowed')
  t.ok(substitute('${bad-name}', {}).bad, 'a malformed reference is flagged')
})

t.test('JSON files read the same way, with positions', async (t) => {
  const dir = tempDir(t)
  const file = writeFiles(dir, {
    'gw.json': '{\n  "services": [\n    { "name": "a", "url": "${A_URL}" }\n  ]\n}\n',
  })
  const loaded = await loadConfigFile(file, { A_URL: 'http://127.0.0.1:9' })
  t.equal(loaded.config.services?.[0]?.url, 'http://127.0.0.1:9')
  t.same(loaded.locate('/services/0/url'), { line: 3, column: 27 }, 'the value, where the fix goes')
  t.same(loaded.locate('/services/0/routes/0'), { line: 3, column: 5 }, 'missing: the nearest ancestor')
})

t.test('syntax errors and unreadable files are FileErrors with a place', async (t) => {
  const dir = tempDir(t)
  const bad = writeFiles(dir, { 'bad.yaml': 'services:\n  - name: a\n    url: [unclosed\n' })
  const e1 = await loadConfigFile(bad).catch((e: unknown) => e)
  t.type(e1, FileError)
  t.match((e1 as FileError).issues[0]?.message, /^syntax: /)
  t.ok((e1 as FileError).positions[0]?.line, 'a line is given')

  const dup = writeFiles(dir, { 'dup.yaml': 'services: []\nservices: []\n' })
  const e2 = await loadConfigFile(dup).catch((e: unknown) => e)
  t.match((e2 as FileError).issues[0]?.message, /syntax: .*unique/i, 'duplicate keys are refused')

  const e3 = await loadConfigFile(`${dir}/missing.yaml`).catch((e: unknown) => e)
  t.match((e3 as FileError).issues[0]?.message, /no such file/)

  const list = writeFiles(dir, { 'list.yaml': '- a\n- b\n' })
  const e4 = await loadConfigFile(list).catch((e: unknown) => e)
  t.match((e4 as FileError).issues[0]?.message, /must hold an object/)
})

t.test('an empty file is an empty config', async (t) => {
  const loaded = parseConfigText('', '/x/empty.yaml', {})
  t.same(loaded.config, {})
})
