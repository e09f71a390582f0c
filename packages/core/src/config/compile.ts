import type { Dispatch, PluginDefinition, UpstreamHealth } from '@gatehousejs/sdk'
import type { GatewayConfig } from '@gatehousejs/sdk/config'
import { ConfigError } from '@gatehousejs/sdk/host'
import type { Logger } from 'pino'
import type { CompiledRoute, Generation, Instance } from '../model.js'
import { Router } from '../request/router.js'
import { buildChain, consumersWithInstances, routeChains, selectInstances } from './chains.js'
import { requestHolds } from './generation.js'
import { closeInstances, initialiseInstances } from './initialise.js'
import { runPluginChecks } from './instances.js'
import type { Plan } from './plan.js'
import { rankInstances } from './rank.js'
import { planGeneration } from './validate.js'

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
  const consumers = consumersWithInstances(instances)
  const routes: CompiledRoute[] = plan.routes.map(({ route }) => ({
    ...route,
    ...routeChains(instances, route.service.name, route.name, consumers),
  }))
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
    ...requestHolds(),
  }
}
