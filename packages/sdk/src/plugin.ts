import type { Static, TSchema } from 'typebox'
import type {
  AccessContext,
  Awaitable,
  Consumer,
  ErrorContext,
  LogContext,
  Logger,
  ResponseContext,
  RewriteContext,
  RouteInfo,
  ServiceInfo,
} from './context.js'
import type { ConfigIssue } from './errors.js'
import type { RedisConnectionConfig } from './redis/schema.js'

/** The plugin contract version this SDK speaks; core refuses plugins built for another major. */
export const PLUGIN_API_VERSION = 1

/** What an instance asks core to do for it. Anything not asked for costs nothing. */
export interface PluginNeeds {
  /** Buffer and parse the request body (JSON or form) before `access`, up to `limits.requestBody`. */
  requestBody?: boolean
  /** Buffer and decode the response body before `response`, up to `limits.responseBody`. */
  responseBody?: boolean
  /**
   * Record how long each plugin handler takes (rewrite, access, response and error phases), for
   * `ctx.timings.plugins` in `log`. Asked by any instance, it applies to every request of the gateway;
   * otherwise nothing is measured.
   */
  pluginTimings?: boolean
}

/**
 * One configured instance of a plugin: the handlers for the phases it takes part in. `init` returns it,
 * so an instance can leave out a phase (or a body) its configuration does not need.
 */
export interface PluginHandlers<TState = Record<string, unknown>> {
  needs?: PluginNeeds
  /** Every request, before routing. Runs for global instances only. */
  rewrite?(ctx: RewriteContext<TState>): Awaitable<void>
  /** After routing: authenticate, limit, respond early, or change `ctx.upstream`. */
  access?(ctx: AccessContext<TState>): Awaitable<void>
  /** Upstream (or early, or error) status and headers are in; the body too with `needs.responseBody`. */
  response?(ctx: ResponseContext<TState>): Awaitable<void>
  /** After the response is finished. Errors here are logged and ignored. */
  log?(ctx: LogContext<TState>): Awaitable<void>
  /** A phase threw or the upstream failed; may reshape the error response with `ctx.respond`. */
  error?(ctx: ErrorContext<TState>): Awaitable<void>
  /** The gateway is closing, or a reload replaced this instance and its requests drained. */
  close?(): Awaitable<void>
  /**
   * Endpoints this instance adds to the admin API (off by default, token-protected), mounted under
   * `/plugins/<instance id>/<path>`: a cache purge, upstream health, metrics.
   */
  admin?: readonly AdminEndpoint[]
}

/** A request to a plugin's admin endpoint. */
export interface AdminRequest {
  readonly method: string
  /** Captures of the endpoint's `:name` segments. */
  readonly params: Readonly<Record<string, string>>
  readonly query: Readonly<Record<string, string | string[]>>
  readonly headers: Readonly<Record<string, string | string[] | undefined>>
  /** The parsed JSON body, if any. */
  readonly body: unknown
}

/** What an admin endpoint answers: objects are sent as JSON, strings and Buffers as they are (text/plain unless `headers` say otherwise). */
export interface AdminResponse {
  status?: number
  headers?: Record<string, string>
  body?: unknown
}

export interface AdminEndpoint {
  readonly method: 'GET' | 'POST' | 'PUT' | 'DELETE' | 'PATCH'
  /** Relative to the instance's prefix, e.g. `/purge` or `/keys/:key`. */
  readonly path: string
  readonly description?: string
  handler(request: AdminRequest): Awaitable<AdminResponse>
}

export interface PluginScope {
  readonly service?: string
  readonly route?: string
  readonly consumer?: string
}

/** A consumer as configured, with its credentials, for auth plugins to index at `init`. */
export interface ConsumerRecord extends Consumer {
  /**
   * Credentials per auth plugin name, as configured: `credentials['key-auth'] = [{ key: '...' }]`.
   * Each auth plugin checks its own entries in `validate` (see `readCredentials` in the SDK's auth helpers).
   */
  readonly credentials: Readonly<Record<string, ReadonlyArray<Readonly<Record<string, unknown>>>>>
  /**
   * This consumer's JSON pointer in the gateway configuration (`/consumers/2`), set by core, so a
   * plugin's config error names the credential's field: `/consumers/2/credentials/key-auth/0/key`.
   */
  readonly pointer?: string
}

