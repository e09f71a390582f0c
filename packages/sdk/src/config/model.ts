import type { Static } from 'typebox'
import { Type } from 'typebox'
import { RedisSectionSchema } from '../redis/schema.js'

/**
 * The configuration model: one TypeBox source for the TypeScript types below, the JSON Schema that
 * core validates with ajv, and (later) the published schema for YAML/JSON files.
 *
 * Durations are a number of milliseconds or a string such as "5s"; core normalises them to
 * milliseconds at load. Names are the handles by which plugins, routes and consumers refer to each other.
 */

const NAME = '^[A-Za-z0-9][A-Za-z0-9._~-]*$'
const HEADER_TOKEN = "^[!#$%&'*+.^_`|~0-9A-Za-z-]+$"
/** A record keyed by header names: `propertyNames` makes ajv check every key (a Record alone does not). */
const headerKeys = { propertyNames: { pattern: HEADER_TOKEN } }
// A registered name, a package name (`gatehouse-plugin-x`, `@acme/x`) or a path to a plugin file
// (`./plugins/x.js`): the CLI resolves packages and paths; code passes definitions and uses their names.
const PLUGIN_NAME = '^((@[a-z0-9-~][a-z0-9-._~]*/)?[a-z0-9][a-z0-9._-]*|\\.{1,2}/.+|/.+)$'
const HTTP_METHOD = '^[A-Z]+$'
const durationInput = Type.Unsafe<number | string>({
  anyOf: [
    { type: 'number', minimum: 0 },
    { type: 'string', pattern: '^\\s*\\d+(\\.\\d+)?\\s*(ms|s|m|h|d)\\s*$' },
  ],
  gatehouse: 'duration',
})
const sizeInput = Type.Unsafe<number | string>({
  anyOf: [
    { type: 'integer', minimum: 0 },
    { type: 'string', pattern: '^\\s*\\d+(\\.\\d+)?\\s*(([kKmMgG][iI]?)?[bB])?\\s*$' },
  ],
  gatehouse: 'size',
})

/**
 * What an encoded slash or backslash in a request path (`%2F`, `%5C`, any case, or encoded again as
 * `%252F`) means; set globally, per service or per route (the most specific wins). See docs/security.md.
 */
export const EscapedSlashesSchema = Type.Union(
  [Type.Literal('reject'), Type.Literal('decode'), Type.Literal('keep')],
  {
    description:
      'Encoded slashes in the path (`%2F`, `%5C`, `%252F`): `reject` (default) answers 400 GH_REQUEST_PATH_ESCAPED_SLASH; `decode` turns `%2F`/`%5C` into `/` before routing and sends the normalised path; `keep` sends them as they are (for upstreams that read `%2F` as data)',
  },
)

export const InterimResponsesSchema = Type.Union(
  [Type.Literal('forward'), Type.Literal('http2'), Type.Literal('drop')],
  {
    description:
      'Informational (1xx) responses from upstreams, such as 103 Early Hints (RFC 9110 §15.2, RFC 8297): `forward` (default) passes them to HTTP/1.1 and HTTP/2 clients, hop-by-hop fields removed; `http2` only to HTTP/2 clients (for HTTP/1.1 clients that mistake a 1xx for the final response); `drop` never. Never sent to HTTP/1.0 clients',
  },
)

export const WhenSchema = Type.Object(
  {
    methods: Type.Optional(
      Type.Array(Type.String({ pattern: HTTP_METHOD }), {
        minItems: 1,
        description: 'Run only for these methods',
      }),
    ),
    path: Type.Optional(
      Type.String({
        pattern: '^/',
        description: 'Run only when the request path matches this glob (`*` one segment, `**` any rest)',
      }),
    ),
    headers: Type.Optional(
      Type.Record(
        Type.String({ pattern: "^[!#$%&'*+.^_`|~0-9A-Za-z-]+$" }),
        Type.Union([Type.Boolean(), Type.String()]),
        {
          ...headerKeys,
          description:
            'Run only when each header is present (`true`), absent (`false`) or equal to the string',
        },
      ),
    ),
  },
  {
    additionalProperties: false,
    description: 'A condition: the instance runs only on requests that match it',
  },
)

