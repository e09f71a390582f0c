import type { Target } from './target.js'

/**
 * Choosing a target for a request. Every balancer skips targets the health state says are not
 * usable and, on a retry, those already tried; it returns undefined when none is left.
 */
export interface Balancer {
  pick(key: string | undefined, tried: Set<Target> | undefined, now: number): Target | undefined
}

/**
 * Smooth weighted round-robin (nginx's): each pick adds every usable target's weight to its
 * running score, takes the highest and subtracts the total from it. With weights 5:1:1 the order is
 * a a b a c a a, not a a a a a b c: load is spread evenly within a cycle, and a target leaving or
 * coming back changes only the totals, never the pattern's fairness.
 */
export class RoundRobin implements Balancer {
  constructor(private readonly targets: readonly Target[]) {}

  pick(_key: string | undefined, tried: Set<Target> | undefined, now: number): Target | undefined {
    let best: Target | undefined
    let total = 0
    for (const t of this.targets) {
      if (!t.usable(now, tried)) continue
      t.score += t.weight
      total += t.weight
      if (best === undefined || t.score > best.score) best = t
    }
    if (best !== undefined) best.score -= total
    return best
  }
}

/**
 * Least connections, weighted: the target with the fewest requests in flight per unit of weight.
 * Ties go to the next target after the last pick, so an idle upstream still gets an even spread.
 */
export class LeastConnections implements Balancer {
  private next = 0
  constructor(private readonly targets: readonly Target[]) {}

  pick(_key: string | undefined, tried: Set<Target> | undefined, now: number): Target | undefined {
    const n = this.targets.length
    let best: Target | undefined
    let bestLoad = Number.POSITIVE_INFINITY
    let bestIndex = 0
    for (let i = 0; i < n; i++) {
      const index = (this.next + i) % n
      const t = this.targets[index]!
      if (!t.usable(now, tried)) continue
      const load = (t.active + 1) / t.weight
      if (load < bestLoad) {
        best = t
        bestLoad = load
        bestIndex = index
      }
    }
    this.next = (bestIndex + 1) % n
    return best
  }
}

/** Points on the ring per 100 of weight: enough for an even spread of keys over a few targets. */
const POINTS_PER_100 = 160

/**
 * Consistent hashing on a ring (Karger et al.): each target owns points placed by hashing its own URL,
 * so its points do not depend on the other targets. A key goes to the first point at or after its
 * hash; adding a target takes over only the keys that fall just before its points (about 1/n of
 * them), and a key whose target is unhealthy walks on to the next target, coming back when it recovers.
 */
export class HashRing implements Balancer {
  private readonly points: Uint32Array
  private readonly owners: Target[]

  constructor(targets: readonly Target[]) {
    const entries: Array<[number, Target]> = []
    for (const t of targets) {
      const count = t.weight === 0 ? 0 : Math.max(1, Math.round((POINTS_PER_100 * t.weight) / 100))
      for (let i = 0; i < count; i++) entries.push([hash32(`${t.url}#${i}`), t])
    }
    entries.sort((a, b) => a[0] - b[0])
    this.points = Uint32Array.from(entries, (e) => e[0])
    this.owners = entries.map((e) => e[1])
  }

  pick(key: string | undefined, tried: Set<Target> | undefined, now: number): Target | undefined {
    const n = this.points.length
    if (n === 0) return undefined
    const start = lowerBound(this.points, hash32(key ?? ''))
    let previous: Target | undefined
    for (let i = 0; i < n; i++) {
      const t = this.owners[(start + i) % n]!
      if (t === previous) continue
      previous = t
      if (t.usable(now, tried)) return t
    }
    return undefined
  }
}

function lowerBound(points: Uint32Array, h: number): number {
  let lo = 0
  let hi = points.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (points[mid]! < h) lo = mid + 1
    else hi = mid
  }
  return lo === points.length ? 0 : lo
}

/** FNV-1a over UTF-16 code units, then murmur3's finaliser so nearby keys land far apart. */
export function hash32(s: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  h ^= h >>> 16
  return h >>> 0
}