/** What `init` receives besides its config. */
export interface PluginEnv {
  /** The gateway logger, named after the plugin instance. */
  readonly log: Logger
  /** This instance's id and scope. */
  readonly instance: { readonly id: string; readonly scope: PluginScope }
  /** Every configured consumer. */
  readonly consumers: readonly ConsumerRecord[]
  /**
   * The health of the gateway's balanced upstream targets, read when called (e.g. at a metrics
   * scrape). Absent when the host is not a Gatehouse core that balances.
   */
  readonly upstreams?: () => readonly UpstreamHealth[]
  /**
   * Sends a request through this gateway itself, for a plugin that composes calls (aggregation):
   * it runs the full lifecycle and the target's own plugin chain (auth, limits, cache, transforms)
   * with the headers and client IP given, so a policy cannot be bypassed. Usable once the gateway is
   * built (in handlers, not in `init`). Absent when the host is not a Gatehouse core.
   */
  readonly dispatch?: Dispatch
  /** The configured services and routes, to check names a config refers to (e.g. a call's target). */
  readonly services?: readonly ServiceInfo[]
  readonly routes?: readonly RouteInfo[]
  /**
   * The gateway's named Redis connections (the top-level `redis` section), validated, with durations
   * in milliseconds. Open one with `openRedis(env, name, …)` from `@gatehousejs/sdk/redis`.
   */
  readonly redis?: Readonly<Record<string, RedisConnectionConfig>>
}

/** What a plugin's `validate` and `check` receive: the configuration around the instance, no handles. */
export interface PluginCheckEnv {
  readonly instance: { readonly scope: PluginScope }
  readonly consumers: readonly ConsumerRecord[]
  readonly services: readonly ServiceInfo[]
  readonly routes: readonly RouteInfo[]
  /**
   * The gateway's named Redis connections, to check a name the config refers to (`redisNameIssues`
   * from `@gatehousejs/sdk/redis`). Absent when the host does not say (a test, another host): then
   * nothing can be concluded and the name is checked when the connection opens.
   */
  readonly redis?: Readonly<Record<string, RedisConnectionConfig>>
}

/** Sends one request through the gateway's own lifecycle; see {@link PluginEnv.dispatch}. */
export type Dispatch = (request: DispatchRequest) => Promise<DispatchResponse>

/** What a dispatched call runs as. Exactly one of `route` and `service`. */
export interface DispatchRequest {
  /**
   * The request this call is made for (the handler's `ctx`): its client IP and request id carry over,
   * and its nesting depth bounds recursion (an aggregate calling itself gets 508 GH_DISPATCH_LOOP).
   */
  readonly from?: DispatchOrigin
  /**
   * Runs that route's chain (route, service, global and consumer instances, as for a client request
   * to it). `path` is a gateway path that must match one of the route's paths (404 otherwise); the
   * route's strip-path and rewrite apply. Host and header conditions of the route are not checked.
   */
  readonly route?: string
  /**
   * Sends to that service through its global and service-scoped plugin instances; `path` is relative
   * to the service (appended to its URL's path).
   */
  readonly service?: string
  /** Default `GET`. */
  readonly method?: string
  /** Path with its query, e.g. `/users/42?fields=name`. */
  readonly path: string
  /** Sent as given. Hop-by-hop headers and `host` are the caller's to leave out. */
  readonly headers?: Readonly<Record<string, string | string[] | undefined>>
  readonly body?: Buffer | string
  /** The client IP the target's plugins see (per-IP limits, IP restriction). Default: `from`'s. */
  readonly clientIp?: string
  /** Host the call claims (`X-Forwarded-Host` upstream). Default: `from`'s request host. */
  readonly host?: string
  /** Milliseconds; past it the call rejects with GH_DISPATCH_TIMEOUT and its upstream request is aborted. */
  readonly timeout?: number
  /** Aborts the call (it rejects with the signal's reason). */
  readonly signal?: AbortSignal
}

