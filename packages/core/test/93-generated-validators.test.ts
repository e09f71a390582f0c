import { readFileSync } from 'node:fs'
import { GatewayConfigSchema, TlsSchema } from '@gatehousejs/sdk/config'
import t from 'tap'
import { GENERATED_FILE, validatorsSource } from '../scripts/write-validators.js'
import { compileSchema, validateGatewayConfig, validateTls } from '../src/config/ajv.js'

/**
 * The gateway's own schemas are compiled at build time (scripts/write-validators.ts): the generated
 * module must be what the SDK's current config model compiles to, and validate exactly as the same
 * schema compiled at run time does (same defaults and normalised values, same error objects, so the
 * same messages).
 */

t.test('the generated validators are up to date with the SDK config model', async (t) => {
  const onDisk = readFileSync(GENERATED_FILE, 'utf8')
  t.ok(
    onDisk === validatorsSource(),
    'src/config/validators.generated.ts is what the build writes (if not: `pnpm --filter @gatehousejs/core run build`, and commit it)',
  )
})

const plain = (v: unknown) => JSON.parse(JSON.stringify(v))

const configs: Record<string, unknown> = {
  'valid, with defaults and normalised fields': {
    redis: { default: { url: 'redis://127.0.0.1:6379', connectTimeout: '3s' } },
    services: [
      {
        name: 'users',
        targets: [{ url: 'http://127.0.0.1:1' }, { url: 'http://127.0.0.1:2', weight: 5 }],
        balancing: { algorithm: 'consistent-hashing', hashOn: 'header', hashOnHeader: 'X-User' },
        timeouts: { connect: '2s', read: 1500, total: '1m' },
        mirror: [{ service: 'shadow', bodyLimit: '1mb', header: 'X-Mirror' }],
        routes: [{ paths: ['/users'], headers: { 'X-Tenant': ['a', 'b'] } }],
      },
    ],
    plugins: [{ name: 'cors', when: { headers: { Origin: true } } }],
    limits: { requestBody: '64kb' },
    server: { headersTimeout: '10s', maxConnections: 10 },
  },
  'one of every kind of mistake': {
    servics: [],
    services: [
      {
        name: 'bad name!',
        url: 5,
        read_timeout: 10,
        strip_path: true,
        timeouts: { connect: 'soon', read_timeout: '1s' },
        balancing: { algorithm: 'random', hashOnHeader: 'bad header' },
        mirror: [{ bodyLimit: 'huge' }],
        routes: [
          { paths: ['users'], methods: ['get'], hosts: ['bad host!'], protocols: ['http'], pahts: [] },
        ],
      },
      { url: 'http://127.0.0.1:1', routes: [{ paths: [] }] },
    ],
    consumers: [{ id: '', credentials: { 'key-auth': [{ key: 1 }] }, extra: 1 }],
    plugins: [{ name: 'Bad Name', config: 'x', when: { methods: [], headers: { 'a b': 1 } } }],
    trustProxy: 'yes',
    limits: { requestBody: -1 },
    escapedSlashes: 'maybe',
    tls: { certificates: [{ cert: '' }], minVersion: 'TLSv1.0' },
  },
  'not an object': [1, 2],
}

for (const [name, config] of Object.entries(configs)) {
  t.test(`generated and run-time compiled validators agree: ${name}`, async (t) => {
    const runtime = compileSchema(GatewayConfigSchema)
    const a = structuredClone(config)
    const b = structuredClone(config)
    t.equal(validateGatewayConfig(a), runtime(b), 'same verdict')
    t.same(plain(validateGatewayConfig.errors), plain(runtime.errors), 'same error objects')
    t.same(a, b, 'same defaults and normalised values')
  })
}

t.test('generated and run-time compiled tls validators agree', async (t) => {
  const runtime = compileSchema(TlsSchema)
  for (const config of [
    { certificates: [{ cert: 'c', key: 'k', serverNames: ['*.example.com'] }] },
    { certificates: [], clientCertificates: { mode: 'sometimes' }, watch: 'yes' },
  ]) {
    const a = structuredClone(config)
    const b = structuredClone(config)
    t.equal(validateTls(a), runtime(b))
    t.same(plain(validateTls.errors), plain(runtime.errors))
    t.same(a, b)
  }
})
