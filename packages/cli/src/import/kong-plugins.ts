import { isObject } from './names.js'

/**
 * The mapping from Kong's bundled plugins to Gatehouse plugins: one row per Kong plugin, each with the
 * fields it carries over (documented in docs/migrating-from-kong.md and tested row by row). A Kong
 * field not listed, whose value is not Kong's default, becomes a warning with its JSON pointer.
 */

/** What a mapping can ask of the importer. */
export interface MapContext {
  /** A warning about `field` (a path inside the plugin's `config`, e.g. `redis_host`). */
  warn(field: string, message: string): void
  /** A Kong consumer reference (id or username) → the Gatehouse consumer id, or undefined. */
  consumer(ref: string): string | undefined
  /** A Redis URL → the name of a connection in the output's top-level `redis` section (added once). */
  redis(url: string): string
}

/** What one Kong plugin becomes: a Gatehouse plugin instance config, or top-level settings. */
export type Mapped =
  | { plugin: string; config: Record<string, unknown> }
  | { topLevel: Record<string, unknown>; globalOnly: true }

export interface PluginMapping {
  kong: string
  gatehouse: string
  /** Kong field → Gatehouse field (with a note), for the docs table. */
  fields: readonly (readonly [kong: string, gatehouse: string])[]
  /** Kong fields whose default values carry no meaning to warn about (e.g. as dumped by decK). */
  defaults?: Record<string, unknown>
  map(c: Fields, ctx: MapContext): Mapped
}

/** A plugin's Kong config with the fields read so far: what is left over is reported. */
export class Fields {
  private readonly read = new Set<string>()
  constructor(readonly config: Record<string, unknown>) {}

  /** The value of `field` (and marks it read); undefined and null are the same: not set. */
  get(field: string): unknown {
    this.read.add(field)
    const v = this.config[field]
    return v === null ? undefined : v
  }
  str(field: string): string | undefined {
    const v = this.get(field)
    return typeof v === 'string' ? v : undefined
  }
  num(field: string): number | undefined {
    const v = this.get(field)
    return typeof v === 'number' ? v : undefined
  }
  bool(field: string): boolean | undefined {
    const v = this.get(field)
    return typeof v === 'boolean' ? v : undefined
  }
  list(field: string): string[] | undefined {
    const v = this.get(field)
    return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : undefined
  }
  obj(field: string): Record<string, unknown> | undefined {
    const v = this.get(field)
    return isObject(v) ? v : undefined
  }
  /** Fields not read, with a value other than Kong's default. */
  unread(defaults: Record<string, unknown> = {}): string[] {
    return Object.keys(this.config).filter((k) => {
      if (this.read.has(k)) return false
      const v = this.config[k]
      if (v === null || v === undefined) return false
      if (Array.isArray(v) && v.length === 0) return false
      if (isObject(v) && Object.values(v).every((x) => x === null || x === undefined)) return false
      return !(k in defaults) || JSON.stringify(defaults[k]) !== JSON.stringify(v)
    })
  }
}

/** Sets `out[key] = value` when value is not undefined. */
function put(out: Record<string, unknown>, key: string, value: unknown): void {
  if (value !== undefined) out[key] = value
}

/** Kong's `"name:value"` list → `{ name: value }` (the first `:` separates them). */
function pairs(list: unknown, field: string, ctx: MapContext): Record<string, string> | undefined {
  if (!Array.isArray(list) || list.length === 0) return undefined
  const out: Record<string, string> = {}
  for (const item of list) {
    const s = String(item)
    const i = s.indexOf(':')
    if (i <= 0) {
      ctx.warn(field, `"${s}" is not "name:value"; left out`)
      continue
    }
    out[s.slice(0, i)] = s.slice(i + 1)
  }
  return out
}

function names(list: unknown): string[] | undefined {
  if (!Array.isArray(list) || list.length === 0) return undefined
  return list.map(String)
}

function anonymous(c: Fields, ctx: MapContext): string | undefined {
  const ref = c.str('anonymous')
  if (ref === undefined || ref === '') return undefined
  const id = ctx.consumer(ref)
  if (id === undefined) ctx.warn('anonymous', `no consumer "${ref}" in the file; anonymous left out`)
  return id
}

