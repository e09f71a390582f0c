import { generateKeyPairSync } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { hashPassword } from '@gatehousejs/plugin-basic-auth'
import t from 'tap'
import { run, tempDir, writeFiles } from './helpers/cli.js'

// Each plugin's own checks (what its schema cannot say) run in `gatehouse validate`, through the
// plugin's `validate` hook: a config that `validate` accepts does not fail at `gatehouse start`.
// One row per check. The rows make one file (each plugin instance on a route of its own), so one run
// must report every row's problem, each with its file, line, pointer, plugin and message, and no
// other; the same file with every mistake fixed is valid. A `# <-` comment marks the line where a
// row's problem must be reported.

const FIXTURES = new URL('../../../plugins/grpc/test/fixtures/', import.meta.url)
// grpc is named by its file: test 02 needs it out of the CLI's reach by name.
const GRPC = fileURLToPath(new URL('../../../plugins/grpc/dist/index.js', import.meta.url))
const PROTO_FILES = Object.fromEntries(
  ['users.proto', 'users-messages.proto'].map((f) => [f, readFileSync(new URL(f, FIXTURES), 'utf8')]),
)
const SECRET = 'a-shared-secret-of-at-least-32-bytes!'
/** An Ed25519 public key as a YAML block scalar, indented for a `publicKey:` under `keys: - `. */
const PEM_KEY = `|\n${generateKeyPairSync('ed25519')
  .publicKey.export({ type: 'spki', format: 'pem' })
  .toString()
  .trim()
  .split('\n')
  .map((l) => `            ${l}`)
  .join('\n')}`

interface Row {
  /** The plugin the problem is reported for. */
  plugin: string
  what: string
  /** One entry of `plugins:` with the mistake (or with the consumer it checks); `{route}` is the row's route. */
  bad: string
  /** The same with the mistake fixed. */
  good: string
  /** Entries of `consumers:` (as many in `good` as in `bad`), when the row needs some. */
  consumers?: { bad: string; good: string }
  /** `{plugin}`: the index of the row's entry in `plugins`; `{consumer}`: of its first consumer. */
  pointer: string
  message: RegExp
  /** Files next to gateway.yaml. */
  files?: Record<string, string>
}

const OPENAPI_30 = `openapi: 3.0.3
info: { title: users, version: '1' }
paths:
  /users:
    get:
      responses:
        '200': { description: ok }
`