const pluginInstanceFields = {
  name: Type.String({ pattern: PLUGIN_NAME, description: 'The plugin, by its registered name' }),
  id: Type.Optional(
    Type.String({ pattern: NAME, description: 'A name for this instance, unique in the file' }),
  ),
  enabled: Type.Optional(
    Type.Boolean({ default: true, description: 'Set false to keep the config but not run it' }),
  ),
  config: Type.Optional(
    Type.Record(Type.String(), Type.Unknown(), { description: "The plugin's own configuration" }),
  ),
  when: Type.Optional(WhenSchema),
  before: Type.Optional(
    Type.Array(Type.String({ pattern: PLUGIN_NAME }), {
      description: 'Run before these plugins, whatever the priority',
    }),
  ),
  after: Type.Optional(
    Type.Array(Type.String({ pattern: PLUGIN_NAME }), {
      description: 'Run after these plugins, whatever the priority',
    }),
  ),
}

/** A plugin instance nested under a service, route or consumer: its scope is where it stands. */
export const NestedPluginSchema = Type.Object(pluginInstanceFields, { additionalProperties: false })

/** A top-level plugin instance: global, or bound by name to a service, a route and/or a consumer. */
export const PluginInstanceSchema = Type.Object(
  {
    ...pluginInstanceFields,
    service: Type.Optional(Type.String({ description: 'Bind to this service (by name)' })),
    route: Type.Optional(Type.String({ description: 'Bind to this route (by name)' })),
    consumer: Type.Optional(Type.String({ description: 'Bind to this consumer (by id or username)' })),
  },
  { additionalProperties: false },
)

export const TimeoutsSchema = Type.Object(
  {
    connect: Type.Optional({ ...durationInput, description: 'Time to open a connection to the upstream' }),
    read: Type.Optional({
      ...durationInput,
      description: 'Longest wait for the response headers, and between two chunks of the response body',
    }),
    total: Type.Optional({
      ...durationInput,
      description:
        'Longest time from the first attempt to the response headers, retries and backoff included (default none)',
    }),
  },
  { additionalProperties: false },
)

export const MirrorSchema = Type.Object(
  {
    service: Type.String({ pattern: NAME, description: 'The service that receives the copies' }),
    percent: Type.Optional(
      Type.Number({
        minimum: 0,
        maximum: 100,
        default: 100,
        description: 'Percent of the (header-matching) requests copied, chosen at random',
      }),
    ),
    header: Type.Optional(
      Type.Unsafe<string>({
        type: 'string',
        pattern: HEADER_TOKEN,
        gatehouse: 'header-name',
        description: 'Copy only requests carrying this header',
      }),
    ),
    value: Type.Optional(Type.String({ description: 'header: only when it equals this value' })),
    bodyLimit: Type.Optional({
      ...sizeInput,
      description: 'Largest request body copied; a request with a larger body is not mirrored; default 64kb',
    }),
    timeout: Type.Optional({
      ...durationInput,
      description: 'A copy still unanswered after this is abandoned (counted as failed); default 5s',
    }),
    maxInflight: Type.Optional(
      Type.Integer({
        minimum: 1,
        default: 64,
        description: 'Copies in flight at once; beyond, requests are not mirrored (counted as dropped)',
      }),
    ),
  },
  {
    additionalProperties: false,
    description:
      'Traffic mirroring: a fire-and-forget copy of the request to another service, marked `X-Gatehouse-Mirror: 1`; its answer is ignored',
  },
)

const mirrorList = (where: string) =>
  Type.Optional(
    Type.Array(MirrorSchema, {
      description: `Copy requests to other services (shadow traffic)${where}`,
    }),
  )