/**
 * A Kong field carried over as it is, under its Gatehouse name, read as `kind`; `consumer` is an
 * auth plugin's `anonymous`: a Kong consumer reference that becomes the Gatehouse consumer id.
 */
type DirectField = readonly [
  kong: string,
  gatehouse: string,
  kind: 'str' | 'num' | 'bool' | 'list' | 'consumer',
]

/**
 * A mapping whose every field is carried over as it is: the docs table and the conversion come from
 * the one list, in its order.
 */
function directMapping(
  kong: string,
  gatehouse: string,
  fields: readonly DirectField[],
  defaults?: Record<string, unknown>,
): PluginMapping {
  return {
    kong,
    gatehouse,
    fields: fields.map(([k, g]) => [k, g] as const),
    ...(defaults ? { defaults } : {}),
    map(c, ctx) {
      const config: Record<string, unknown> = {}
      for (const [k, g, kind] of fields) put(config, g, kind === 'consumer' ? anonymous(c, ctx) : c[kind](k))
      return { plugin: gatehouse, config }
    },
  }
}

/** The request-transformer and response-transformer operations on one part (headers, body, query). */
function transformOps(
  c: Fields,
  ctx: MapContext,
  parts: Record<string, string>,
  ops: readonly string[],
): Record<string, Record<string, unknown>> {
  const out: Record<string, Record<string, unknown>> = {}
  for (const op of ops) {
    const section = c.obj(op)
    if (!section) continue
    const target: Record<string, unknown> = {}
    for (const [kongPart, value] of Object.entries(section)) {
      const part = parts[kongPart]
      if (value === null || (Array.isArray(value) && value.length === 0)) continue
      if (kongPart === 'json_types') continue
      if (op === 'replace' && kongPart === 'uri') {
        target.uri = value
        continue
      }
      if (!part) {
        ctx.warn(`${op}/${kongPart}`, `${op}.${kongPart} has no equivalent; left out`)
        continue
      }
      const v =
        op === 'remove'
          ? names(value)
          : op === 'rename'
            ? pairs(value, `${op}/${kongPart}`, ctx)
            : pairs(value, `${op}/${kongPart}`, ctx)
      if (v !== undefined) target[part] = v
    }
    const types = section.json_types
    if (Array.isArray(types) && types.length > 0) {
      const body = Array.isArray(section.json)
        ? section.json
        : Array.isArray(section.body)
          ? section.body
          : []
      const jsonTypes: Record<string, unknown> = {}
      body.forEach((entry, i) => {
        const name = String(entry).split(':')[0] as string
        const type = String(types[i] ?? 'string')
        jsonTypes[name] = type === 'string' || type === 'number' || type === 'boolean' ? type : 'string'
      })
      target.jsonTypes = jsonTypes
    }
    if (Object.keys(target).length > 0) out[op] = target
  }
  return out
}

const SIZE_UNITS: Record<string, string> = { megabytes: 'mb', kilobytes: 'kb', bytes: 'b' }

