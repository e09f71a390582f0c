import type { ConfigIssue } from '@gatehousejs/sdk'
import type { Instance } from '../model.js'

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
