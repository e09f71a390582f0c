import type { ConfigIssue, PluginScope } from '@gatehousejs/sdk'
import type { GatewayConfig, NestedPluginConfig } from '@gatehousejs/sdk/config'
import type { didYouMean } from './hints.js'
import { list, type Plan } from './plan.js'

/**
 * Where each plugin instance is declared (top level, a service, a route, a consumer) and the scope
 * that gives it; the services, routes and consumers a top-level declaration names are checked to
 * exist, with "did you mean" for a near miss.
 */

export interface Decl {
  decl: NestedPluginConfig
  scope: PluginScope
  pointer: string
}

/** Every plugin declaration with its scope; references to services, routes and consumers checked. */
export function declarations(
  config: GatewayConfig,
  plan: Plan,
  consumerIndex: Map<string, string>,
  issues: ConfigIssue[],
  hint: typeof didYouMean,
): Decl[] {
  const decls: Decl[] = []
  const routeService = new Map(plan.routes.map((r) => [r.route.name, r.route.service.name]))
  const routeNames = [...routeService.keys()]
  const serviceNames = [...plan.services.keys()]
  list(config.plugins).forEach((p, i) => {
    const pointer = `/plugins/${i}`
    const scope: { service?: string; route?: string; consumer?: string } = {}
    if (p.route !== undefined) {
      const svc = routeService.get(p.route)
      if (!svc)
        issues.push({
          pointer: `${pointer}/route`,
          plugin: p.name,
          message: `no route named "${p.route}"${hint(p.route, routeNames)}`,
        })
      else if (p.service !== undefined && p.service !== svc) {
        issues.push({
          pointer: `${pointer}/service`,
          plugin: p.name,
          message: `route "${p.route}" is not a route of service "${p.service}"`,
        })
      }
      scope.route = p.route
      if (svc) scope.service = svc
    } else if (p.service !== undefined) {
      if (!plan.services.has(p.service))
        issues.push({
          pointer: `${pointer}/service`,
          plugin: p.name,
          message: `no service named "${p.service}"${hint(p.service, serviceNames)}`,
        })
      scope.service = p.service
    }
    if (p.consumer !== undefined) {
      const id = consumerIndex.get(p.consumer)
      if (!id)
        issues.push({
          pointer: `${pointer}/consumer`,
          plugin: p.name,
          message: `no consumer with id or username "${p.consumer}"${hint(p.consumer, [...consumerIndex.keys()])}`,
        })
      scope.consumer = id ?? p.consumer
    }
    const { service: _s, route: _r, consumer: _c, ...decl } = p
    decls.push({ decl, scope, pointer })
  })
  list(config.services).forEach((svc, si) => {
    list(svc.plugins).forEach((p, i) => {
      decls.push({ decl: p, scope: { service: svc.name }, pointer: `/services/${si}/plugins/${i}` })
    })
  })
  for (const { route, pointer, input } of plan.routes) {
    list(input.plugins).forEach((p, i) => {
      decls.push({
        decl: p,
        scope: { service: route.service.name, route: route.name },
        pointer: `${pointer}/plugins/${i}`,
      })
    })
  }
  list(config.consumers).forEach((c, ci) => {
    const id = c.id ?? c.username
    list(c.plugins).forEach((p, i) => {
      decls.push({ decl: p, scope: { consumer: id }, pointer: `/consumers/${ci}/plugins/${i}` })
    })
  })
  return decls
}