/** Every Kong plugin Gatehouse has an equivalent for. */
export const KONG_PLUGINS: readonly PluginMapping[] = [
  directMapping('key-auth', 'key-auth', [
    ['key_names', 'keyNames', 'list'],
    ['key_in_header', 'keyInHeader', 'bool'],
    ['key_in_query', 'keyInQuery', 'bool'],
    ['key_in_body', 'keyInBody', 'bool'],
    ['hide_credentials', 'hideCredentials', 'bool'],
    ['anonymous', 'anonymous', 'consumer'],
    ['run_on_preflight', 'runOnPreflight', 'bool'],
    ['realm', 'realm', 'str'],
  ]),
  directMapping('basic-auth', 'basic-auth', [
    ['hide_credentials', 'hideCredentials', 'bool'],
    ['anonymous', 'anonymous', 'consumer'],
    ['realm', 'realm', 'str'],
  ]),
  {
    kong: 'jwt',
    gatehouse: 'jwt',
    fields: [
      ['header_names', 'headers'],
      ['cookie_names', 'cookies'],
      ['uri_param_names', 'queryParams'],
      ['key_claim_name', 'keyClaim'],
      ['claims_to_verify', 'requiredClaims'],
      ['maximum_expiration', 'maximumExpiration (seconds)'],
      ['anonymous', 'anonymous'],
      ['realm', 'realm'],
    ],
    defaults: { secret_is_base64: false, run_on_preflight: true },
    map(c, ctx) {
      const config: Record<string, unknown> = {}
      put(
        config,
        'headers',
        c.list('header_names')?.map((h) => h.toLowerCase()),
      )
      put(config, 'cookies', c.list('cookie_names'))
      put(config, 'queryParams', c.list('uri_param_names'))
      put(config, 'keyClaim', c.str('key_claim_name'))
      put(config, 'requiredClaims', c.list('claims_to_verify'))
      const max = c.num('maximum_expiration')
      if (max !== undefined && max > 0) config.maximumExpiration = `${max}s`
      put(config, 'anonymous', anonymous(c, ctx))
      put(config, 'realm', c.str('realm'))
      return { plugin: 'jwt', config }
    },
  },
  {
    kong: 'acl',
    gatehouse: 'acl',
    fields: [
      ['allow (whitelist before 2.1)', 'allow'],
      ['deny (blacklist before 2.1)', 'deny'],
      ['hide_groups_header', 'hideGroupsHeader'],
    ],
    defaults: { include_consumer_groups: false, always_use_authenticated_groups: false },
    map(c) {
      const config: Record<string, unknown> = {}
      put(config, 'allow', c.list('allow') ?? c.list('whitelist'))
      put(config, 'deny', c.list('deny') ?? c.list('blacklist'))
      put(config, 'hideGroupsHeader', c.bool('hide_groups_header'))
      return { plugin: 'acl', config }
    },
  },
  {
    kong: 'rate-limiting',
    gatehouse: 'rate-limit',
    fields: [
      ['second, minute, hour, day', 'limits.second, .minute, .hour, .day'],
      ['limit_by (consumer, credential, ip, service, header, path)', 'limitBy'],
      ['header_name', 'header'],
      ['policy: local / redis', 'redis: <connection> (none: memory)'],
      [
        'redis_host, redis_port, redis_password, redis_database (redis.* in 3.x)',
        'a top-level redis connection (url)',
      ],
      ['fault_tolerant', 'store.onFailure (failOpen / failClosed)'],
      ['hide_client_headers', 'headers.standard, headers.perWindow'],
    ],
    defaults: {
      sync_rate: -1,
      redis_timeout: 2000,
      redis_ssl: false,
      redis_ssl_verify: false,
      error_code: 429,
      error_message: 'API rate limit exceeded',
    },
    map(c, ctx) {
      const limits: Record<string, number> = {}
      for (const unit of ['second', 'minute', 'hour', 'day']) {
        const n = c.num(unit)
        if (n !== undefined) limits[unit] = Math.max(1, Math.floor(n))
      }
      for (const unit of ['month', 'year']) {
        if (c.num(unit) !== undefined)
          ctx.warn(unit, `a limit per ${unit} has no equivalent (Gatehouse windows end at a day); left out`)
      }
      if (Object.keys(limits).length === 0) {
        ctx.warn('', 'no limit per second, minute, hour or day; a limit of 1000 per day stands in')
        limits.day = 1000
      }
      const config: Record<string, unknown> = { limits, algorithm: 'fixed' }
      const by = c.str('limit_by')
      if (by !== undefined) {
        if (['consumer', 'credential', 'ip', 'service', 'header', 'path'].includes(by)) {
          config.limitBy = [by]
          if (by === 'path' && c.str('path'))
            ctx.warn('path', 'limit_by path counts per request path; the fixed `path` value is not used')
        } else {
          ctx.warn('limit_by', `limit_by ${by} has no equivalent; limited by consumer`)
          config.limitBy = ['consumer']
        }
      } else config.limitBy = ['consumer']
      put(config, 'header', c.str('header_name')?.toLowerCase())
      const store: Record<string, unknown> = {}
      const policy = c.str('policy')
      if (policy === 'redis') {
        const r = c.obj('redis') ?? {}
        const host = (r.host as string | undefined) ?? c.str('redis_host') ?? '127.0.0.1'
        const port = (r.port as number | undefined) ?? c.num('redis_port') ?? 6379
        const password = (r.password as string | undefined) ?? c.str('redis_password')
        const db = (r.database as number | undefined) ?? c.num('redis_database') ?? 0
        const ssl = (r.ssl as boolean | undefined) ?? c.bool('redis_ssl') ?? false
        config.redis = ctx.redis(
          `${ssl ? 'rediss' : 'redis'}://${password ? `:${encodeURIComponent(password)}@` : ''}${host}:${port}/${db}`,
        )
      } else if (policy === 'cluster') {
        ctx.warn(
          'policy',
          "policy cluster (counters in Kong's database) has no equivalent; counters kept in memory (name a `redis` connection to share them)",
        )
      }
      const tolerant = c.bool('fault_tolerant')
      if (tolerant !== undefined) store.onFailure = tolerant ? 'failOpen' : 'failClosed'
      if (Object.keys(store).length > 0) config.store = store
      if (c.bool('hide_client_headers') === true) config.headers = { standard: false, perWindow: false }
      return { plugin: 'rate-limit', config }
    },
  },
  {
    kong: 'request-transformer',
    gatehouse: 'request-transformer',
    fields: [
      ['http_method', 'httpMethod'],
      ['remove/rename/replace/add/append.headers ("name:value" lists)', '….headers ({ name: value })'],
      ['….querystring', '….query'],
      ['….body', '….body'],
      ['replace.uri', 'replace.uri'],
    ],
    map(c, ctx) {
      const config: Record<string, unknown> = {}
      put(config, 'httpMethod', c.str('http_method'))
      Object.assign(
        config,
        transformOps(c, ctx, { headers: 'headers', querystring: 'query', body: 'body' }, [
          'remove',
          'rename',
          'replace',
          'add',
          'append',
        ]),
      )
      return { plugin: 'request-transformer', config }
    },
  },
  {
    kong: 'response-transformer',
    gatehouse: 'response-transformer',
    fields: [
      ['remove/rename/replace/add/append.headers ("name:value" lists)', '….headers ({ name: value })'],
      ['….json', '….body'],
      ['….json_types', '….jsonTypes'],
    ],
    map(c, ctx) {
      const config = transformOps(c, ctx, { headers: 'headers', json: 'body' }, [
        'remove',
        'rename',
        'replace',
        'add',
        'append',
      ])
      return { plugin: 'response-transformer', config }
    },
  },
  {
    kong: 'proxy-cache',
    gatehouse: 'cache',
    fields: [
      ['response_code', 'statuses'],
      ['request_method (GET, HEAD)', 'methods'],
      ['content_type', 'contentTypes (parameters dropped)'],
      ['cache_ttl', 'defaultTtl (seconds)'],
      ['cache_control', 'requestCacheControl'],
      ['vary_query_params', 'query.include'],
      ['strategy: memory', 'store.type: memory'],
    ],
    defaults: {
      storage_ttl: null,
      memory: { dictionary_name: 'kong_db_cache' },
      vary_headers: null,
      ignore_uri_case: false,
    },
    map(c, ctx) {
      const config: Record<string, unknown> = {}
      const codes = c.get('response_code')
      if (Array.isArray(codes)) config.statuses = codes.map(Number).filter((n) => n >= 200 && n <= 599)
      const methods = c.list('request_method')
      if (methods) {
        const kept = methods.filter((m) => m === 'GET' || m === 'HEAD')
        if (kept.length < methods.length)
          ctx.warn('request_method', 'only GET and HEAD are cached; the other methods are left out')
        config.methods = kept.length > 0 ? kept : ['GET', 'HEAD']
      }
      const types = c.list('content_type')
      if (types) config.contentTypes = [...new Set(types.map((t) => (t.split(';')[0] as string).trim()))]
      const ttl = c.num('cache_ttl')
      if (ttl !== undefined) config.defaultTtl = `${ttl}s`
      const cc = c.bool('cache_control')
      if (cc !== undefined) config.requestCacheControl = cc
      if (cc !== true)
        ctx.warn(
          'cache_control',
          'Kong with cache_control false ignores the upstream Cache-Control; Gatehouse always honours it (cache_ttl only applies to responses without one)',
        )
      const vary = c.list('vary_query_params')
      if (vary && vary.length > 0) config.query = { include: vary }
      const varyHeaders = c.list('vary_headers')
      if (varyHeaders && varyHeaders.length > 0)
        ctx.warn(
          'vary_headers',
          'vary_headers has no equivalent (the upstream Vary header is honoured); left out',
        )
      const strategy = c.str('strategy')
      if (strategy !== undefined && strategy !== 'memory')
        ctx.warn('strategy', `strategy ${strategy} has no equivalent; the memory store stands in`)
      c.get('memory')
      return { plugin: 'cache', config }
    },
  },
  directMapping('cors', 'cors', [
    ['origins', 'origins', 'list'],
    ['methods', 'methods', 'list'],
    ['headers', 'headers', 'list'],
    ['exposed_headers', 'exposedHeaders', 'list'],
    ['credentials', 'credentials', 'bool'],
    ['max_age', 'maxAge', 'num'],
    ['preflight_continue', 'preflightContinue', 'bool'],
    ['private_network', 'privateNetwork', 'bool'],
  ]),
  {
    kong: 'ip-restriction',
    gatehouse: 'ip-restriction',
    fields: [
      ['allow (whitelist before 2.1)', 'allow'],
      ['deny (blacklist before 2.1)', 'deny'],
      ['status', 'status'],
      ['message', 'message'],
    ],
    map(c) {
      const config: Record<string, unknown> = {}
      put(config, 'allow', c.list('allow') ?? c.list('whitelist'))
      put(config, 'deny', c.list('deny') ?? c.list('blacklist'))
      put(config, 'status', c.num('status'))
      put(config, 'message', c.str('message'))
      return { plugin: 'ip-restriction', config }
    },
  },
  {
    kong: 'request-size-limiting',
    gatehouse: 'request-size-limit',
    fields: [
      ['allowed_payload_size + size_unit', 'allowedPayloadSize (e.g. "128mb")'],
      ['require_content_length', 'requireContentLength'],
    ],
    map(c) {
      const config: Record<string, unknown> = {}
      const size = c.num('allowed_payload_size')
      const unit = SIZE_UNITS[c.str('size_unit') ?? 'megabytes'] ?? 'mb'
      if (size !== undefined) config.allowedPayloadSize = `${size}${unit}`
      put(config, 'requireContentLength', c.bool('require_content_length'))
      return { plugin: 'request-size-limit', config }
    },
  },
  directMapping('request-termination', 'request-termination', [
    ['status_code', 'statusCode', 'num'],
    ['message', 'message', 'str'],
    ['body', 'body', 'str'],
    ['content_type', 'contentType', 'str'],
    ['echo', 'echo', 'bool'],
    ['trigger', 'trigger', 'str'],
  ]),
  directMapping(
    'prometheus',
    'prometheus',
    [
      ['per_consumer', 'perConsumer', 'bool'],
      ['latency_metrics', 'latency', 'bool'],
      ['bandwidth_metrics', 'bandwidth', 'bool'],
    ],
    { status_code_metrics: false, upstream_health_metrics: false, ai_metrics: false, wasm_metrics: false },
  ),
  {
    kong: 'opentelemetry',
    gatehouse: 'opentelemetry',
    fields: [
      ['endpoint (traces_endpoint in 3.8+)', 'endpoint'],
      ['headers', 'headers'],
      ['resource_attributes (service.name)', 'resourceAttributes (serviceName)'],
      ['sampling_rate', 'samplingRatio'],
      ['batch_span_count (queue.max_batch_size)', 'batch.maxExportBatchSize'],
      ['batch_flush_delay (seconds)', 'batch.scheduledDelay (ms)'],
    ],
    defaults: {
      connect_timeout: 1000,
      send_timeout: 5000,
      read_timeout: 5000,
      http_response_header_for_traceid: null,
    },
    map(c, ctx) {
      const config: Record<string, unknown> = {}
      const endpoint = c.str('traces_endpoint') ?? c.str('endpoint')
      if (endpoint === undefined)
        ctx.warn('endpoint', 'no endpoint; http://127.0.0.1:4318/v1/traces stands in')
      config.endpoint = endpoint ?? 'http://127.0.0.1:4318/v1/traces'
      c.get('logs_endpoint')
      const headers = c.obj('headers')
      if (headers)
        config.headers = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, String(v)]))
      const attrs = c.obj('resource_attributes')
      if (attrs) {
        const rest: Record<string, string> = {}
        for (const [k, v] of Object.entries(attrs)) {
          if (k === 'service.name') config.serviceName = String(v)
          else rest[k] = String(v)
        }
        if (Object.keys(rest).length > 0) config.resourceAttributes = rest
      }
      const ratio = c.num('sampling_rate')
      if (ratio !== undefined) config.samplingRatio = ratio
      const batch: Record<string, number> = {}
      const queue = c.obj('queue')
      const size = c.num('batch_span_count') ?? (queue?.max_batch_size as number | undefined)
      if (size !== undefined) batch.maxExportBatchSize = size
      const delay = c.num('batch_flush_delay') ?? (queue?.max_coalescing_delay as number | undefined)
      if (delay !== undefined) batch.scheduledDelay = Math.max(1, Math.round(delay * 1000))
      if (Object.keys(batch).length > 0) config.batch = batch
      return { plugin: 'opentelemetry', config }
    },
  },
  {
    kong: 'correlation-id',
    gatehouse: 'requestId (top level, not a plugin)',
    fields: [
      ['header_name', 'requestId.header'],
      ['echo_downstream', 'requestId.responseHeader'],
    ],
    defaults: { generator: 'uuid#counter' },
    map(c, ctx) {
      const requestId: Record<string, unknown> = {}
      const header = c.str('header_name')
      if (header !== undefined) requestId.header = header.toLowerCase()
      const echo = c.bool('echo_downstream')
      if (echo !== undefined) requestId.responseHeader = echo
      const generator = c.str('generator')
      if (generator !== undefined && generator !== 'uuid' && generator !== 'uuid#counter')
        ctx.warn('generator', `generator ${generator}: Gatehouse generates its own ids`)
      c.get('generator')
      return { topLevel: { requestId }, globalOnly: true }
    },
  },
  {
    kong: 'file-log',
    gatehouse: 'access-log',
    fields: [['path', 'destination.file']],
    defaults: { reopen: false },
    map(c, ctx) {
      const path = c.str('path')
      if (path === undefined) ctx.warn('path', 'no path; the gateway log stands in')
      const config: Record<string, unknown> = { destination: path ? { file: path } : 'gateway' }
      return { plugin: 'access-log', config }
    },
  },
]

