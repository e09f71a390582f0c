import type { Readable } from 'node:stream'
import type {
  AdminEndpoint,
  ClientInfo,
  Consumer,
  ConsumerRecord,
  Headers,
  Logger,
  PluginDefinition,
  PluginHandlers,
  PluginScope,
  RequestView,
  RouteInfo,
  ServiceInfo,
  TSchema,
} from '@gatehousejs/sdk'
import type { EscapedSlashesPolicy, GatewayConfig, InterimResponsesPolicy } from '@gatehousejs/sdk/config'
import type { TrustFn } from './config/trust.js'
import type { Router } from './request/router.js'
import type { Guard } from './server/protect.js'
import type { UpstreamGroup } from './upstream/health.js'
import type { PoolLimits, Pools } from './upstream/pools.js'
import type { RetryBudget } from './upstream/retry-budget.js'

/**
 * The model of a running gateway, types only: what a load builds (a generation: its routes, services,
 * plugin instances and chains) and what the request path holds. Every other module imports its shapes
 * from here, so no two modules need each other (packages/core/test/92-import-cycles.test.ts).
 */

// ─── Plugin instances and chains (config/ builds them, request/ walks them) ───

/** A configured, initialised plugin instance. */
export interface Instance {
  id: string
  def: PluginDefinition
  handlers: PluginHandlers
  scope: PluginScope
  /** consumer+route 6 > consumer+service 5 > consumer 4 > route 2 > service 1 > global 0 */
  specificity: number
  when: ((req: WhenInput) => boolean) | undefined
  before: string[]
  after: string[]
  /** Position in the one global order (priority, then before/after); set by `rankInstances`. */
  rank: number
  /** Where the instance is declared, for error messages. */
  pointer: string
  /** Identity across reloads: same plugin, version, scope and config reuse the running instance. */
  reuseKey: string
}

/** What a `when` condition reads. */
export interface WhenInput {
  method: string
  path: string
  headers: Record<string, string | string[] | undefined>
}

/** One handler of a chain, with the instance it belongs to and its `when` condition. */
export interface Step<F> {
  instance: Instance
  fn: F
  when: ((req: WhenInput) => boolean) | undefined
}

/** The compiled, ordered handlers of one route (for one consumer, or none). */
export interface Chain {
  rewrite: Step<NonNullable<PluginHandlers['rewrite']>>[]
  access: Step<NonNullable<PluginHandlers['access']>>[]
  response: Step<NonNullable<PluginHandlers['response']>>[]
  log: Step<NonNullable<PluginHandlers['log']>>[]
  error: Step<NonNullable<PluginHandlers['error']>>[]
  needsRequestBody: boolean
  needsResponseBody: boolean
  instances: Instance[]
}

// ─── Services, upstreams and routes, compiled ───

/** What a consistent-hashing key is read from (a request's Context is one). */
export interface HashSource {
  readonly request: RequestView
  readonly client: ClientInfo
  readonly consumer: Consumer | undefined
}

/** A service's retry policy (`retries` in the configuration; docs/upstreams.md). */
export interface RetryPolicy {
  /** Retries after the first attempt. */
  attempts: number
  methods: ReadonlySet<string>
  backoffInitial: number
  backoffMax: number
  budget: RetryBudget
}

/** A service's upstream, compiled: a plain `url`, or targets with balancing and health. */
export interface CompiledUpstream {
  origin: string
  basePath: string
  /** ServiceInfo.url: the `url`, or the first target's URL with the service path. */
  infoUrl: string
  group: UpstreamGroup | undefined
  retry: RetryPolicy | undefined
  hashKey: ((ctx: HashSource) => string | undefined) | undefined
}

/** A service's traffic split (`split`): header and cookie rules, then weights. */
export interface SplitPolicy {
  /** Header and cookie rules, in order. */
  match: Array<{ test: (req: RequestView) => boolean; service: CompiledService }>
  /** Weight rules: cumulative percent → service. */
  shares: Array<{ upTo: number; service: CompiledService }>
}

export interface CompiledService {
  name: string
  origin: string
  basePath: string
  timeouts: { connect: number; read: number; total: number }
  info: ServiceInfo
  /** Targets, balancing and health (docs/upstreams.md); undefined for a plain `url`: the direct path. */
  group: UpstreamGroup | undefined
  retry: RetryPolicy | undefined
  hashKey: CompiledUpstream['hashKey']
  split: SplitPolicy | undefined
  /** Connection pool limits per origin (`pool`); undefined: undici's default, no limit. */
  pool: PoolLimits | undefined
}

/** A service that goes through a balancer (has a group and a retry policy). */
export type ResilientService = CompiledService & {
  group: UpstreamGroup
  retry: RetryPolicy
}

