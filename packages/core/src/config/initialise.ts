import type { ConfigIssue, Dispatch, PluginScope, UpstreamHealth } from '@gatehousejs/sdk'
import { pluginKeyProblems } from '@gatehousejs/sdk/host'
import type { Logger } from 'pino'
import type { Generation, Instance } from '../model.js'
import { compileWhen, specificityOf } from './chains.js'
import { pluginIssues } from './instances.js'
import type { Plan } from './plan.js'

export interface InitialiseOptions {
  logger: Logger
  /** The running generation: its instances whose plugin, version, scope and config did not change are reused. */
  previous: Generation | undefined
  /** The gateway's target health, handed to plugins as `env.upstreams`. */
  upstreams?: () => readonly UpstreamHealth[]
  /** Requests through the gateway itself, handed to plugins as `env.dispatch`. */
  dispatch?: Dispatch
}

export interface Initialised {
  /** Every instance of the plan, in declaration order (reused or new). */
  instances: Instance[]
  /** The ones this step created: what to close if the load fails after all. */
  created: Instance[]
  issues: ConfigIssue[]
}

/**
 * Step 2 of a load: calls each planned instance's `init` once, or reuses the running generation's
 * instance with the same plugin, version, scope, consumers and config. This is the first step with
 * side effects (a plugin may open a Redis client or start a timer in `init`).
 */
export async function initialiseInstances(plan: Plan, opts: InitialiseOptions): Promise<Initialised> {
  const reusable = new Map<string, Instance[]>()
  for (const inst of opts.previous?.instances ?? []) {
    reusable.set(inst.reuseKey, [...(reusable.get(inst.reuseKey) ?? []), inst])
  }
  const issues: ConfigIssue[] = []
  const created: Instance[] = []
  const instances: Instance[] = []
  const serviceInfos = Object.freeze([...plan.services.values()].map((s) => s.info))
  const routeInfos = Object.freeze(plan.routes.map((r) => r.route.info))
  for (const p of plan.planned) {
    const id = p.decl.id ?? `${p.def.name}${describeScope(p.scope)}#${instances.length}`
    const old = reusable.get(p.reuseKey)?.shift()
    let handlers = old?.handlers
    if (!handlers) {
      try {
        handlers = await p.def.init(p.config, {
          log: opts.logger.child({ plugin: p.def.name, instance: id }),
          instance: { id, scope: Object.freeze({ ...p.scope }) },
          consumers: plan.consumers,
          upstreams: opts.upstreams,
          dispatch: opts.dispatch,
          services: serviceInfos,
          routes: routeInfos,
          redis: plan.redis.connections,
        })
        if (handlers === null || typeof handlers !== 'object')
          throw new TypeError('init must return an object of handlers')
        // A misspelled phase (`acces`) would otherwise load and never run: an auth check that is not there.
        const problems = pluginKeyProblems(handlers, 'handlers')
        if (problems.length > 0) {
          await closeQuietly(handlers, opts.logger, p.def.name)
          for (const message of problems)
            issues.push({ pointer: p.pointer, plugin: p.def.name, message: `init returned: ${message}` })
          continue
        }
      } catch (err) {
        issues.push(...pluginIssues(err, p.pointer, p.def.name))
        continue
      }
    }
    const instance: Instance = {
      id,
      def: p.def,
      handlers,
      scope: p.scope,
      specificity: specificityOf(p.scope),
      when: compileWhen(p.decl.when),
      before: p.decl.before ?? [],
      after: p.decl.after ?? [],
      rank: 0,
      pointer: p.pointer,
      reuseKey: p.reuseKey,
    }
    if (!old) created.push(instance)
    instances.push(instance)
  }
  return { instances, created, issues }
}

function describeScope(scope: PluginScope): string {
  const parts = [
    scope.route ? `route:${scope.route}` : scope.service ? `service:${scope.service}` : '',
    scope.consumer ? `consumer:${scope.consumer}` : '',
  ].filter(Boolean)
  return parts.length ? `@${parts.join(',')}` : '@global'
}

/** Releases what a refused instance's `init` opened (a Redis client, a timer). */
async function closeQuietly(handlers: { close?: unknown }, logger: Logger, plugin: string): Promise<void> {
  if (typeof handlers.close !== 'function') return
  try {
    await (handlers.close as () => unknown)()
  } catch (err) {
    logger.error({ err, plugin }, 'plugin close failed')
  }
}

export async function closeInstances(instances: Iterable<Instance>, logger: Logger): Promise<void> {
  await Promise.all(
    [...instances].map(async (inst) => {
      try {
        await inst.handlers.close?.()
      } catch (err) {
        logger.error({ err, plugin: inst.def.name, instance: inst.id }, 'plugin close failed')
      }
    }),
  )
}
