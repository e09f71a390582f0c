import type { Logger } from 'pino'
import type { Generation, Instance, Runtime } from '../model.js'
import type { UpstreamGroup } from '../upstream/health.js'
import { closeInstances } from './initialise.js'
import { poolKeysOf } from './upstreams.js'

/**
 * A generation's life after it is built: the requests that hold it (each from its arrival until its
 * `log` phase has run), and its retirement once a reload replaced it: when it has drained (or after
 * `drainTimeout`), its plugin instances that no live generation uses get `close()` and the upstream
 * pools no live generation uses are closed (docs/architecture.md, "Reload swaps atomically").
 */

/** `hold`, `release` and `drained` for a new generation. */
export function requestHolds(): Pick<Generation, 'hold' | 'release' | 'drained'> {
  let held = 0
  let waiting: Array<() => void> = []
  return {
    hold() {
      held++
    },
    release() {
      held--
      if (held === 0 && waiting.length > 0) {
        const wake = waiting
        waiting = []
        for (const done of wake) done()
      }
    },
    drained(timeout) {
      if (held === 0) return Promise.resolve()
      return new Promise<void>((resolve) => {
        const timer = setTimeout(done, timeout)
        timer.unref()
        function done(): void {
          clearTimeout(timer)
          waiting = waiting.filter((w) => w !== done)
          resolve()
        }
        waiting.push(done)
      })
    },
  }
}

/** The balanced services' upstream groups of a generation (their health checks follow it). */
export function groupsOf(gen: Generation): Set<UpstreamGroup> {
  const groups = new Set<UpstreamGroup>()
  for (const service of gen.services.values()) if (service.group !== undefined) groups.add(service.group)
  return groups
}

/** The running generation (`rt.current`) and the retired ones still draining. */
export class Generations {
  private readonly retired = new Set<Generation>()
  // A reused instance is the same handlers object wrapped in a new Instance per generation, so
  // liveness and "already closed" are decided by handlers: close() runs once per handlers object.
  private readonly closedHandlers = new WeakSet<object>()

  constructor(
    private readonly rt: Runtime,
    private readonly drainTimeout: number,
    private readonly logger: Logger,
  ) {}

  /** Waits for `old` to drain, then closes what no live generation uses: instances, then pools. */
  async retire(old: Generation): Promise<void> {
    this.retired.add(old)
    await old.drained(this.drainTimeout)
    this.retired.delete(old)
    const live = this.live()
    const handlers = new Set(live.flatMap((g) => g.instances.map((i) => i.handlers)))
    await this.closeOnce(old.instances.filter((i) => !handlers.has(i.handlers)))
    const keep = new Set<string>()
    for (const gen of live) {
      for (const r of gen.routes) for (const key of poolKeysOf(r.service, r.timeouts.connect)) keep.add(key)
    }
    if (!this.rt.closing) await this.rt.pools.retain(keep)
  }

  /**
   * On close: `log` handlers run after the last byte, so a request outlives its connection: every
   * generation drains (bounded by drainTimeout) before the instances its handlers use are closed;
   * then health checks stop and every pool closes.
   */
  async closeAll(): Promise<void> {
    const gens = this.live()
    await Promise.all(gens.map((g) => g.drained(this.drainTimeout)))
    await this.closeOnce(new Set(gens.flatMap((g) => g.instances)))
    for (const g of gens) for (const group of groupsOf(g)) group.stop()
    await this.rt.pools.closeAll()
  }

  /** Still live: the running generation and those still draining. */
  private live(): Generation[] {
    return [this.rt.current, ...this.retired]
  }

  private closeOnce(instances: Iterable<Instance>): Promise<void> {
    const todo: Instance[] = []
    for (const inst of instances) {
      if (this.closedHandlers.has(inst.handlers)) continue
      this.closedHandlers.add(inst.handlers)
      todo.push(inst)
    }
    return closeInstances(todo, this.logger)
  }
}
