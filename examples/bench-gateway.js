// A Gatehouse gateway for the benchmark (scripts/bench/run.mjs), on the built packages.
//
//   UPSTREAM_URL=http://127.0.0.1:3000 node examples/bench-gateway.js
//
// Environment: UPSTREAM_URL (required), HOST (default 127.0.0.1), PORT (default 8080; 0 picks a free
// port). Every path is forwarded unchanged (one service, one `/` route, stripPath false), logger off.
// Prints `gatehouse listening on <url>` once it serves; SIGTERM/SIGINT close it gracefully, then exit 0.
import { devNull } from 'node:os'
import { createGateway } from '@gatehousejs/core'
import { BENCH_JWT_ISSUER, BENCH_JWT_SECRET } from '../scripts/bench/jwt.mjs'

/**
 * A first-party plugin, imported only when a flag asks for it: `gatehouse start` loads only the plugins
 * a configuration names, so the proxy-only gateway measured here carries no unused plugin code in its
 * heap (about 5 MiB of heap and 17 MiB of RSS when all eleven were imported up front).
 */
async function plugin(name) {
  return (await import(`@gatehousejs/plugin-${name}`)).default
}

const plugins = []
const routePlugins = []
const consumers = []
const globalPlugins = []
// --policy: the "realistic gateway": JWT authentication (--jwt) plus rate limiting (--rate-limit).
const policy = process.argv.includes('--policy')

// ── jwt (--jwt) ──────────────────────────────────────────────────────────────────────────────────
// The jwt plugin verifying an HS256 Bearer token on the route, used the way Kong's jwt plugin is: one
// consumer whose credential `key` is the token's `iss` (scripts/bench/jwt.mjs makes the token).
/** The jwt plugin, its route instance and the consumer it needs: add all three to a gateway. */
export async function benchJwt() {
  return {
    plugin: await plugin('jwt'),
    instance: { name: 'jwt', config: {} },
    consumer: {
      username: 'bench-client',
      credentials: { jwt: [{ key: BENCH_JWT_ISSUER, algorithm: 'HS256', secret: BENCH_JWT_SECRET }] },
    },
  }
}
if (policy || process.argv.includes('--jwt')) {
  const jwt = await benchJwt()
  plugins.push(jwt.plugin)
  routePlugins.push(jwt.instance)
  consumers.push(jwt.consumer)
}

// ── key-auth (--key-auth) ────────────────────────────────────────────────────────────────────────
// key-auth on the route, one consumer among 1000 with a key each; the benchmark sends the first
// consumer's key in the `apikey` header (BENCH_API_KEY in scripts/bench/cases.mjs).
if (process.argv.includes('--key-auth')) {
  plugins.push(await plugin('key-auth'))
  routePlugins.push({ name: 'key-auth', config: {} })
  for (let i = 0; i < 1000; i++)
    consumers.push({
      username: `bench-key-${i}`,
      credentials: { 'key-auth': [{ key: `bench-api-key-${i}` }] },
    })
}

// ── rate limit (--rate-limit) ────────────────────────────────────────────────────────────────────
// The rate-limit plugin on the route, memory store, one minute window that the benchmark never fills:
// every request is counted and gets its RateLimit headers, none is refused. Keyed by consumer (the
// default), which is the JWT's consumer under --policy and the client IP without it. --rate-limit
// sends the default headers (RateLimit-* and X-RateLimit-*-Minute: five); --policy sends the three
// RateLimit-* only, as many as @fastify/rate-limit adds in scripts/bench/fastify-policy.mjs.
if (policy || process.argv.includes('--rate-limit')) {
  plugins.push(await plugin('rate-limit'))
  routePlugins.push({
    name: 'rate-limit',
    config: {
      limits: { minute: 1_000_000_000 },
      ...(policy ? { headers: { standard: true, perWindow: false } } : {}),
    },
  })
}

// ── cache (--cache) ──────────────────────────────────────────────────────────────────────────────
// The cache plugin on the route, memory store. The bench upstream sends no Cache-Control, so a
// defaultTtl makes its responses storable: after the first request per path every request is a hit.
if (process.argv.includes('--cache')) {
  plugins.push(await plugin('cache'))
  routePlugins.push({ name: 'cache', config: { defaultTtl: '1h' } })
}

