import type { ConfigIssue } from '@gatehousejs/sdk'
import type { GatewayConfig, PoolConfig } from '@gatehousejs/sdk/config'
import type { CompiledRoute, CompiledService } from '../model.js'
import { compileMirrors } from '../upstream/mirror.js'
import type { PoolLimits } from '../upstream/pools.js'
import { list, type Plan, type PlanOptions } from './plan.js'
import { compileSplits, compileUpstream } from './upstreams.js'

/**
 * Services and their routes, checked into the plan (step 1): names, timeouts with their defaults,
 * the upstream, the pool, path parameters and rewrites, traffic splits and mirrors.
 */

const DEFAULT_TIMEOUTS = { connect: 10_000, read: 60_000 }
/** Envoy's default `max_pending_requests` per cluster. */
const DEFAULT_POOL_QUEUE = 1024

/** Checks services and their routes into `plan.services` and `plan.routes`. */
export function checkServices(
  config: GatewayConfig,
  plan: Plan,
  opts: PlanOptions,
  issues: ConfigIssue[],
): void {
  const defaults = {
    connect: (config.timeouts?.connect as number | undefined) ?? DEFAULT_TIMEOUTS.connect,
    read: (config.timeouts?.read as number | undefined) ?? DEFAULT_TIMEOUTS.read,
    total: (config.timeouts?.total as number | undefined) ?? 0,
  }
  const services = plan.services
  const routeNames = new Set<string>()
  list(config.services).forEach((svc, si) => {
    const pointer = `/services/${si}`
    if (services.has(svc.name))
      issues.push({ pointer: `${pointer}/name`, message: `duplicate service name "${svc.name}"` })
    const timeouts = {
      connect: (svc.timeouts?.connect as number | undefined) ?? defaults.connect,
      read: (svc.timeouts?.read as number | undefined) ?? defaults.read,
      total: (svc.timeouts?.total as number | undefined) ?? defaults.total,
    }
    const routes = list(svc.routes)
    const hasTotal = timeouts.total > 0 || routes.some((r) => (r.timeouts?.total as number) > 0)
    const upstream = compileUpstream(
      svc,
      pointer,
      issues,
      opts.previous?.services.get(svc.name)?.group,
      hasTotal,
    )
    const compiled: CompiledService = {
      name: svc.name,
      origin: upstream.origin,
      basePath: upstream.basePath,
      timeouts,
      info: Object.freeze({ name: svc.name, url: upstream.infoUrl }),
      group: upstream.group,
      retry: upstream.retry,
      hashKey: upstream.hashKey,
      split: undefined,
      pool: compilePool(svc.pool, timeouts.connect, `${pointer}/pool`, issues),
    }
    services.set(svc.name, compiled)
    routes.forEach((route, ri) => {
      const rp = `${pointer}/routes/${ri}`
      const name = route.name ?? `${svc.name}.${ri}`
      if (routeNames.has(name))
        issues.push({ pointer: `${rp}/name`, message: `duplicate route name "${name}"` })
      routeNames.add(name)
      const paths = (Array.isArray(route.paths) ? route.paths : ['/']).filter((p) => typeof p === 'string')
      const paramSets = paths.map((p, pi) => {
        const names = [...p.matchAll(/\/:([^/]*)/g)].map((m) => m[1]!)
        for (const n of names) {
          if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(n)) {
            issues.push({ pointer: `${rp}/paths/${pi}`, message: `":${n}" is not a valid parameter name` })
          }
        }
        if (new Set(names).size !== names.length) {
          issues.push({ pointer: `${rp}/paths/${pi}`, message: 'a parameter name appears twice' })
        }
        return new Set(names)
      })
      let rewrite: CompiledRoute['rewrite']
      if (typeof route.rewrite === 'string') {
        const used = [...route.rewrite.matchAll(/:([A-Za-z_][A-Za-z0-9_]*)/g)].map((m) => m[1]!)
        for (const u of used) {
          if (!paramSets.every((s) => s.has(u))) {
            issues.push({
              pointer: `${rp}/rewrite`,
              message: `":${u}" is not a parameter of every path of this route`,
            })
          }
        }
        rewrite = compileRewrite(route.rewrite)
      }
      plan.routes.push({
        pointer: rp,
        input: route,
        route: {
          name,
          service: compiled,
          info: Object.freeze({
            name,
            service: svc.name,
            paths: Object.freeze([...paths]),
            methods: route.methods ? Object.freeze([...route.methods]) : undefined,
            hosts: route.hosts ? Object.freeze([...route.hosts]) : undefined,
          }),
          stripPath: route.stripPath ?? true,
          rewrite,
          preserveHost: route.preserveHost ?? false,
          escapedSlashes: route.escapedSlashes ?? svc.escapedSlashes ?? config.escapedSlashes ?? 'reject',
          timeouts: {
            connect: (route.timeouts?.connect as number | undefined) ?? timeouts.connect,
            read: (route.timeouts?.read as number | undefined) ?? timeouts.read,
            total: (route.timeouts?.total as number | undefined) ?? timeouts.total,
          },
          maxInflight: route.maxInflight ?? 0,
          inflight: 0,
        },
      })
    })
  })
  compileSplits(list(config.services), services, issues)
  plan.mirrors = compileMirrors(list(config.services), services, issues)
}

/** A service's `pool`: the queue bounds only mean something once `connections` caps the pool. */
function compilePool(
  pool: PoolConfig | undefined,
  connectTimeout: number,
  pointer: string,
  issues: ConfigIssue[],
): PoolLimits | undefined {
  if (pool === undefined) return undefined
  if (pool.connections === undefined) {
    if (pool.queue !== undefined || pool.queueTimeout !== undefined)
      issues.push({
        pointer,
        message: '`queue` and `queueTimeout` need `connections` (the pool is unlimited without it)',
      })
    return undefined
  }
  const queue = pool.queue ?? DEFAULT_POOL_QUEUE
  // As HAProxy's `timeout queue` falls back to `timeout connect`: waiting for a connection is connecting.
  const queueTimeout = (pool.queueTimeout as number | undefined) ?? connectTimeout
  return {
    connections: pool.connections,
    queue,
    queueTimeout,
    key: `${pool.connections}|${queue}|${queueTimeout}`,
  }
}

function compileRewrite(template: string): (params: Record<string, string>) => string {
  const parts = template.split(/(:[A-Za-z_][A-Za-z0-9_]*)/)
  return function rewritePath(params) {
    let out = ''
    for (const part of parts)
      out += part.startsWith(':') ? encodeURIComponent(params[part.slice(1)] ?? '') : part
    return out
  }
}
