import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createGateway, validateConfig } from '@gatehousejs/core'
import { captureLogs, startGateway, startUpstream } from '@gatehousejs/sdk/testing'
import t from 'tap'
import openapiValidator from '../src/index.js'

// The description's schemas are compiled by ajv in `validate`, so `gatehouse validate` reports a
// schema ajv cannot compile (every one, each named by its place in the description), and a start
// compiles the description once: `init` serves with what `validate` compiled for the same load.

/** A description with two schemas ajv cannot compile (bad regular expressions), one used twice. */
const BAD = {
  openapi: '3.0.3',
  info: { title: 'Pets', version: '1' },
  paths: {
    '/pets': {
      get: {
        parameters: [{ name: 'tag', in: 'query', schema: { type: 'string', pattern: '([a-z' } }],
        responses: { '200': { description: 'ok' } },
      },
      post: {
        requestBody: {
          content: { 'application/json': { schema: { $ref: '#/components/schemas/Pet' } } },
        },
        responses: {
          '201': {
            description: 'created',
            content: { 'application/json': { schema: { $ref: '#/components/schemas/Pet' } } },
          },
        },
      },
    },
  },
  components: {
    schemas: {
      Pet: { type: 'object', properties: { name: { type: 'string', pattern: '[' } } },
    },
  },
}

const GOOD_YAML = `openapi: 3.0.3
info: { title: Pets, version: "1" }
paths:
  /pets:
    get:
      parameters:
        - { name: limit, in: query, schema: { type: integer, maximum: 10 } }
      responses:
        "200": { description: ok }
`

function configWith(spec: unknown) {
  return {
    services: [{ name: 's', url: 'http://127.0.0.1:9', routes: [{ paths: ['/'], stripPath: false }] }],
    plugins: [{ name: 'openapi-validator', config: { spec } }],
  }
}

t.test('validate reports every schema ajv cannot compile, once each, at /config/spec', async (t) => {
  const result = await validateConfig(configWith(BAD) as never, { plugins: [openapiValidator] })
  t.equal(result.valid, false)
  const messages = result.issues.map((i) => `${i.pointer} ${i.plugin}: ${i.message}`)
  t.equal(messages.length, 2, messages.join('\n'))
  t.match(
    messages.find((m) => m.includes('parameters/0/schema')),
    /^\/plugins\/0\/config\/spec openapi-validator: the schema at #\/paths\/~1pets\/get\/parameters\/0\/schema in the OpenAPI description cannot be compiled: .*regular expression/i,
  )
  t.match(
    messages.find((m) => m.includes('components/schemas/Pet')),
    /the schema at #\/components\/schemas\/Pet in the OpenAPI description cannot be compiled/,
    'a schema used by a request body and a response is one problem',
  )
})

t.test('a start refuses the same description with the same problems', async (t) => {
  const err = await createGateway(configWith(BAD) as never, {
    plugins: [openapiValidator],
    logger: false,
  }).then(
    (gw) => gw.close().then(() => undefined),
    (e: { code?: string; issues?: Array<{ pointer: string; message: string }> }) => e,
  )
  t.equal(err?.code, 'GH_CONFIG_INVALID')
  t.equal(err?.issues?.length, 2)
  t.ok(
    err?.issues?.every((i) => i.pointer === '/plugins/0/config/spec' && /cannot be compiled/.test(i.message)),
    'the problems validate reports, not an init failure',
  )
})

t.test('a start compiles once: init serves with what validate compiled for that load', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-openapi-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const file = join(dir, 'openapi.yaml')
  writeFileSync(file, GOOD_YAML)
  const upstream = await startUpstream({ t })
  const logs = captureLogs()
  const gw = await startGateway({
    t,
    plugins: [openapiValidator],
    logger: logs.logger,
    config: {
      services: [
        { name: 'pets', url: upstream.url, routes: [{ name: 'all', paths: ['/'], stripPath: false }] },
      ],
      plugins: [{ name: 'openapi-validator', config: { spec: file } }],
    },
  })
  const logged = logs.withMsg('openapi-validator compiled')
  t.equal(logged.length, 1, 'one instance compiled')
  t.equal(logged[0]?.compiledInValidate, true, 'init reused the description validate read and compiled')
  t.equal(logged[0]?.operations, 1)

  // It serves with that compiled description.
  let res = await gw.request({ path: '/pets?limit=50' })
  t.equal(res.status, 400)
  t.equal(res.json().code, 'GH_OPENAPI_REQUEST_INVALID')
  res = await gw.request({ path: '/pets?limit=5' })
  t.equal(res.status, 200)
  t.equal(upstream.requests.length, 1, 'only the valid request reached the upstream')
})