export interface CompiledRoute {
  name: string
  service: CompiledService
  info: RouteInfo
  stripPath: boolean
  rewrite: ((params: Record<string, string>) => string) | undefined
  preserveHost: boolean
  /** What `%2F`/`%5C` in this route's paths means (route, else service, else global; docs/security.md). */
  escapedSlashes: EscapedSlashesPolicy
  /** Milliseconds; `total` 0 means none. */
  timeouts: { connect: number; read: number; total: number }
  chain: Chain
  /** Chains for consumers that have consumer-scoped instances on this route. */
  consumerChains: Map<string, Chain>
  /** Requests of this route in flight at once; 0 means no limit (server/protect.ts). */
  maxInflight: number
  /** Requests of this generation's route now in flight, counted only when `maxInflight` is set. */
  inflight: number
}

// ─── Traffic mirroring ───

/** Counters of one mirror rule, since the configuration that holds it was loaded. */
export interface MirrorStats {
  /** The route whose requests are copied. */
  route: string
  /** The service the copies go to. */
  service: string
  /** Copies the mirror answered (any status). */
  sent: number
  /** Copies that failed: connection refused or reset, timeout. */
  failed: number
  /** Requests chosen for mirroring whose body was over `bodyLimit`. */
  skipped: number
  /** Requests chosen while `maxInflight` copies were in flight, or while the mirror fails (one probe a second). */
  dropped: number
  /** Copies sent and not answered yet. */
  inflight: number
}

export interface MirrorRule {
  service: CompiledService
  /** 0–1 */
  share: number
  test: ((req: RequestView) => boolean) | undefined
  bodyLimit: number
  timeout: number
  maxInflight: number
  /** Whether the last copy failed: a warning is logged when this turns true, not per copy. */
  failing: boolean
  /** When the last copy was sent while failing (performance.now()). */
  probedAt: number
  /** Round robin over a balanced mirror service's targets. */
  next: number
  stats: MirrorStats
}

// ─── The generation ───

/** One compiled configuration. Requests hold the generation they started on until they finish. */
export interface Generation {
  id: number
  config: GatewayConfig
  file: string | undefined
  router: Router<CompiledRoute>
  routes: CompiledRoute[]
  services: Map<string, CompiledService>
  globalChain: Chain
  instances: Instance[]
  consumers: ConsumerRecord[]
  trust: TrustFn
  requestId: { header: string; trustIncoming: boolean; responseHeader: boolean }
  limits: { requestBody: number; responseBody: number }
  /** The global `escapedSlashes` policy: for paths that match no route (routes carry their own). */
  escapedSlashes: EscapedSlashesPolicy
  /** Which clients get the upstream's 1xx responses (upstream/interim.ts; docs/security.md). */
  interimResponses: InterimResponsesPolicy
  /** Measure each plugin handler (`needs.pluginTimings` or `serverTiming`); nothing is timed otherwise. */
  timePlugins: boolean
  /** Send the measurements to the client in `Server-Timing`. */
  serverTiming: boolean
  /** Traffic mirroring rules by route name (upstream/mirror.ts); empty without any `mirror` in the config. */
  mirrors: Map<string, MirrorRule[]>
  /** A request starts on this generation: it keeps it until its `log` phase has run (request/lifecycle.ts). */
  hold(): void
  /** That request is done with it. */
  release(): void
  /** Resolves once no request holds it (at once if none does), or after `timeout` ms at the latest. */
  drained(timeout: number): Promise<void>
}

/** A route as the gateway shows it (`gateway.routes()`, the admin API). */
export interface RouteSummary {
  name: string
  service: string
  upstream: string
  paths: readonly string[]
  methods: readonly string[] | undefined
  hosts: readonly string[] | undefined
  /** Plugin instance ids per phase, in the order they run (for requests with no consumer). */
  plugins: Record<'access' | 'response' | 'log' | 'error', string[]>
}

/** A running plugin instance as the gateway shows it (`gateway.plugins()`, the admin API). */
export interface PluginInstanceSummary {
  id: string
  plugin: string
  version: string
  scope: PluginScope
  /** Where the instance is declared in the configuration (a JSON pointer). */
  pointer: string
  /** The plugin's config schema, for tools that show config (secrets are marked in it). */
  schema: TSchema | undefined
  admin: readonly AdminEndpoint[]
}

// ─── The request path ───

/** What every request of a gateway shares: the current generation, the pools, the server's state. */
export interface Runtime {
  current: Generation
  pools: Pools
  /** `close()` began: HTTP/1.x responses carry `connection: close`. */
  closing: boolean
  /** `close()`'s grace is over: a request still arriving on an old connection is refused (503). */
  refusing: boolean
  logger: Logger
  /** Connection and in-flight caps, overload shedding (server/protect.ts). */
  guard: Guard
}

/** Sends a response through the HTTP layer; one function per gateway, not a closure per request. */
export type Sender = (
  reply: unknown,
  status: number,
  headers: Headers,
  body: Buffer | string | Readable | undefined,
) => void