export const RouteSchema = Type.Object(
  {
    name: Type.Optional(
      Type.String({ pattern: NAME, description: 'Unique name; default `<service>.<index>`' }),
    ),
    paths: Type.Optional(
      Type.Array(Type.String({ pattern: '^=?/' }), {
        minItems: 1,
        description:
          'Path prefixes, matched on segment boundaries; `:name` captures a segment; a leading `=` matches exactly',
      }),
    ),
    methods: Type.Optional(Type.Array(Type.String({ pattern: HTTP_METHOD }), { minItems: 1 })),
    hosts: Type.Optional(
      Type.Array(Type.String({ pattern: '^(\\*\\.)?[A-Za-z0-9.-]+(:\\d+)?$' }), {
        minItems: 1,
        description: 'Host names; `*.example.com` matches any subdomain',
      }),
    ),
    headers: Type.Optional(
      Type.Record(
        Type.String({ pattern: "^[!#$%&'*+.^_`|~0-9A-Za-z-]+$" }),
        Type.Union([Type.String(), Type.Array(Type.String(), { minItems: 1 })]),
        {
          ...headerKeys,
          description: 'Each header must equal (case-insensitively) the value or one of the values',
        },
      ),
    ),
    stripPath: Type.Optional(
      Type.Boolean({ default: true, description: 'Remove the matched path prefix before proxying' }),
    ),
    rewrite: Type.Optional(
      Type.String({
        pattern: '^/',
        description: 'Replace the matched prefix with this path; `:name` inserts a captured parameter',
      }),
    ),
    preserveHost: Type.Optional(
      Type.Boolean({
        default: false,
        description: "Send the client's Host header upstream instead of the service's",
      }),
    ),
    escapedSlashes: Type.Optional(EscapedSlashesSchema),
    timeouts: Type.Optional(TimeoutsSchema),
    mirror: mirrorList("; replaces the service's `mirror` for this route"),
    maxInflight: Type.Optional(
      Type.Integer({
        minimum: 0,
        description:
          'Requests of this route in flight at once; beyond, new ones get 503 `GH_ROUTE_CONCURRENCY_LIMIT` with Retry-After at once. Default 0 (no limit)',
      }),
    ),
    plugins: Type.Optional(Type.Array(NestedPluginSchema)),
  },
  { additionalProperties: false },
)

const HTTP_STATUS = Type.Integer({ minimum: 100, maximum: 599 })
const statusList = (description: string) => Type.Array(HTTP_STATUS, { minItems: 1, description })

export const TargetSchema = Type.Object(
  {
    url: Type.String({ description: "The target's origin, e.g. `http://10.0.0.7:3000` (no path)" }),
    weight: Type.Optional(
      Type.Integer({
        minimum: 0,
        maximum: 65_535,
        default: 100,
        description: 'Share of traffic relative to the other targets; 0 sends none',
      }),
    ),
  },
  { additionalProperties: false },
)

export const BalancingSchema = Type.Object(
  {
    algorithm: Type.Optional(
      Type.Union(
        [Type.Literal('round-robin'), Type.Literal('least-connections'), Type.Literal('consistent-hashing')],
        { default: 'round-robin', description: 'How a target is chosen for each request' },
      ),
    ),
    hashOn: Type.Optional(
      Type.Union(
        [Type.Literal('ip'), Type.Literal('header'), Type.Literal('cookie'), Type.Literal('consumer')],
        {
          default: 'ip',
          description: 'consistent-hashing: what the key is; the client IP when the key is missing',
        },
      ),
    ),
    hashOnHeader: Type.Optional(
      Type.Unsafe<string>({
        type: 'string',
        pattern: HEADER_TOKEN,
        gatehouse: 'header-name',
        description: 'hashOn header: its name',
      }),
    ),
    hashOnCookie: Type.Optional(Type.String({ minLength: 1, description: 'hashOn cookie: its name' })),
  },
  { additionalProperties: false },
)

