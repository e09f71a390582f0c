import {
  ConfigError,
  type ConsumerRecord,
  type Dispatch,
  type PluginDefinition,
  type RouteInfo,
  type ServiceInfo,
  type UpstreamHealth,
} from '@gatehousejs/sdk'
import type { EscapedSlashesPolicy, GatewayConfig, InterimResponsesPolicy } from '@gatehousejs/sdk/config'
import type { Logger } from 'pino'
import { buildChain, type Chain, type Instance, rankInstances, selectInstances } from './chain.js'
import type { UpstreamGroup } from './health.js'
import { closeInstances, initialiseInstances } from './instances.js'
import type { MirrorRule } from './mirror.js'
import type { PoolLimits } from './proxy.js'
import type { RetryPolicy } from './retry.js'
import { Router } from './router.js'
import type { TrustFn } from './trust.js'
import type { CompiledUpstream, SplitPolicy } from './upstreams.js'
import { type Plan, planGeneration, runPluginChecks } from './validate-config.js'

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
  /** Requests of this route in flight at once; 0 means no limit (protect.ts). */
  maxInflight: number
  /** Requests of this generation's route now in flight, counted only when `maxInflight` is set. */
  inflight: number
}

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
  /** Which clients get the upstream's 1xx responses (interim.ts; docs/security.md). */
  interimResponses: InterimResponsesPolicy
  /** Measure each plugin handler (`needs.pluginTimings` or `serverTiming`); nothing is timed otherwise. */
  timePlugins: boolean
  /** Send the measurements to the client in `Server-Timing`. */
  serverTiming: boolean
  /** Traffic mirroring rules by route name (mirror.ts); empty without any `mirror` in the config. */
  mirrors: Map<string, MirrorRule[]>
  inflight: number
  retired: boolean
  onDrained: (() => void) | undefined
}

export interface CompileOptions {
  plugins: Map<string, PluginDefinition>
  logger: Logger
  previous: Generation | undefined
  file: string | undefined
  id: number
  /** The gateway's target health, handed to plugins as `env.upstreams`. */
  upstreams?: () => readonly UpstreamHealth[]
  /** Requests through the gateway itself, handed to plugins as `env.dispatch`. */
  dispatch?: Dispatch
}

/**
 * Configuration → generation, in the four steps docs/architecture.md names: validate (no side
 * effect), initialise the plugin instances, rank them, compile the route table and chains. Any
 * problem throws one ConfigError naming all of them; instances this call created are closed first.
 */
export async function compileGeneration(input: GatewayConfig, opts: CompileOptions): Promise<Generation> {
  const plan = planGeneration(input, { plugins: opts.plugins, previous: opts.previous })
  if (plan.issues.length === 0) plan.issues.push(...(await runPluginChecks(plan, 'validate')))
  if (plan.issues.length > 0) throw new ConfigError(plan.issues, opts.file)
  const { instances, created, issues } = await initialiseInstances(plan, opts)
  issues.push(...rankInstances(instances))
  if (issues.length > 0) {
    await closeInstances(created, opts.logger)
    throw new ConfigError(issues, opts.file)
  }
  warnUnreachableRewrites(instances, opts.logger)
  return compileTables(plan, instances, opts)
}

function warnUnreachableRewrites(instances: Instance[], logger: Logger): void {
  for (const inst of instances) {
    if (inst.handlers.rewrite && inst.specificity > 0) {
      logger.warn(
        { plugin: inst.def.name, pointer: inst.pointer },
        'the rewrite phase runs before routing, for global instances only: this instance will not run it',
      )
    }
  }
}

/** Step 4: each route's chain (and its consumers' chains), the router, and the generation around them. */
function compileTables(plan: Plan, instances: Instance[], opts: CompileOptions): Generation {
  const config = plan.config
  const consumersWithInstances = [
    ...new Set(instances.map((i) => i.scope.consumer).filter(Boolean) as string[]),
  ]
  const routes: CompiledRoute[] = plan.routes.map(({ route }) => {
    const base = selectInstances(instances, route.service.name, route.name, undefined)
    const consumerChains = new Map<string, Chain>()
    for (const c of consumersWithInstances) {
      const sel = selectInstances(instances, route.service.name, route.name, c)
      if (sel.length !== base.length || sel.some((inst, i) => inst !== base[i]))
        consumerChains.set(c, buildChain(sel))
    }
    return { ...route, chain: buildChain(base), consumerChains }
  })
  const router = new Router(
    routes.map((r, i) => {
      const input = plan.routes[i]!.input
      return {
        route: r,
        paths: input.paths,
        methods: input.methods,
        hosts: input.hosts,
        headers: input.headers,
      }
    }),
  )

  return {
    id: opts.id,
    config,
    file: opts.file,
    router,
    routes,
    services: plan.services,
    globalChain: buildChain(selectInstances(instances, undefined, undefined, undefined)),
    instances,
    consumers: plan.consumers,
    trust: plan.trust,
    mirrors: plan.mirrors,
    requestId: {
      header: (config.requestId?.header ?? 'x-request-id').toLowerCase(),
      trustIncoming: config.requestId?.trustIncoming ?? false,
      responseHeader: config.requestId?.responseHeader ?? true,
    },
    limits: {
      requestBody: (config.limits?.requestBody as number | undefined) ?? 1024 * 1024,
      responseBody: (config.limits?.responseBody as number | undefined) ?? 1024 * 1024,
    },
    escapedSlashes: config.escapedSlashes ?? 'reject',
    interimResponses: config.interimResponses ?? 'forward',
    timePlugins: config.serverTiming === true || instances.some((i) => i.handlers.needs?.pluginTimings),
    serverTiming: config.serverTiming === true,
    inflight: 0,
    retired: false,
    onDrained: undefined,
  }
}