/** Kong's bundled plugins with no equivalent yet, with what to use instead. */
export const KONG_UNMAPPED: Record<string, string> = {
  'http-log': 'no HTTP log shipper: use access-log to a file or stdout and ship it with a log agent',
  'tcp-log': 'no TCP log shipper: use access-log to stdout and ship it with a log agent',
  'udp-log': 'no UDP log shipper: use access-log to stdout and ship it with a log agent',
  syslog: 'no syslog shipper: use access-log to stdout',
  loggly: 'use access-log to stdout and ship it with a log agent',
  datadog: 'use prometheus or opentelemetry',
  statsd: 'use prometheus',
  zipkin: 'use opentelemetry',
  'hmac-auth': 'no HMAC auth plugin: write one with @gatehousejs/sdk (see docs/authentication.md)',
  oauth2: 'no OAuth 2.0 authorization server: issue tokens elsewhere and verify them with jwt',
  ldap: 'no LDAP auth plugin',
  'bot-detection': 'no bot detection plugin: ip-restriction or a custom plugin',
  'response-ratelimiting': 'no response-driven rate limiting: use rate-limit',
  'aws-lambda': 'no serverless plugin',
  'azure-functions': 'no serverless plugin',
  'pre-function': 'Lua code cannot be carried over: write a plugin with @gatehousejs/sdk',
  'post-function': 'Lua code cannot be carried over: write a plugin with @gatehousejs/sdk',
  session: 'no session plugin',
  'grpc-gateway': 'use the grpc plugin (see docs/grpc.md)',
  'grpc-web': 'use the grpc plugin (see docs/grpc.md)',
}

const BY_KONG = new Map(KONG_PLUGINS.map((m) => [m.kong, m]))

/** The mapping for a Kong plugin name, if Gatehouse has an equivalent. */
export function kongPluginMapping(name: string): PluginMapping | undefined {
  return BY_KONG.get(name)
}