// ── transformers (--transform-headers, --transform-body) ─────────────────────────────────────────
// Header-only: request-transformer adds a templated header and removes one; response-transformer
// removes and adds response headers (no body is read). Body: response-transformer also renames,
// removes and adds JSON fields of the upstream's /small body (buffered, parsed, re-serialised).
const transformBody = process.argv.includes('--transform-body')
if (transformBody || process.argv.includes('--transform-headers')) {
  plugins.push(await plugin('request-transformer'), await plugin('response-transformer'))
  routePlugins.push(
    {
      name: 'request-transformer',
      config: { remove: { headers: ['x-debug'] }, add: { headers: { 'x-client-host': '$(headers.host)' } } },
    },
    {
      name: 'response-transformer',
      config: {
        remove: { headers: ['x-powered-by'], ...(transformBody ? { body: ['tags'] } : {}) },
        add: {
          headers: { 'x-gateway': 'gatehouse' },
          ...(transformBody ? { body: { 'meta.via': 'gatehouse' } } : {}),
        },
        ...(transformBody ? { rename: { body: { name: 'title' } } } : {}),
      },
    },
  )
}
// ── openapi-validator (--openapi) ────────────────────────────────────────────────────────────────
// The validator on the route, with a description whose POST /small takes the bench's small JSON
// object (six typed properties, an enum, an array): each request's body is buffered, parsed and
// checked (scripts/bench/cases.mjs sends it). Other paths pass unchecked (`unknownOperation: pass`).
if (process.argv.includes('--openapi')) {
  plugins.push(await plugin('openapi-validator'))
  routePlugins.push({
    name: 'openapi-validator',
    config: {
      unknownOperation: 'pass',
      spec: {
        openapi: '3.1.0',
        info: { title: 'bench', version: '1' },
        paths: {
          '/small': {
            post: {
              parameters: [{ name: 'json-body', in: 'query', schema: { type: 'string' } }],
              requestBody: {
                required: true,
                content: {
                  'application/json': {
                    schema: {
                      type: 'object',
                      required: ['id', 'name', 'kind', 'ok'],
                      additionalProperties: false,
                      properties: {
                        id: { type: 'integer', minimum: 1 },
                        name: { type: 'string', minLength: 1, maxLength: 64 },
                        kind: { type: 'string', enum: ['bench', 'test'] },
                        ok: { type: 'boolean' },
                        tags: { type: 'array', items: { type: 'string' }, maxItems: 8 },
                        n: { type: 'integer' },
                      },
                    },
                  },
                },
              },
              responses: { 200: { description: 'ok' } },
            },
          },
        },
      },
    },
  })
}
// ── observability (--observability) ──────────────────────────────────────────────────────────────
// Global prometheus (every request counted, three latency histograms, bandwidth) and an access log
// line per request (default fields, written to the null device so the serialisation and write are
// paid, not a terminal); the request id is core's, always on.
if (process.argv.includes('--observability')) {
  plugins.push(await plugin('prometheus'), await plugin('access-log'))
  globalPlugins.push(
    { name: 'prometheus' },
    { name: 'access-log', config: { destination: { file: devNull } } },
  )
}
// ── cors (--cors) ────────────────────────────────────────────────────────────────────────────────
// Global cors: an exact and a wildcard-subdomain origin, credentials and exposed headers. The bench
// request carries an allowed Origin, so every response gets allow-origin, credentials, expose and Vary.
if (process.argv.includes('--cors')) {
  plugins.push(await plugin('cors'))
  globalPlugins.push({
    name: 'cors',
    config: {
      origins: ['https://app.example.com', 'https://*.example.org'],
      credentials: true,
      exposedHeaders: ['x-request-id'],
    },
  })
}
// ─────────────────────────────────────────────────────────────────────────────────────────────────

const { UPSTREAM_URL: upstream, HOST = '127.0.0.1', PORT = '8080' } = process.env
if (!upstream) {
  console.error('UPSTREAM_URL is required, e.g. UPSTREAM_URL=http://127.0.0.1:3000')
  process.exit(2)
}

// ── targets (--targets <n>) ──────────────────────────────────────────────────────────────────────
// The service balances round-robin over the first n upstreams of UPSTREAM_URLS (comma-separated)
// instead of forwarding to the plain `url` (docs/upstreams.md).
const targetsAt = process.argv.indexOf('--targets')
const targetCount = targetsAt < 0 ? 0 : Number(process.argv[targetsAt + 1])
const targetUrls = (process.env.UPSTREAM_URLS ?? upstream).split(',').slice(0, targetCount)
if (targetsAt >= 0 && (!(targetCount >= 1) || targetUrls.length < targetCount)) {
  console.error(`--targets ${process.argv[targetsAt + 1]} needs that many URLs in UPSTREAM_URLS`)
  process.exit(2)
}
const upstreamConfig = targetCount > 0 ? { targets: targetUrls.map((url) => ({ url })) } : { url: upstream }

// ── TLS and HTTP/2 termination (--tls, --h2) ─────────────────────────────────────────────────────
// --tls serves HTTPS with the PEM certificate and key in TLS_CERT and TLS_KEY (scripts/bench/tls.mjs
// makes them); --h2 adds HTTP/2 by ALPN on the same port (docs/protocols.md).
const h2 = process.argv.includes('--h2')
const edge = {}
if (h2 || process.argv.includes('--tls')) {
  if (!process.env.TLS_CERT || !process.env.TLS_KEY) {
    console.error('--tls and --h2 need TLS_CERT and TLS_KEY (PEM text)')
    process.exit(2)
  }
  edge.tls = { certificates: [{ cert: process.env.TLS_CERT, key: process.env.TLS_KEY }] }
  if (h2) edge.http2 = true
}

// ── aggregate (--aggregate) ──────────────────────────────────────────────────────────────────────
// `GET /aggregate` answers with one JSON object made of three parallel calls to the upstream's
// `/small`, each through the service's plugin chain (scripts/bench/aggregate.mjs).
const extraRoutes = []
if (process.argv.includes('--aggregate')) {
  plugins.push(await plugin('aggregate'))
  extraRoutes.push({
    name: 'aggregate',
    paths: ['=/aggregate'],
    plugins: [
      {
        name: 'aggregate',
        config: {
          calls: ['a', 'b', 'c'].map((name) => ({ name, service: 'upstream', path: '/small', group: name })),
        },
      },
    ],
  })
}

const gateway = await createGateway(
  {
    ...edge,
    services: [
      {
        name: 'upstream',
        ...upstreamConfig,
        routes: [...extraRoutes, { name: 'all', paths: ['/'], stripPath: false, plugins: routePlugins }],
      },
    ],
    consumers,
    plugins: globalPlugins,
  },
  { plugins, logger: false, handleSignals: false },
)

const url = await gateway.listen({ host: HOST, port: Number(PORT) })
console.log(`gatehouse listening on ${url}`)

let closing = false
function shutdown() {
  if (closing) return
  closing = true
  gateway.close().then(
    () => process.exit(0),
    (err) => {
      console.error(err)
      process.exit(1)
    },
  )
}
process.on('SIGTERM', shutdown)
process.on('SIGINT', shutdown)