function rows(bcryptHash: string): Row[] {
  return [
    {
      plugin: 'acl',
      what: 'allow and deny together',
      bad: `  - name: acl
    route: {route}
    config: { allow: [admins], deny: [banned] } # <-`,
      good: `  - name: acl
    route: {route}
    config: { allow: [admins] }`,
      pointer: '/plugins/{plugin}/config',
      message: /^give "allow" or "deny", not both/,
    },
    {
      plugin: 'aggregate',
      what: 'a call to a service that does not exist',
      bad: `  - name: aggregate
    route: {route}
    config:
      calls:
        - { name: user, service: userz, path: /users/1 } # <-`,
      good: `  - name: aggregate
    route: {route}
    config:
      calls:
        - { name: user, service: users, path: /users/1 }`,
      pointer: '/plugins/{plugin}/config/calls/0/service',
      message: /^no service named "userz"$/,
    },
    {
      plugin: 'basic-auth',
      what: 'a password that is not a hash',
      consumers: {
        bad: `  - username: alice
    credentials:
      basic-auth:
        - { username: alice, password: s3cret-in-clear } # <-`,
        good: `  - username: alice
    credentials:
      basic-auth:
        - { username: alice, password: "${bcryptHash}" }`,
      },
      bad: `  - name: basic-auth
    route: {route}`,
      good: `  - name: basic-auth
    route: {route}`,
      pointer: '/consumers/{consumer}/credentials/basic-auth/0/password',
      message: /^must be a password hash \(\$scrypt\$\.\.\. or bcrypt \$2b\$\.\.\.\), not a plain password/,
    },
    {
      plugin: 'basic-auth',
      what: 'an anonymous consumer that does not exist',
      consumers: { bad: '  - username: visitor', good: '  - username: guest' },
      bad: `  - name: basic-auth
    route: {route}
    config: { anonymous: guest } # <-`,
      good: `  - name: basic-auth
    route: {route}
    config: { anonymous: guest }`,
      pointer: '/plugins/{plugin}/config/anonymous',
      message: /^no consumer with id or username "guest"$/,
    },
    {
      plugin: 'cache',
      what: 'HTTP purge open to anyone',
      bad: `  - name: cache
    route: {route}
    config:
      purge: { enabled: true } # <-`,
      good: `  - name: cache
    route: {route}
    config:
      purge: { enabled: true, groups: [ops] }`,
      pointer: '/plugins/{plugin}/config/purge',
      message: /^"enabled" needs "token" or "groups"/,
    },
    {
      plugin: 'cors',
      what: 'an origin with a path',
      bad: `  - name: cors
    route: {route}
    config:
      origins:
        - https://app.example.com/home # <-`,
      good: `  - name: cors
    route: {route}
    config:
      origins:
        - https://app.example.com`,
      pointer: '/plugins/{plugin}/config/origins/0',
      message: /^"https:\/\/app\.example\.com\/home" is not an origin/,
    },
    {
      plugin: 'cors',
      what: 'preflightBeforeRouting on a route',
      bad: `  - name: cors
    route: {route}
    config: { preflightBeforeRouting: true } # <-`,
      good: `  - name: cors
    config: { preflightBeforeRouting: true }`,
      pointer: '/plugins/{plugin}/config/preflightBeforeRouting',
      message: /^is allowed on global instances only/,
    },
    {
      plugin: 'grpc',
      what: 'a service the .proto does not define',
      files: PROTO_FILES,
      bad: `  - name: ${GRPC}
    route: {route}
    config:
      proto: users.proto
      service: demo.users.v1.Userz # <-`,
      good: `  - name: ${GRPC}
    route: {route}
    config:
      proto: users.proto
      service: demo.users.v1.Users
      rules: [{ rpc: GetUser, method: GET, path: "/r{row}/{id}" }]`,
      pointer: '/plugins/{plugin}/config/service',
      message: /^users\.proto defines no service "demo\.users\.v1\.Userz"$/,
    },
    {
      plugin: 'ip-restriction',
      what: 'a CIDR that is none',
      bad: `  - name: ip-restriction
    route: {route}
    config:
      allow:
        - 10.0.0.0/33 # <-`,
      good: `  - name: ip-restriction
    route: {route}
    config:
      allow:
        - 10.0.0.0/8`,
      pointer: '/plugins/{plugin}/config/allow/0',
      message: /^"10\.0\.0\.0\/33" has an invalid prefix length/,
    },
    {
      plugin: 'jwt',
      what: 'a public key that does not parse',
      bad: `  - name: jwt
    route: {route}
    config:
      keys:
        - algorithm: EdDSA
          publicKey: not a key # <-`,
      good: `  - name: jwt
    route: {route}
    config:
      keys:
        - algorithm: EdDSA
          publicKey: ${PEM_KEY}`,
      pointer: '/plugins/{plugin}/config/keys/0/publicKey',
      message: /^is not a PEM public key or certificate that can be parsed$/,
    },
    {
      plugin: 'jwt',
      what: "a consumer's secret too short for its algorithm",
      consumers: {
        bad: `  - username: carol
    credentials:
      jwt:
        - { key: carol-issuer, algorithm: HS256, secret: short } # <-`,
        good: `  - username: carol
    credentials:
      jwt:
        - { key: carol-issuer, algorithm: HS256, secret: "${SECRET}" }`,
      },
      bad: `  - name: jwt
    route: {route}`,
      good: `  - name: jwt
    route: {route}`,
      pointer: '/consumers/{consumer}/credentials/jwt/0/secret',
      message: /^an HS256 secret must be at least 32 bytes/,
    },
    {
      plugin: 'key-auth',
      what: 'one key given to two consumers',
      consumers: {
        bad: `  - username: dave
    credentials:
      key-auth: [{ key: the-same-key-for-both }]
  - username: erin
    credentials:
      key-auth: [{ key: the-same-key-for-both }] # <-`,
        good: `  - username: dave
    credentials:
      key-auth: [{ key: the-key-of-dave }]
  - username: erin
    credentials:
      key-auth: [{ key: the-key-of-erin }]`,
      },
      bad: `  - name: key-auth
    route: {route}`,
      good: `  - name: key-auth
    route: {route}`,
      pointer: '/consumers/{consumer+1}/credentials/key-auth/0/key',
      message: /^the same key as \/consumers\/\d+\/credentials\/key-auth\/0$/,
    },
    {
      plugin: 'key-auth',
      what: 'a credential with neither key nor keySha256',
      consumers: {
        bad: `  - username: frank
    credentials:
      key-auth:
        - { id: frank-key } # <-`,
        good: `  - username: frank
    credentials:
      key-auth:
        - { id: frank-key, key: the-key-of-frank }`,
      },
      bad: `  - name: key-auth
    route: {route}`,
      good: `  - name: key-auth
    route: {route}`,
      pointer: '/consumers/{consumer}/credentials/key-auth/0',
      message: /^give exactly one of "key" and "keySha256"$/,
    },
    {
      plugin: 'openapi-validator',
      what: 'a Swagger 2.0 description',
      files: {
        'swagger.yaml': `swagger: '2.0'\ninfo: { title: users, version: '1' }\npaths: {}\n`,
        'openapi.yaml': OPENAPI_30,
      },
      bad: `  - name: openapi-validator
    route: {route}
    config: { spec: ./swagger.yaml } # <-`,
      good: `  - name: openapi-validator
    route: {route}
    config: { spec: ./openapi.yaml }`,
      pointer: '/plugins/{plugin}/config/spec',
      message: /^OpenAPI 2\.0 is not supported/,
    },
    {
      plugin: 'opentelemetry',
      what: 'an endpoint that is not http(s)',
      bad: `  - name: opentelemetry
    route: {route}
    config: { endpoint: "ftp://collector:4318/v1/traces" } # <-`,
      good: `  - name: opentelemetry
    route: {route}
    config: { endpoint: "http://127.0.0.1:9/v1/traces" }`,
      pointer: '/plugins/{plugin}/config/endpoint',
      message: /^"ftp:\/\/collector:4318\/v1\/traces" is not an http\(s\) URL$/,
    },
    {
      plugin: 'prometheus',
      what: 'a scrape allow-list entry that is no address',
      bad: `  - name: prometheus
    route: {route}
    config:
      endpoint:
        allow:
          - 10.0.0.300 # <-`,
      good: `  - name: prometheus
    route: {route}
    config:
      endpoint:
        allow:
          - 10.0.0.30`,
      pointer: '/plugins/{plugin}/config/endpoint/allow/0',
      message: /^"10\.0\.0\.300" is not an IP address or CIDR/,
    },
    {
      plugin: 'rate-limit',
      what: 'two names for one window',
      bad: `  - name: rate-limit
    route: {route}
    config:
      limits:
        minute: 10
        60s: 20 # <-`,
      good: `  - name: rate-limit
    route: {route}
    config:
      limits:
        minute: 10
        90s: 20`,
      pointer: '/plugins/{plugin}/config/limits/60s',
      message: /^"minute" and "60s" are the same window; keep one$/,
    },
    {
      plugin: 'rate-limit',
      what: 'limitBy header without the header',
      bad: `  - name: rate-limit
    route: {route}
    config:
      limitBy: [header] # <-
      limits: { minute: 10 }`,
      good: `  - name: rate-limit
    route: {route}
    config:
      limitBy: [header]
      limits: { minute: 10 }
      header: x-tenant`,
      pointer: '/plugins/{plugin}/config/header',
      message: /^required when limitBy includes "header"$/,
    },
    {
      plugin: 'rate-limit',
      what: 'a Redis connection the file does not define',
      bad: `  - name: rate-limit
    route: {route}
    config:
      limits: { minute: 10 }
      redis: shared # <-`,
      good: `  - name: rate-limit
    route: {route}
    config:
      limits: { minute: 10 }`,
      pointer: '/plugins/{plugin}/config/redis',
      message:
        /^no Redis connection named "shared" in the top-level `redis` section \(the config has no `redis` section\)$/,
    },
    {
      plugin: 'request-termination',
      what: 'both body and message',
      bad: `  - name: request-termination
    route: {route}
    config:
      statusCode: 503
      message: down for maintenance
      body: "<h1>down</h1>" # <-`,
      good: `  - name: request-termination
    route: {route}
    config:
      statusCode: 503
      body: "<h1>down</h1>"`,
      pointer: '/plugins/{plugin}/config/body',
      message: /^cannot be combined with "message"/,
    },
    {
      plugin: 'request-transformer',
      what: 'a capture in the path without uriPattern',
      bad: `  - name: request-transformer
    route: {route}
    config:
      replace:
        uri: /v2/users/$(captures.id) # <-`,
      good: `  - name: request-transformer
    route: {route}
    config:
      uriPattern: ^/users/(?<id>[0-9]+)$
      replace:
        uri: /v2/users/$(captures.id)`,
      pointer: '/plugins/{plugin}/config/replace/uri',
      message: /^\$\(captures\.…\) needs uriPattern$/,
    },
    {
      plugin: 'response-transformer',
      what: 'a status mapped to one that carries no body',
      bad: `  - name: response-transformer
    route: {route}
    config:
      status:
        "404": 204 # <-`,
      good: `  - name: response-transformer
    route: {route}
    config:
      status:
        "404": 200`,
      pointer: '/plugins/{plugin}/config/status/404',
      message: /^204 cannot carry the upstream's body/,
    },
  ]
}

