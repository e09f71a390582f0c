import type { PluginScope } from '@gatehousejs/sdk'
import type { WhenConfig } from '@gatehousejs/sdk/config'
import type { Chain, CompiledRoute, Instance, Step, WhenInput } from '../model.js'

export function specificityOf(scope: PluginScope): number {
  return (scope.consumer ? 4 : 0) + (scope.route ? 2 : scope.service ? 1 : 0)
}

/**
 * The instances that apply to a route (and consumer): for each plugin the most specific instance, or
 * every applicable one for a stacking plugin; in global rank order.
 */
export function selectInstances(
  all: Instance[],
  service: string | undefined,
  route: string | undefined,
  consumer: string | undefined,
): Instance[] {
  const chosen = new Map<string, Instance[]>()
  for (const inst of all) {
    const s = inst.scope
    if (s.route !== undefined && s.route !== route) continue
    if (s.service !== undefined && s.service !== service) continue
    if (s.consumer !== undefined && s.consumer !== consumer) continue
    const list = chosen.get(inst.def.name)
    if (!list) chosen.set(inst.def.name, [inst])
    else if (inst.def.stacking) list.push(inst)
    else if (inst.specificity > list[0]!.specificity) list[0] = inst
  }
  return [...chosen.values()].flat().sort((a, b) => a.rank - b.rank)
}

/** The consumers that some instance is scoped to: each may need its own chain on a route. */
export function consumersWithInstances(instances: readonly Instance[]): string[] {
  return [...new Set(instances.map((i) => i.scope.consumer).filter(Boolean) as string[])]
}

/**
 * A route's chain (for requests with no consumer), and a chain for each consumer whose scoped
 * instances change the route's selection; a consumer that changes nothing runs the route's chain.
 * Compiled routes and dispatch's service routes are both built here.
 */
export function routeChains(
  instances: Instance[],
  service: string,
  route: string | undefined,
  consumers: readonly string[],
): Pick<CompiledRoute, 'chain' | 'consumerChains'> {
  const base = selectInstances(instances, service, route, undefined)
  const consumerChains = new Map<string, Chain>()
  for (const c of consumers) {
    const sel = selectInstances(instances, service, route, c)
    if (sel.length !== base.length || sel.some((inst, i) => inst !== base[i]))
      consumerChains.set(c, buildChain(sel))
  }
  return { chain: buildChain(base), consumerChains }
}

export function buildChain(instances: Instance[]): Chain {
  const chain: Chain = {
    rewrite: [],
    access: [],
    response: [],
    log: [],
    error: [],
    needsRequestBody: false,
    needsResponseBody: false,
    instances,
  }
  for (const instance of instances) {
    const h = instance.handlers
    const step = <F>(fn: F): Step<F> => ({ instance, fn, when: instance.when })
    if (h.rewrite && isGlobal(instance)) chain.rewrite.push(step(h.rewrite))
    if (h.access) chain.access.push(step(h.access))
    if (h.response) chain.response.push(step(h.response))
    if (h.log) chain.log.push(step(h.log))
    if (h.error) chain.error.push(step(h.error))
    if (h.needs?.requestBody) chain.needsRequestBody = true
    if (h.needs?.responseBody) chain.needsResponseBody = true
  }
  return chain
}

export function isGlobal(instance: Instance): boolean {
  return instance.specificity === 0
}

/** Compiles a `when` condition to a predicate, once at load. */
export function compileWhen(when: WhenConfig | undefined): ((req: WhenInput) => boolean) | undefined {
  if (!when) return undefined
  const methods = when.methods ? new Set(when.methods) : undefined
  const path = when.path ? globToRegExp(when.path) : undefined
  const headers = when.headers
    ? Object.entries(when.headers).map(([k, v]) => [k.toLowerCase(), v] as const)
    : undefined
  return function whenMatches(req) {
    if (methods && !methods.has(req.method)) return false
    if (path && !path.test(req.path)) return false
    if (headers) {
      for (const [name, want] of headers) {
        const got = req.headers[name]
        if (want === true ? got === undefined : want === false ? got !== undefined : got !== want)
          return false
      }
    }
    return true
  }
}

/**
 * `*` matches one path segment, `**` any number of segments (including none): `/admin/**` matches
 * `/admin` too, as a route prefix `/admin` does, so a condition never misses the bare prefix.
 */
export function globToRegExp(glob: string): RegExp {
  let out = ''
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!
    if (
      c === '/' &&
      glob[i + 1] === '*' &&
      glob[i + 2] === '*' &&
      (i + 3 === glob.length || glob[i + 3] === '/')
    ) {
      out += '(?:/.*)?'
      i += 2
    } else if (c === '*' && glob[i + 1] === '*') {
      out += '.*'
      i++
    } else if (c === '*') out += '[^/]*'
    else out += c.replace(/[.+?^${}()|[\]\\]/g, '\\$&')
  }
  return new RegExp(`^${out}$`)
}
