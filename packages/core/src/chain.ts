import type { ConfigIssue, PluginScope } from '@gatehousejs/sdk'
import type { WhenConfig } from '@gatehousejs/sdk/config'
import type { Chain, Instance, Step, WhenInput } from './model.js'

export function specificityOf(scope: PluginScope): number {
  return (scope.consumer ? 4 : 0) + (scope.route ? 2 : scope.service ? 1 : 0)
}

/**
 * Gives every instance its place in one global order: priority (higher first), then name, then
 * specificity and declaration order; then `before`/`after` constraints, applied by a stable
 * topological sort. A cycle is a config error naming the instances in it.
 */
export function rankInstances(instances: Instance[]): ConfigIssue[] {
  const base = [...instances].sort(
    (a, b) =>
      b.def.priority - a.def.priority ||
      (a.def.name < b.def.name ? -1 : a.def.name > b.def.name ? 1 : 0) ||
      a.specificity - b.specificity,
  )
  const index = new Map(base.map((inst, i) => [inst, i]))
  const byName = new Map<string, Instance[]>()
  for (const inst of base) byName.set(inst.def.name, [...(byName.get(inst.def.name) ?? []), inst])
  const edges = new Map<Instance, Set<Instance>>(base.map((i) => [i, new Set()]))
  const indegree = new Map<Instance, number>(base.map((i) => [i, 0]))
  const addEdge = (from: Instance, to: Instance) => {
    if (from === to || edges.get(from)!.has(to)) return
    edges.get(from)!.add(to)
    indegree.set(to, indegree.get(to)! + 1)
  }
  for (const inst of base) {
    for (const name of inst.before) for (const other of byName.get(name) ?? []) addEdge(inst, other)
    for (const name of inst.after) for (const other of byName.get(name) ?? []) addEdge(other, inst)
  }
  // The instance that declares `before` moves up to its target's place; it must not push the target
  // (and so a whole priority band, e.g. auth behind acl) down. So an instance with `before` edges
  // takes the earliest place of what it must precede; `after` only makes the declarer wait.
  const key = new Map<Instance, number>(base.map((inst, i) => [inst, i]))
  for (let pass = 0, changed = true; changed && pass < base.length; pass++) {
    changed = false
    for (const inst of base) {
      for (const name of inst.before) {
        for (const other of byName.get(name) ?? []) {
          if (other !== inst && key.get(other)! < key.get(inst)!) {
            key.set(inst, key.get(other)!)
            changed = true
          }
        }
      }
    }
  }
  const ready = base.filter((i) => indegree.get(i) === 0)
  let rank = 0
  while (ready.length > 0) {
    ready.sort((a, b) => key.get(a)! - key.get(b)! || index.get(a)! - index.get(b)!)
    const next = ready.shift()!
    next.rank = rank++
    for (const to of edges.get(next)!) {
      indegree.set(to, indegree.get(to)! - 1)
      if (indegree.get(to) === 0) ready.push(to)
    }
  }
  const cyclic = base.filter((i) => indegree.get(i)! > 0)
  return cyclic.map((inst) => ({
    pointer: inst.pointer,
    plugin: inst.def.name,
    message: `before/after constraints form a cycle among: ${cyclic.map((i) => i.def.name).join(', ')}`,
  }))
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