/** The rows as one file (bad or good), and for each row its pointer and the line of its `# <-`. */
function compose(table: readonly Row[], which: 'bad' | 'good') {
  const lines = ['services:', '  - name: users', '    url: http://127.0.0.1:9', '    routes:']
  for (let i = 0; i < table.length; i++) lines.push(`      - name: r${i}`, `        paths: [/r${i}]`)
  const marks: number[] = []
  const pointers: string[] = []
  const add = (i: number, block: string) => {
    for (const line of block.split('\n')) {
      lines.push(line.replace('{route}', `r${i}`).replace('{row}', String(i)))
      if (line.endsWith('# <-')) marks[i] = lines.length
    }
  }
  lines.push('consumers:')
  let consumer = 0
  const firstConsumer: number[] = []
  table.forEach((row, i) => {
    firstConsumer[i] = consumer
    if (!row.consumers) return
    add(i, row.consumers[which])
    consumer += row.consumers[which].split('\n').filter((l) => l.startsWith('  - ')).length
  })
  lines.push('plugins:')
  table.forEach((row, i) => {
    add(i, row[which])
    pointers[i] = row.pointer
      .replace('{plugin}', String(i))
      .replace('{consumer}', String(firstConsumer[i]))
      .replace('{consumer+1}', String(firstConsumer[i]! + 1))
  })
  return { text: `${lines.join('\n')}\n`, marks, pointers }
}

