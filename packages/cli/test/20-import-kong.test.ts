import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { parse } from 'yaml'
import { main } from '../src/cli.js'
import { regexToPath } from '../src/import/kong.js'
import { Fields, KONG_PLUGINS, kongPluginMapping } from '../src/import/kong-plugins.js'
import { tempDir, writeFiles } from './helpers/cli.js'

// `gatehouse import kong`: Kong declarative files (written for these tests in the shapes Kong documents
// for _format_version 1.1, 2.1 and 3.0) become Gatehouse files that `gatehouse validate` accepts.

const FIXTURES = new URL('./fixtures/kong/', import.meta.url).pathname

function capture() {
  const lines = { out: [] as string[], err: [] as string[] }
  const out = {
    log: (...a: unknown[]) => lines.out.push(a.join(' ')),
    error: (...a: unknown[]) => lines.err.push(a.join(' ')),
  } as unknown as Console
  return { out, lines }
}

async function cli(args: string[]) {
  const { out, lines } = capture()
  const code = await main(args, out)
  return { code, stdout: lines.out.join('\n'), stderr: lines.err.join('\n') }
}

for (const [file, format] of [
  ['kong-1.1.yml', '1.1'],
  ['kong-2.1.json', '2.1'],
  ['kong-3.0.yml', '3.0'],
] as const) {
  t.test(`_format_version ${format}: imported, and the output passes gatehouse validate`, async (t) => {
    const dir = tempDir(t)
    const output = join(dir, 'gateway.yaml')
    const r = await cli(['import', 'kong', join(FIXTURES, file), '-o', output])
    t.equal(r.code, 0, r.stderr)
    const text = readFileSync(output, 'utf8')
    t.match(text, /^# Imported by `gatehouse import kong` from /, 'a commented header')
    const v = await cli(['validate', output])
    t.equal(v.code, 0, `${v.stderr}\n${text}`)
    t.match(v.stdout, /valid \(/)
  })
}

t.test('3.0: services, routes, upstreams, consumers and plugins at every scope', async (t) => {
  const dir = tempDir(t)
  const output = join(dir, 'gateway.yaml')
  const r = await cli(['import', 'kong', join(FIXTURES, 'kong-3.0.yml'), '-o', output])
  t.equal(r.code, 0)
  const config = parse(readFileSync(output, 'utf8'))
  const [users, orders, tokens] = config.services
  t.match(users, {
    name: 'users',
    url: 'http://users.internal:8080/api',
    timeouts: { connect: 2000, read: 30000 },
    retries: { attempts: 3 },
  })
  t.same(users.routes[1], {
    name: 'user-by-id',
    paths: ['=/users/:id'],
    methods: ['GET'],
    stripPath: false,
    preserveHost: true,
  })
  t.same(users.routes[2].hosts, ['api.example.com', '*.example.org'])
  t.same(users.routes[2].headers, { 'x-version': ['2', '2.1'] })
  t.equal(users.routes.length, 3, 'the route with an unconvertible regex is left out')
  t.match(r.stderr, /\/services\/0\/routes\/3\/paths\/0: regex path .*an alternation/)
  t.match(r.stderr, /\/services\/0\/routes\/1\/regex_priority: /)

  t.match(orders, {
    targets: [
      { url: 'http://127.0.0.1:9101', weight: 100 },
      { url: 'http://127.0.0.1:9102', weight: 50 },
    ],
    path: '/v1',
    balancing: { algorithm: 'consistent-hashing', hashOn: 'header', hashOnHeader: 'x-tenant' },
    healthchecks: {
      active: {
        path: '/health',
        interval: '5s',
        timeout: '2s',
        healthyStatuses: [200, 204],
        healthyThreshold: 2,
        unhealthyThreshold: 3,
      },
      passive: { enabled: true, failures: 5, statuses: [500, 503] },
    },
  })
  t.same(
    tokens.routes[0].plugins.map((p: { name: string }) => p.name),
    ['jwt', 'ip-restriction'],
    'route plugins stay on the route',
  )
  t.match(r.stderr, /\/services\/2\/routes\/1\/plugins\/1: Kong plugin http-log has no Gatehouse equivalent/)

  const [alice, guest] = config.consumers
  t.equal(alice.id, 'alice')
  t.equal(alice.customId, 'crm-1')
  t.same(alice.groups, ['staff'])
  t.match(alice.credentials['key-auth'][0].keySha256, /^[0-9a-f]{64}$/, 'keys are kept as digests')
  t.notMatch(readFileSync(output, 'utf8'), /alice-secret-key|alice-password/, 'no secret in clear')
  t.match(alice.credentials['basic-auth'][0], { username: 'alice', password: /^\$scrypt\$ln=15,r=8,p=1\$/ })
  t.same(alice.credentials.jwt, [
    { key: 'alice-issuer', algorithm: 'HS256', secret: 'alice-jwt-secret-that-is-long-enough' },
  ])
  t.match(
    alice.plugins,
    [{ name: 'rate-limit', config: { limits: { minute: 1000 } } }],
    'consumer-scoped plugin',
  )
  t.equal(guest.id, 'guest')
  t.match(
    orders.plugins.find((p: { name: string }) => p.name === 'basic-auth'),
    { config: { anonymous: 'guest' } },
  )

  t.same(config.requestId, { header: 'x-correlation-id', responseHeader: true }, 'correlation-id → requestId')
  t.same(
    config.plugins.map(
      (p: { name: string; service?: string }) => `${p.name}${p.service ? `@${p.service}` : ''}`,
    ),
    ['cors', 'prometheus', 'opentelemetry', 'access-log', 'response-transformer@users'],
  )
  t.match(r.stderr, /\/plugins\/6: Kong plugin hmac-auth has no Gatehouse equivalent/)
  t.match(r.stderr, /response-transformer is configured at 2 scopes/, 'the stacking difference is a warning')
})

t.test('1.1 and 2.1: regex paths without ~, whitelist/blacklist, top-level credentials', async (t) => {
  const dir = tempDir(t)
  const o1 = join(dir, 'a.yaml')
  const r1 = await cli(['import', 'kong', join(FIXTURES, 'kong-1.1.yml'), '-o', o1])
  t.equal(r1.code, 0)
  const c1 = parse(readFileSync(o1, 'utf8'))
  t.same(c1.services[0].routes[0].paths, ['=/items/:item', '/catalog'])
  t.equal(c1.services[0].url, 'http://legacy.internal:8081/base')
  t.match(c1.services[0].plugins, [{ name: 'acl', config: { allow: ['gold'] } }, { name: 'key-auth' }])
  t.same(c1.consumers[1].groups, ['gold'], 'top-level acls')
  t.equal(c1.consumers[0].credentials['key-auth'].length, 1, 'top-level keyauth_credentials')
  t.match(c1.consumers[0].plugins, [{ name: 'request-termination', config: { statusCode: 403 } }])
  t.match(c1.plugins, [{ name: 'ip-restriction', service: 'legacy', config: { deny: ['198.51.100.7'] } }])

  const o2 = join(dir, 'b.yaml')
  const r2 = await cli(['import', 'kong', join(FIXTURES, 'kong-2.1.json'), '-o', o2])
  t.equal(r2.code, 0)
  const c2 = parse(readFileSync(o2, 'utf8'))
  t.same(c2.services[0].routes[0].paths, ['/invoices/:p1', '/invoices'])
  t.match(c2.consumers[0].credentials.jwt, [
    { key: 'erin-kid', algorithm: 'RS256', publicKey: /BEGIN PUBLIC KEY/ },
    { algorithm: 'HS512' },
  ])
  t.equal(c2.consumers[0].credentials['basic-auth'], undefined, "Kong's stored SHA-1 cannot be converted")
  t.match(r2.stderr, /basicauth_credentials\/0\/password: looks like Kong's stored SHA-1/)
  t.match(r2.stderr, /\/plugins\/0\/config\/month: /)
  t.match(r2.stderr, /\/plugins\/1: correlation-id maps to top-level settings/)
  t.match(r2.stderr, /\/plugins\/2: Kong plugin zipkin has no Gatehouse equivalent \(use opentelemetry\)/)
})

t.test('--strict: any warning fails and nothing is written; stdout without -o', async (t) => {
  const dir = tempDir(t)
  const output = join(dir, 'gateway.yaml')
  const r = await cli(['import', 'kong', join(FIXTURES, 'kong-2.1.json'), '-o', output, '--strict'])
  t.equal(r.code, 1)
  t.match(r.stderr, /5 warnings with --strict; nothing written/)
  t.throws(() => readFileSync(output))
  const clean = writeFiles(dir, {
    'clean.yml':
      '_format_version: "3.0"\nservices:\n  - name: a\n    url: http://127.0.0.1:9\n    routes:\n      - paths: [/a]\n',
  })
  const s = await cli(['import', 'kong', clean, '--strict'])
  t.equal(s.code, 0, s.stderr)
  t.match(s.stdout, /services:\n {2}- name: a\n/)
})

t.test(
  'an HMAC secret shorter than the hash output is left out with a warning, so the file stays valid',
  async (t) => {
    const dir = tempDir(t)
    const file = writeFiles(dir, {
      'short.yml': [
        '_format_version: "3.0"',
        'services:',
        '  - name: a',
        '    url: http://127.0.0.1:9',
        '    routes:',
        '      - paths: [/a]',
        'consumers:',
        '  - username: dana',
        '    jwt_secrets:',
        '      - { key: short, algorithm: HS256, secret: too-short }',
        '      - { key: long, algorithm: HS256, secret: a-secret-of-at-least-thirty-two-bytes }',
        '',
      ].join('\n'),
    })
    const output = join(dir, 'gateway.yaml')
    const r = await cli(['import', 'kong', file, '-o', output])
    t.equal(r.code, 0, r.stderr)
    t.match(r.stderr, /\/consumers\/0\/jwt_secrets\/0\/secret: an HS256 secret must be at least 32 bytes/)
    const c = parse(readFileSync(output, 'utf8'))
    t.same(
      c.consumers[0].credentials.jwt.map((k: { key: string }) => k.key),
      ['long'],
      'only the long enough key is carried over',
    )
    const v = await cli(['validate', output])
    t.equal(v.code, 0, v.stderr)
  },
)

t.test('bad input: a located error (file, line, pointer, message), never a stack', async (t) => {
  const dir = tempDir(t)
  const cases: [string, string, RegExp][] = [
    [
      'syntax.yml',
      '_format_version: "3.0"\nservices:\n  - name: [unclosed\n',
      /syntax\.yml:\d+:\d+ \/: syntax: /,
    ],
    ['noversion.yml', 'services: []\n', /noversion\.yml:1:1 \/_format_version: missing _format_version/],
    [
      'version.yml',
      '_format_version: "0.9"\n',
      /version\.yml:1:18 \/_format_version: _format_version 0\.9 is not one of 1\.1, 2\.1, 3\.0/,
    ],
    [
      'services.yml',
      '_format_version: "3.0"\nservices: {}\n',
      /services\.yml:2:11 \/services: services must be a list/,
    ],
  ]
  for (const [name, text, expected] of cases) {
    const file = writeFiles(dir, { [name]: text })
    const r = await cli(['import', 'kong', file])
    t.equal(r.code, 1, name)
    t.match(r.stderr, expected, name)
    t.notMatch(r.stderr, /at .*\.(js|ts):\d+/, `${name}: no stack`)
  }
  const missing = await cli(['import', 'kong', join(dir, 'nope.yml')])
  t.equal(missing.code, 1)
  t.match(missing.stderr, /no such file/)
  t.equal((await cli(['import', 'kong'])).code, 2, 'usage')
  t.equal((await cli(['import', 'nginx', 'x'])).code, 2, 'usage')
})

// The mapping table, row by row: each bundled Kong plugin's fields → the Gatehouse plugin's.
const ROWS: Record<string, [Record<string, unknown>, string, Record<string, unknown>]> = {
  'key-auth': [
    {
      key_names: ['k'],
      key_in_header: false,
      key_in_query: true,
      key_in_body: true,
      hide_credentials: true,
      anonymous: 'anon',
      run_on_preflight: false,
      realm: 'r',
    },
    'key-auth',
    {
      keyNames: ['k'],
      keyInHeader: false,
      keyInQuery: true,
      keyInBody: true,
      hideCredentials: true,
      anonymous: 'anon-id',
      runOnPreflight: false,
      realm: 'r',
    },
  ],
  'basic-auth': [
    { hide_credentials: true, anonymous: 'anon', realm: 'r' },
    'basic-auth',
    { hideCredentials: true, anonymous: 'anon-id', realm: 'r' },
  ],
  jwt: [
    {
      header_names: ['Authorization'],
      cookie_names: ['c'],
      uri_param_names: ['jwt'],
      key_claim_name: 'kid',
      claims_to_verify: ['exp'],
      maximum_expiration: 60,
      anonymous: 'anon',
      realm: 'r',
    },
    'jwt',
    {
      headers: ['authorization'],
      cookies: ['c'],
      queryParams: ['jwt'],
      keyClaim: 'kid',
      requiredClaims: ['exp'],
      maximumExpiration: '60s',
      anonymous: 'anon-id',
      realm: 'r',
    },
  ],
  acl: [{ whitelist: ['a'], hide_groups_header: true }, 'acl', { allow: ['a'], hideGroupsHeader: true }],
  'rate-limiting': [
    {
      second: 1,
      minute: 2,
      hour: 3,
      day: 4,
      limit_by: 'header',
      header_name: 'X-Key',
      policy: 'redis',
      redis_host: 'r.internal',
      redis_port: 6380,
      redis_password: 'p w',
      redis_database: 2,
      fault_tolerant: true,
      hide_client_headers: true,
    },
    'rate-limit',
    {
      limits: { second: 1, minute: 2, hour: 3, day: 4 },
      algorithm: 'fixed',
      limitBy: ['header'],
      header: 'x-key',
      redis: 'default',
      store: { onFailure: 'failOpen' },
      headers: { standard: false, perWindow: false },
    },
  ],
  'request-transformer': [
    {
      http_method: 'PUT',
      remove: { querystring: ['a'] },
      rename: { body: ['a:b'] },
      replace: { uri: '/x' },
      add: { headers: ['h:v:w'] },
      append: { body: ['l:1'] },
    },
    'request-transformer',
    {
      httpMethod: 'PUT',
      remove: { query: ['a'] },
      rename: { body: { a: 'b' } },
      replace: { uri: '/x' },
      add: { headers: { h: 'v:w' } },
      append: { body: { l: '1' } },
    },
  ],
  'response-transformer': [
    { remove: { json: ['a'] }, replace: { json: ['n:1', 'ok:true'], json_types: ['number', 'boolean'] } },
    'response-transformer',
    {
      remove: { body: ['a'] },
      replace: { body: { n: '1', ok: 'true' }, jsonTypes: { n: 'number', ok: 'boolean' } },
    },
  ],
  'proxy-cache': [
    {
      response_code: [200],
      request_method: ['GET'],
      content_type: ['text/plain; charset=utf-8'],
      cache_ttl: 30,
      cache_control: true,
      vary_query_params: ['q'],
      strategy: 'memory',
    },
    'cache',
    {
      statuses: [200],
      methods: ['GET'],
      contentTypes: ['text/plain'],
      defaultTtl: '30s',
      requestCacheControl: true,
      query: { include: ['q'] },
    },
  ],
  cors: [
    {
      origins: ['*'],
      methods: ['GET'],
      headers: ['h'],
      exposed_headers: ['e'],
      credentials: true,
      max_age: 5,
      preflight_continue: true,
      private_network: true,
    },
    'cors',
    {
      origins: ['*'],
      methods: ['GET'],
      headers: ['h'],
      exposedHeaders: ['e'],
      credentials: true,
      maxAge: 5,
      preflightContinue: true,
      privateNetwork: true,
    },
  ],
  'ip-restriction': [
    { allow: ['10.0.0.0/8'], status: 401, message: 'm' },
    'ip-restriction',
    { allow: ['10.0.0.0/8'], status: 401, message: 'm' },
  ],
  'request-size-limiting': [
    { allowed_payload_size: 3, size_unit: 'bytes', require_content_length: true },
    'request-size-limit',
    { allowedPayloadSize: '3b', requireContentLength: true },
  ],
  'request-termination': [
    { status_code: 418, message: 'm', body: 'b', content_type: 'text/plain', echo: true, trigger: 'x-t' },
    'request-termination',
    { statusCode: 418, message: 'm', body: 'b', contentType: 'text/plain', echo: true, trigger: 'x-t' },
  ],
  prometheus: [
    { per_consumer: true, latency_metrics: false, bandwidth_metrics: false },
    'prometheus',
    { perConsumer: true, latency: false, bandwidth: false },
  ],
  opentelemetry: [
    {
      traces_endpoint: 'http://c:4318/v1/traces',
      headers: { k: 'v' },
      resource_attributes: { 'service.name': 's', env: 'e' },
      sampling_rate: 0.25,
      queue: { max_batch_size: 7, max_coalescing_delay: 0.5 },
    },
    'opentelemetry',
    {
      endpoint: 'http://c:4318/v1/traces',
      headers: { k: 'v' },
      serviceName: 's',
      resourceAttributes: { env: 'e' },
      samplingRatio: 0.25,
      batch: { maxExportBatchSize: 7, scheduledDelay: 500 },
    },
  ],
  'file-log': [
    { path: '/var/log/a.log', reopen: false },
    'access-log',
    { destination: { file: '/var/log/a.log' } },
  ],
}

t.test('the mapping table, row by row', async (t) => {
  t.same(
    KONG_PLUGINS.map((m) => m.kong).sort(),
    [...Object.keys(ROWS), 'correlation-id'].sort(),
    'every row is tested',
  )
  for (const [kong, [input, plugin, expected]] of Object.entries(ROWS)) {
    const warnings: string[] = []
    const mapping = kongPluginMapping(kong)
    if (!mapping) throw new Error(kong)
    const fields = new Fields(input)
    const connections: string[] = []
    const mapped = mapping.map(fields, {
      warn: (f, m) => warnings.push(`${f}: ${m}`),
      consumer: (ref) => (ref === 'anon' ? 'anon-id' : undefined),
      redis: (url) => {
        connections.push(url)
        return 'default'
      },
    })
    t.same(mapped, { plugin, config: expected }, kong)
    if (kong === 'rate-limiting')
      t.same(
        connections,
        ['redis://:p%20w@r.internal:6380/2'],
        'the Redis server becomes a top-level connection',
      )
    t.same([...warnings, ...fields.unread(mapping.defaults)], [], `${kong}: every field carried over`)
  }
  const c = kongPluginMapping('correlation-id')
  t.same(
    c?.map(new Fields({ header_name: 'X-Id', echo_downstream: false }), {
      warn() {},
      consumer: () => undefined,
      redis: () => 'default',
    }),
    {
      topLevel: { requestId: { header: 'x-id', responseHeader: false } },
      globalOnly: true,
    },
  )
  const unknown = new Fields({ key_names: ['k'], mystery: 1 })
  kongPluginMapping('key-auth')?.map(unknown, {
    warn() {},
    consumer: () => undefined,
    redis: () => 'default',
  })
  t.same(unknown.unread(), ['mystery'], 'a field the table does not know is reported')
})

t.test('the docs list every row of the mapping table', async (t) => {
  const doc = readFileSync(new URL('../../../docs/migrating-from-kong.md', import.meta.url), 'utf8')
  for (const m of KONG_PLUGINS) {
    t.match(doc, new RegExp(`\\| \`${m.kong}\` +\\| ${m.gatehouse.replace(/[()]/g, '\\$&')}`), m.kong)
    for (const [kf, gf] of m.fields) t.ok(doc.includes(kf) && doc.includes(gf), `${m.kong}: ${kf} → ${gf}`)
  }
})

t.test('regex paths: literal paths with one-segment captures convert; others do not', async (t) => {
  t.same(regexToPath('/users/(?<id>[^/]+)$'), { path: '=/users/:id', loose: false })
  t.same(regexToPath('^/a/(\\d+)/b'), { path: '/a/:p1/b', loose: true })
  t.same(regexToPath('/v1\\.0/x'), { path: '/v1.0/x', loose: false })
  t.same(regexToPath('/invoices/\\d+/[^/]+'), { path: '/invoices/:p1/:p2', loose: true })
  t.match(regexToPath('/a/(x|y)'), { why: 'an alternation' })
  t.match(regexToPath('/a/.*'), { why: /regex character/ })
  t.match(regexToPath('/a(?<n>\\d+)'), { why: 'a capture inside a segment' })
})