/** The part of a handler's context a dispatched call reads. */
export interface DispatchOrigin {
  readonly requestId: string
  readonly client: { readonly ip: string }
  readonly request: { readonly host: string }
}

/** A dispatched call's answer, whatever its status (errors are JSON bodies with a `code`). */
export interface DispatchResponse {
  readonly status: number
  readonly headers: Readonly<Record<string, string | string[] | undefined>>
  readonly body: Buffer
}

/** One balanced service's targets and their state, as `env.upstreams()` reports them. */
export interface UpstreamHealth {
  readonly service: string
  readonly targets: ReadonlyArray<{
    readonly url: string
    readonly state: 'healthy' | 'unhealthy' | 'half-open'
  }>
}

export interface PluginDefinition<TConfig = any, TState = any> {
  /** kebab-case; the same as the package folder and the config key. */
  readonly name: string
  readonly version: string
  /** Higher runs first; the name breaks ties. See docs/lifecycle.md for the bands. */
  readonly priority: number
  readonly description?: string
  /** The config schema (TypeBox). Without one, the instance takes no config. */
  readonly schema?: TSchema
  /** `true`: every applicable instance runs (loggers, transformers). Default: the most specific wins. */
  readonly stacking?: boolean
  readonly apiVersion: number
  /**
   * Builds an instance from a config that passed the schema and `validate`. Checks belong in
   * `validate` (so `gatehouse validate` finds them); `init` may still refuse with a ConfigError (by
   * calling the same checker and throwing what it found): an issue whose pointer starts with
   * `/config` is relative to this instance (core prefixes the instance's own pointer, e.g.
   * `/plugins/0/config/anonymous`); any other pointer is taken as absolute in the gateway
   * configuration (e.g. `/consumers/2/credentials/key-auth/0/key`).
   */
  init(config: TConfig, env: PluginEnv): Awaitable<PluginHandlers<TState>>
  /**
   * Checks the schema cannot express, with no side effect (no socket, timer, file watcher or network):
   * `gatehouse validate` and every load run it before any `init`. Every check that needs no I/O goes
   * here, not in `init`. Return the problems (nothing, or an empty list, when there are none; or throw
   * a ConfigError); pointers follow `init`'s rule (`/config/...` is relative to this instance).
   * Reading a file the config names (a spec, a .proto) is reading configuration, allowed here.
   */
  readonly validate?: (config: TConfig, env: PluginCheckEnv) => Awaitable<ConfigIssue[] | undefined>
  /**
   * Checks that need I/O (a JWKS URL answers, a file exists on a remote store). Only
   * `gatehouse validate --online` runs it; a load never does. Same return rule as `validate`.
   */
  readonly check?: (config: TConfig, env: PluginCheckEnv) => Awaitable<ConfigIssue[] | undefined>
  /**
   * Runs once in the node:cluster primary when the gateway runs as several worker processes
   * (`gatehouse start --workers N`, or a primary of your own that calls it), for a plugin whose
   * workers coordinate through the primary (prometheus sums the workers' metrics there). It takes no
   * config: it serves every instance in every worker. A returned function is called when the primary
   * stops. Handlers never run in the primary; only this does.
   */
  readonly primary?: () => Awaitable<void | (() => Awaitable<void>)>
}

/** What `init` is: builds an instance's handlers from its validated config. */
export type PluginInit<S extends TSchema, TState> = (
  config: Static<S>,
  env: PluginEnv,
) => Awaitable<PluginHandlers<TState>>

export interface PluginOptions<
  S extends TSchema,
  TState,
  I extends PluginInit<S, TState> = PluginInit<S, TState>,
