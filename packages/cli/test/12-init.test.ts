import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { request, startUpstream } from '@gatehousejs/sdk/testing'
import { Ajv } from 'ajv'
import t from 'tap'
import { parse } from 'yaml'
import { run, start, tempDir } from './helpers/cli.js'

// `gatehouse init`: a commented project that `validate` accepts and `start` serves, as written. The
// same project installed from packed tarballs with plain npm is in 06-packaging.test.ts.

/** A loaded machine can take many seconds to start a CLI process. */
const SLOW = { timeout: 120_000 }

const SCHEMA_HINT =
  '# yaml-language-server: $schema=./node_modules/@gatehousejs/cli/schema/gatehouse.schema.json'

t.test('init writes a project that validates and serves a request', async (t) => {
  const dir = join(tempDir(t, 'gatehouse-init-'), 'my-gateway')
  const created = await run(['init', dir], SLOW)
  t.equal(created.code, 0, created.stderr)
  t.match(created.stdout, /Created a Gatehouse project in .*my-gateway/)
  t.match(created.stdout, /npm install/, 'it says what to do next')

  const yaml = readFileSync(join(dir, 'gateway.yaml'), 'utf8')
  t.equal(yaml.split('\n')[0], SCHEMA_HINT, 'the editor hint for the JSON Schema comes first')
  t.match(yaml, /# - name: key-auth/, 'more plugins to turn on, commented out')
  // What an editor does with the hint: the CLI's JSON Schema checks the file as written (the
  // \${UPSTREAM_URL:-…} reference included) and flags a misspelt key.
  const schema = JSON.parse(readFileSync(new URL('../schema/gatehouse.schema.json', import.meta.url), 'utf8'))
  const check = new Ajv({ strict: false, allErrors: true }).compile(schema)
  const asWritten = parse(yaml)
  t.ok(check(asWritten), `the schema accepts the file as written: ${JSON.stringify(check.errors)}`)
  t.notOk(check({ ...asWritten, servces: asWritten.services }), 'and rejects a misspelt key')
  const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'))
  t.equal(manifest.name, 'my-gateway', 'named after its directory')
  t.same(Object.keys(manifest.dependencies).sort(), [
    '@gatehousejs/cli',
    '@gatehousejs/plugin-cors',
    '@gatehousejs/plugin-key-auth',
    '@gatehousejs/plugin-rate-limit',
  ])
  t.ok(
    Object.values(manifest.dependencies).every((range) => /^\^\d+\.\d+\.\d+/.test(String(range))),
    'on caret ranges of the released version',
  )
  t.match(manifest.scripts['reload:code'], /gatehouse reload --code/)

  const valid = await run(['validate', 'gateway.yaml'], { cwd: dir, ...SLOW })
  t.equal(valid.code, 0, `gatehouse validate accepts it: ${valid.stdout}${valid.stderr}`)

  const upstream = await startUpstream({ t })
  const gw = await start(t, ['gateway.yaml', '--port', '0', '--host', '127.0.0.1', '--no-watch'], {
    cwd: dir,
    env: { UPSTREAM_URL: upstream.url },
    ...SLOW,
  })
  const res = await request(gw.url, { path: '/api/hello?x=1' })
  t.equal(res.status, 200)
  t.equal(upstream.last()?.url, '/hello?x=1', 'the route strips /api')
  t.match(res.headers['x-request-id'], /\S+/, 'the local plugin runs')
  t.equal(res.headers['ratelimit-limit'], '600', 'the rate-limit plugin runs')
  t.equal((await request(gw.url, { path: '/other' })).json().code, 'GH_ROUTE_NOT_FOUND')
  await gw.stop()
})

t.test('init refuses to overwrite a file unless --force', async (t) => {
  const dir = tempDir(t, 'gatehouse-init-')
  writeFileSync(join(dir, 'gateway.yaml'), 'services: []\n')

  const refused = await run(['init', dir], SLOW)
  t.equal(refused.code, 1, 'an existing file is an error')
  t.match(refused.stderr, /gateway\.yaml already exists in .*; nothing was written/)
  t.match(refused.stderr, /--force to overwrite/)
  t.equal(readFileSync(join(dir, 'gateway.yaml'), 'utf8'), 'services: []\n', 'the file is untouched')
  t.notOk(existsSync(join(dir, 'package.json')), 'and no other file is written')

  const forced = await run(['init', dir, '--force'], SLOW)
  t.equal(forced.code, 0, forced.stderr)
  t.match(forced.stdout, /overwrote gateway\.yaml/)
  t.equal(readFileSync(join(dir, 'gateway.yaml'), 'utf8').split('\n')[0], SCHEMA_HINT)
  const valid = await run(['validate', join(dir, 'gateway.yaml')], SLOW)
  t.equal(valid.code, 0, valid.stderr)

  const extra = await run(['init', dir, 'other'], SLOW)
  t.equal(extra.code, 2, 'one directory at most: a usage error')
})