export const HealthChecksSchema = Type.Object(
  {
    active: Type.Optional(
      Type.Object(
        {
          path: Type.Optional(
            Type.String({ pattern: '^/', default: '/', description: 'Path probed on each target' }),
          ),
          interval: Type.Optional({
            ...durationInput,
            description: 'Time between two probes of a target (> 0); default 5s',
          }),
          timeout: Type.Optional({
            ...durationInput,
            description: 'A probe slower than this fails; default 1s',
          }),
          healthyStatuses: Type.Optional(
            statusList('Probe statuses that count as a success; default 200–399'),
          ),
          healthyThreshold: Type.Optional(
            Type.Integer({
              minimum: 1,
              default: 2,
              description: 'Consecutive successes that make a target healthy',
            }),
          ),
          unhealthyThreshold: Type.Optional(
            Type.Integer({
              minimum: 1,
              default: 3,
              description: 'Consecutive failures that make a target unhealthy',
            }),
          ),
        },
        { additionalProperties: false },
      ),
    ),
    passive: Type.Optional(
      Type.Object(
        {
          enabled: Type.Optional(
            Type.Boolean({ default: true, description: 'Judge targets by live traffic' }),
          ),
          failures: Type.Optional(
            Type.Integer({
              minimum: 1,
              default: 3,
              description: 'Consecutive connect failures, timeouts or `statuses` that open the circuit',
            }),
          ),
          statuses: Type.Optional(
            Type.Array(HTTP_STATUS, { description: 'Answers that count as failures; default 502, 503, 504' }),
          ),
          cooldown: Type.Optional({
            ...durationInput,
            description: 'Without active checks: time before a half-open trial request; default 10s',
          }),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
)

export const RetriesSchema = Type.Object(
  {
    attempts: Type.Optional(
      Type.Integer({
        minimum: 0,
        maximum: 10,
        description: 'Retries after the first attempt; default 2 with targets, 0 with url',
      }),
    ),
    methods: Type.Optional(
      Type.Array(Type.String({ pattern: HTTP_METHOD }), {
        description: 'Methods retried after the request may have been sent; default the idempotent ones',
      }),
    ),
    backoff: Type.Optional(
      Type.Object(
        {
          initial: Type.Optional({ ...durationInput, description: 'First backoff (jittered); default 20ms' }),
          max: Type.Optional({ ...durationInput, description: 'Longest backoff; default 1s' }),
        },
        { additionalProperties: false },
      ),
    ),
    budget: Type.Optional(
      Type.Object(
        {
          ratio: Type.Optional(
            Type.Number({
              minimum: 0,
              maximum: 1,
              default: 0.2,
              description: 'Retries allowed per request, over the window',
            }),
          ),
          minRetries: Type.Optional(
            Type.Integer({ minimum: 0, default: 10, description: 'Retries always allowed per window' }),
          ),
          window: Type.Optional({ ...durationInput, description: 'The window; default 10s' }),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
)

export const SplitRuleSchema = Type.Object(
  {
    service: Type.String({ pattern: NAME, description: 'The service that gets the matching share' }),
    weight: Type.Optional(
      Type.Number({ minimum: 0, maximum: 100, description: 'Percent of requests (chosen at random)' }),
    ),
    header: Type.Optional(
      Type.Unsafe<string>({
        type: 'string',
        pattern: HEADER_TOKEN,
        gatehouse: 'header-name',
        description: 'Requests carrying this header',
      }),
    ),
    cookie: Type.Optional(Type.String({ minLength: 1, description: 'Requests carrying this cookie' })),
    value: Type.Optional(Type.String({ description: 'header/cookie: only when it equals this value' })),
  },
  { additionalProperties: false },
)

/** Upstream connection pool limits, per origin (docs/reliability.md). */
export const PoolSchema = Type.Object(
  {
    connections: Type.Optional(
      Type.Integer({
        minimum: 1,
        description:
          'Connections to each target (origin) at most; a request beyond waits for one in a bounded queue. Default: no limit (a connection per concurrent request)',
      }),
    ),
    queue: Type.Optional(
      Type.Integer({
        minimum: 0,
        description:
          'Requests that may wait for a connection, per origin, when all `connections` are busy; beyond, 503 `GH_UPSTREAM_QUEUE_FULL` at once. Default 1024',
      }),
    ),
    queueTimeout: Type.Optional({
      ...durationInput,
      description:
        'Longest wait in the queue for a connection; beyond, 503 `GH_UPSTREAM_QUEUE_TIMEOUT`. Default: the connect timeout',
    }),
  },
  { additionalProperties: false },
)

export const ServiceSchema = Type.Object(
  {
    name: Type.String({ pattern: NAME, description: 'Unique service name' }),
    url: Type.Optional(
      Type.String({ description: 'Upstream base URL, e.g. `http://users.internal:3000/api` (or `targets`)' }),
    ),
    targets: Type.Optional(
      Type.Array(TargetSchema, {
        minItems: 1,
        description: 'Several upstream instances, load balanced (or `url`)',
      }),
    ),
    path: Type.Optional(
      Type.String({ pattern: '^/', description: 'With `targets`: base path prepended upstream' }),
    ),
    balancing: Type.Optional(BalancingSchema),
    healthchecks: Type.Optional(HealthChecksSchema),
    retries: Type.Optional(RetriesSchema),
    split: Type.Optional(
      Type.Array(SplitRuleSchema, {
        description: "Send a share of this service's traffic to another service (first matching rule)",
      }),
    ),
    timeouts: Type.Optional(TimeoutsSchema),
    mirror: mirrorList(', for every route of this service that sets none'),
    escapedSlashes: Type.Optional(EscapedSlashesSchema),
    pool: Type.Optional(PoolSchema),
    routes: Type.Optional(Type.Array(RouteSchema)),
    plugins: Type.Optional(Type.Array(NestedPluginSchema)),
  },
  { additionalProperties: false },
)

export const ConsumerSchema = Type.Object(
  {
    id: Type.Optional(Type.String({ pattern: NAME, description: 'Stable id; default the username' })),
    username: Type.Optional(Type.String({ minLength: 1 })),
    customId: Type.Optional(Type.String({ minLength: 1, description: 'Your own id for this consumer' })),
    groups: Type.Optional(Type.Array(Type.String({ minLength: 1 }))),
    credentials: Type.Optional(
      Type.Record(Type.String(), Type.Array(Type.Record(Type.String(), Type.Unknown())), {
        description: 'Credentials per auth plugin name; each auth plugin validates its own',
      }),
    ),
    plugins: Type.Optional(Type.Array(NestedPluginSchema)),
  },
  { additionalProperties: false },
)

export const TrustProxySchema = Type.Union(
  [
    Type.Boolean(),
    Type.Integer({ minimum: 0, description: 'Trust this many hops' }),
    Type.Array(Type.String({ minLength: 1 }), {
      description: 'Trusted proxy addresses or CIDRs, or `loopback`, `linklocal`, `uniquelocal`',
    }),
  ],
  { description: 'Which peers to believe about X-Forwarded-* and Forwarded; default none' },
)

const pemOrFile = (what: string) =>
  Type.String({
    minLength: 1,
    description: `${what}: PEM text (e.g. \`\${ENV_VAR}\` in a file) or the path of a PEM file`,
  })

export const TlsCertificateSchema = Type.Object(
  {
    cert: pemOrFile('The certificate chain, leaf first'),
    key: pemOrFile('The private key matching `cert`'),
    passphrase: Type.Optional(Type.String({ description: 'Passphrase of an encrypted `key`' })),
    serverNames: Type.Optional(
      Type.Array(Type.String({ pattern: '^(\\*\\.)?[A-Za-z0-9.-]+$' }), {
        minItems: 1,
        description:
          'SNI names served with this certificate (`*.example.com` matches one label); default the DNS names in the certificate',
      }),
    ),
  },
  { additionalProperties: false },
)

export const TlsSchema = Type.Object(
  {
    certificates: Type.Array(TlsCertificateSchema, {
      minItems: 1,
      description: 'Server certificates chosen by SNI; the first also answers clients that send no SNI',
    }),
    minVersion: Type.Optional(
      Type.Union([Type.Literal('TLSv1.2'), Type.Literal('TLSv1.3')], {
        default: 'TLSv1.2',
        description: 'Oldest TLS version accepted',
      }),
    ),
    ciphers: Type.Optional(Type.String({ description: "OpenSSL cipher list for TLS 1.2; default Node's" })),
    clientCertificates: Type.Optional(
      Type.Object(
        {
          ca: pemOrFile('CA certificates that sign client certificates'),
          mode: Type.Optional(
            Type.Union([Type.Literal('require'), Type.Literal('optional')], {
              default: 'require',
              description:
                '`require`: the handshake fails without a valid client certificate; `optional`: ask, and let plugins read `ctx.client.certificate`',
            }),
          ),
        },
        { additionalProperties: false, description: 'Mutual TLS: ask clients for a certificate' },
      ),
    ),
    watch: Type.Optional(
      Type.Boolean({
        default: false,
        description: 'Reload the certificates when one of their files changes',
      }),
    ),
  },
  { additionalProperties: false, description: 'Serve HTTPS (TLS termination)' },
)

/** Client-side protections of the listening server (docs/reliability.md). */
export const ServerSchema = Type.Object(
  {
    headersTimeout: Type.Optional({
      ...durationInput,
      description:
        'Longest time to receive the request line and headers (slowloris); beyond, 408 `GH_REQUEST_TIMEOUT` and the connection is closed. Default 60s (no more than `requestTimeout`); 0 disables',
    }),
    requestTimeout: Type.Optional({
      ...durationInput,
      description:
        'Longest time to receive a whole request, body included (slow POST); beyond, 408 `GH_REQUEST_TIMEOUT` (or the connection is closed when the answer has begun). Default 300s; 0 disables',
    }),
    keepAliveTimeout: Type.Optional({
      ...durationInput,
      description:
        'How long an idle client connection is kept open between requests. Default 72s (above common load-balancer idle timeouts)',
    }),
    maxRequestsPerConnection: Type.Optional(
      Type.Integer({
        minimum: 0,
        description:
          'Requests served on one client connection; the last one is answered with `Connection: close`. Default 0 (no limit)',
      }),
    ),
    maxConnections: Type.Optional(
      Type.Integer({
        minimum: 0,
        description:
          'Open client connections; a request on a connection beyond it gets 503 `GH_GATEWAY_CONNECTION_LIMIT` with Retry-After and the connection is closed. Default 10000; 0 means no limit',
      }),
    ),
    maxInflight: Type.Optional(
      Type.Integer({
        minimum: 0,
        description:
          'Requests in flight at once on this gateway; beyond, new ones get 503 `GH_GATEWAY_CONCURRENCY_LIMIT` with Retry-After at once. Default 0 (no limit beyond `maxConnections`)',
      }),
    ),
    maxEventLoopDelay: Type.Optional({
      ...durationInput,
      description:
        'Overload shedding: while the event loop lags more than this (two samples in a row), new requests get 503 `GH_GATEWAY_OVERLOADED` with Retry-After; it stops once the lag stays under half of it for 1s. Default 0 (off); 1s is a good start',
    }),
  },
  { additionalProperties: false },
)

export const GatewayConfigSchema = Type.Object(
  {
    redis: Type.Optional(RedisSectionSchema),
    services: Type.Optional(Type.Array(ServiceSchema)),
    consumers: Type.Optional(Type.Array(ConsumerSchema)),
    plugins: Type.Optional(Type.Array(PluginInstanceSchema)),
    trustProxy: Type.Optional(TrustProxySchema),
    requestId: Type.Optional(
      Type.Object(
        {
          header: Type.Optional(Type.String({ default: 'x-request-id' })),
          trustIncoming: Type.Optional(
            Type.Boolean({
              default: false,
              description:
                'Keep a well-formed incoming id from any client (always kept from trusted proxies)',
            }),
          ),
          responseHeader: Type.Optional(Type.Boolean({ default: true })),
        },
        { additionalProperties: false },
      ),
    ),
    limits: Type.Optional(
      Type.Object(
        {
          requestBody: Type.Optional({
            ...sizeInput,
            description: 'Largest request body buffered for a plugin that reads it (413 beyond)',
          }),
          responseBody: Type.Optional({
            ...sizeInput,
            description:
              'Largest response body buffered for a plugin that reads it (streamed unchanged beyond)',
          }),
        },
        { additionalProperties: false },
      ),
    ),
    timeouts: Type.Optional(TimeoutsSchema),
    escapedSlashes: Type.Optional(EscapedSlashesSchema),
    interimResponses: Type.Optional(InterimResponsesSchema),
    server: Type.Optional(ServerSchema),
    tls: Type.Optional(TlsSchema),
    http2: Type.Optional(
      Type.Boolean({
        description:
          'Default false. Serve HTTP/2 (negotiated by ALPN, HTTP/1.1 still served on the same port); needs `tls`',
      }),
    ),
    serverTiming: Type.Optional(
      Type.Boolean({
        description:
          'Default false. Add a `Server-Timing` response header with each plugin handler’s time and the upstream time (for debugging: it shows clients which plugins ran)',
      }),
    ),
  },
  { additionalProperties: false },
)

export type WhenConfig = Static<typeof WhenSchema>
export type NestedPluginConfig = Static<typeof NestedPluginSchema>
export type PluginInstanceConfig = Static<typeof PluginInstanceSchema>
export type TimeoutsConfig = Static<typeof TimeoutsSchema>
export type EscapedSlashesPolicy = Static<typeof EscapedSlashesSchema>
export type InterimResponsesPolicy = Static<typeof InterimResponsesSchema>
export type RouteConfig = Static<typeof RouteSchema>
export type ServiceConfig = Static<typeof ServiceSchema>
export type TargetConfig = Static<typeof TargetSchema>
export type BalancingConfig = Static<typeof BalancingSchema>
export type HealthChecksConfig = Static<typeof HealthChecksSchema>
export type RetriesConfig = Static<typeof RetriesSchema>
export type SplitRuleConfig = Static<typeof SplitRuleSchema>
export type MirrorConfig = Static<typeof MirrorSchema>
export type ConsumerConfig = Static<typeof ConsumerSchema>
export type TrustProxyConfig = Static<typeof TrustProxySchema>
export type TlsConfig = Static<typeof TlsSchema>
export type ServerConfig = Static<typeof ServerSchema>
export type PoolConfig = Static<typeof PoolSchema>
export type TlsCertificateConfig = Static<typeof TlsCertificateSchema>
/** The whole gateway configuration, as written in code or in a YAML/JSON file. */
export type GatewayConfig = Static<typeof GatewayConfigSchema>