> {
  name: string
  version: string
  priority: number
  description?: string
  schema?: S
  stacking?: boolean
  /**
   * Builds an instance. What it returns has exactly the keys of {@link PluginHandlers} (and `needs`
   * exactly those of {@link PluginNeeds}): a misspelled phase (`acces`) or need (`requestBdy`) is a
   * compile error naming the key, not a handler that never runs.
   */
  init: I & ExactInit<I>
  // `S` is inferred from `schema` alone. Left inferable here, a `(config) => …` would make the
  // compiler infer `S` back out of `Static<S>`, which measures the variance of TypeBox's `Static`:
  // about 4 s of every compile that defines a plugin with `validate` or `check`.
  /** See {@link PluginDefinition.validate}. */
  validate?: (config: NoInfer<Static<S>>, env: PluginCheckEnv) => Awaitable<ConfigIssue[] | undefined>
  /** See {@link PluginDefinition.check}. */
  check?: (config: NoInfer<Static<S>>, env: PluginCheckEnv) => Awaitable<ConfigIssue[] | undefined>
  /** See {@link PluginDefinition.primary}. */
  primary?: () => Awaitable<void | (() => Awaitable<void>)>
}

/** The keys of a handlers object (or of its `needs`) that core does not read, as `needs.x` for a need. */
export type UnknownHandlerKeys<H> = H extends unknown
  ?
      | Exclude<keyof H, keyof PluginHandlers>
      | (H extends { needs?: infer N }
          ? N extends object
            ? `needs.${Exclude<keyof N, keyof PluginNeeds> & string}`
            : never
          : never)
  : never

/**
 * `unknown` when every object `I` (an `init`) can return has only known keys; otherwise a type no
 * function has, whose one property names the unknown keys, so the compiler's error says which.
 */
export type ExactInit<I> = [
  UnknownHandlerKeys<Awaited<I extends (...args: never[]) => infer R ? R : never>>,
] extends [never]
  ? unknown
  : {
      readonly 'init returns keys core does not know': UnknownHandlerKeys<
        Awaited<I extends (...args: never[]) => infer R ? R : never>
      >
    }

/** The keys of a plugin definition core reads; any other is a mistake (see {@link pluginKeyProblems}). */
export const DEFINITION_KEYS: readonly string[] = Object.freeze([
  'name',
  'version',
  'priority',
  'description',
  'schema',
  'stacking',
  'apiVersion',
  'init',
  'validate',
  'check',
  'primary',
])
/** The phase handlers an `init` may return. */
export const PHASE_HANDLER_KEYS: readonly string[] = Object.freeze([
  'rewrite',
  'access',
  'response',
  'log',
  'error',
  'close',
])
/** The keys of the object `init` returns that core reads. */
export const HANDLER_KEYS: readonly string[] = Object.freeze([...PHASE_HANDLER_KEYS, 'needs', 'admin'])
const NEEDS_KEYS: readonly string[] = ['requestBody', 'responseBody', 'pluginTimings']

/**
 * What is wrong with the keys of a plugin definition (`kind: 'definition'`) or of the object its `init`
 * returned (`kind: 'handlers'`): one message per unknown key, naming the key and the nearest name it
 * may stand for, and per handler that is not a function. Empty when nothing is wrong. The types refuse
 * all of this at compile time; this is the same check for plugins written in plain JavaScript, run by
 * `definePlugin` and by core when it loads an instance.
 */