function literal(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
}

t.test("each plugin's own checks run in validate: file, line, pointer, plugin and message", async (t) => {
  const table = rows(await hashPassword('s3cret', { algorithm: 'bcrypt', cost: 4 }))
  const bad = compose(table, 'bad')
  const good = compose(table, 'good')
  const dir = tempDir(t)
  writeFiles(dir, {
    ...Object.assign({}, ...table.map((r) => r.files ?? {})),
    'gateway.yaml': bad.text,
    'fixed.yaml': good.text,
  })

  const refused = await run(['validate', 'gateway.yaml'], { cwd: dir })
  t.equal(refused.code, 1, refused.stderr)
  const problems = refused.stderr.split('\n').filter((l) => l.startsWith('gateway.yaml:'))
  table.forEach((row, i) => {
    t.test(`${row.plugin}: ${row.what}`, async (t) => {
      t.ok(bad.marks[i], 'the row marks its mistake')
      const pointer = bad.pointers[i]!
      const problem = problems.find((l) => l.includes(` ${pointer} `)) ?? ''
      t.match(
        problem,
        new RegExp(
          `^gateway\\.yaml:${bad.marks[i]}:\\d+ ${literal(pointer)} \\(plugin ${literal(row.plugin)}\\): `,
        ),
        'located by file, line and pointer, with the plugin',
      )
      t.match(problem.slice(problem.indexOf('): ') + 3), row.message, 'the message')
    })
  })
  t.equal(problems.length, table.length, 'one problem per row, each once, and no other')
  t.match(refused.stderr, new RegExp(`^gatehouse: ${table.length} problems in .*gateway\\.yaml$`, 'm'))

  const fixed = await run(['validate', 'fixed.yaml'], { cwd: dir })
  t.equal(fixed.code, 0, fixed.stderr)
  t.match(
    fixed.stdout,
    new RegExp(`^fixed\\.yaml: valid \\(${table.length} routes, ${table.length} plugin instances\\)$`, 'm'),
    'with every mistake fixed, the file validates clean',
  )
})