export function pluginKeyProblems(value: object, kind: 'definition' | 'handlers'): string[] {
  const problems: string[] = []
  const record = value as Record<string, unknown>
  if (kind === 'definition') {
    for (const key of Object.keys(record)) {
      if (DEFINITION_KEYS.includes(key)) continue
      if (HANDLER_KEYS.includes(key)) {
        problems.push(`"${key}" belongs in the object init returns, not in the plugin definition`)
        continue
      }
      const near = nearest(key, [...DEFINITION_KEYS, ...HANDLER_KEYS])
      problems.push(
        HANDLER_KEYS.includes(near)
          ? `"${key}" is not a key of a plugin definition; the nearest is "${near}", which belongs in the object init returns`
          : unknownKey(key, DEFINITION_KEYS, 'key of a plugin definition'),
      )
    }
    return problems
  }
  for (const key of Object.keys(record)) {
    if (!HANDLER_KEYS.includes(key)) {
      problems.push(unknownKey(key, HANDLER_KEYS, 'phase handler'))
      continue
    }
    const v = record[key]
    if (v === undefined) continue
    if (PHASE_HANDLER_KEYS.includes(key) && typeof v !== 'function')
      problems.push(`the ${key} handler must be a function, got ${typeof v}`)
  }
  const needs = record.needs
  if (needs !== undefined && (needs === null || typeof needs !== 'object')) {
    problems.push('"needs" must be an object')
  } else if (needs !== undefined) {
    for (const key of Object.keys(needs)) {
      if (!NEEDS_KEYS.includes(key)) problems.push(`needs.${unknownKey(key, NEEDS_KEYS, 'need')}`)
    }
  }
  return problems
}

function unknownKey(key: string, known: readonly string[], what: string): string {
  return `"${key}" is not a ${what}; the nearest is "${nearest(key, known)}" (known: ${known.join(', ')})`
}

/** The known name with the smallest edit distance to `key` (case-insensitive). */
function nearest(key: string, known: readonly string[]): string {
  let best = known[0]!
  let bestDistance = Number.POSITIVE_INFINITY
  for (const name of known) {
    const d = editDistance(key.toLowerCase(), name.toLowerCase())
    if (d < bestDistance) {
      best = name
      bestDistance = d
    }
  }
  return best
}

/** Levenshtein distance, two rows. */
function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i)
  for (let i = 1; i <= a.length; i++) {
    const row = [i]
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1))
    }
    prev = row
  }
  return prev[b.length]!
}

const NAME_PATTERN = /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/

/**
 * Defines a plugin: a plain, typed object that core validates against, orders and compiles into
 * each route's handler chain.
 *
 * @example
 * export default definePlugin({
 *   name: 'hello',
 *   version: '1.0.0',
 *   priority: 500,
 *   schema: Type.Object({ greeting: Type.String({ default: 'hello' }) }),
 *   init(config) {
 *     return {
 *       access(ctx) {
 *         ctx.upstream.headers['x-greeting'] = config.greeting
 *       },
 *     }
 *   },
 * })
 */
export function definePlugin<
  S extends TSchema,
  TState = Record<string, unknown>,
  I extends PluginInit<S, TState> = PluginInit<S, TState>,
>(options: PluginOptions<S, TState, I>): PluginDefinition<Static<S>, TState> {
  if (!NAME_PATTERN.test(options.name)) {
    throw new TypeError(`plugin name "${options.name}" must be kebab-case (e.g. "rate-limit")`)
  }
  if (!Number.isInteger(options.priority)) {
    throw new TypeError(`plugin "${options.name}": priority must be an integer`)
  }
  if (typeof options.init !== 'function') {
    throw new TypeError(`plugin "${options.name}": init must be a function`)
  }
  for (const key of ['primary', 'validate', 'check'] as const) {
    if (options[key] !== undefined && typeof options[key] !== 'function') {
      throw new TypeError(`plugin "${options.name}": ${key} must be a function`)
    }
  }
  const problems = pluginKeyProblems(options, 'definition')
  if (problems.length > 0) throw new TypeError(`plugin "${options.name}": ${problems.join('; ')}`)
  return Object.freeze({ ...options, apiVersion: PLUGIN_API_VERSION }) as PluginDefinition<Static<S>, TState>
}

/** Published priority bands: higher runs first. */
export const PRIORITY = Object.freeze({
  requestId: 100_000,
  tracing: 90_000,
  cors: 80_000,
  ipRestriction: 70_000,
  auth: 60_000,
  acl: 50_000,
  rateLimit: 40_000,
  requestTransform: 30_000,
  cache: 10_000,
  // Below cache: a cache hit answers before an aggregation makes its calls.
  aggregation: 8_000,
  responseTransform: 5_000,
  logger: 1_000,
} as const)
