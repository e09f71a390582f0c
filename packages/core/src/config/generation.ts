import type { Logger } from 'pino'
import type { Generation, Instance, Runtime } from '../model.js'
import type { HealthEvent, HealthHub, UpstreamGroup } from '../upstream/health.js'
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

/**
 * The running generation (`rt.current`) and the retired ones still draining; the health checks of
 * their upstream groups, whose target state changes go to `onHealthChange` listeners.
 */
export class Generations {
  private readonly retired = new Set<Generation>()
  private readonly healthListeners = new Set<(event: HealthEvent) => void>()
  private readonly hub: HealthHub
  // A reused instance is the same handlers object wrapped in a new Instance per generation, so
  // liveness and "already closed" are decided by handlers: close() runs once per handlers object.
  private readonly closedHandlers = new WeakSet<object>()

  constructor(
    private readonly rt: Runtime,
    private readonly drainTimeout: number,
    private readonly logger: Logger,
  ) {
    const listeners = this.healthListeners
    this.hub = {
      logger,
      emit(event) {
        for (const listener of listeners) {
          try {
            listener(event)
          } catch (err) {
            logger.error({ err }, 'an onHealthChange listener threw; ignored')
          }
        }
      },
    }
    for (const group of groupsOf(rt.current)) group.start(this.hub)
  }

  /** Calls `listener` on every target state change; returns the function that unsubscribes. */
  onHealthChange(listener: (event: HealthEvent) => void): () => void {
    this.healthListeners.add(listener)
    return () => {
      this.healthListeners.delete(listener)
    }
  }

  /**
   * Swaps `gen` in as the running generation, in one assignment. Health checks follow the
   * configuration: new groups start, replaced ones stop probing. The old generation retires.
   */
  replace(gen: Generation): void {
    const old = this.rt.current
    this.rt.current = gen
    const liveGroups = groupsOf(gen)
    for (const group of liveGroups) group.start(this.hub)
    for (const group of groupsOf(old)) if (!liveGroups.has(group)) group.stop()
    void this.retire(old)
  }

  /** Waits for `old` to drain, then closes what no live generation uses: instances, then pools. */
  private async retire(old: Generation): Promise<void> {
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
   * then health checks stop and every pool closes, what still runs in them cut once drainTimeout
   * (counted from here) has passed.
   */
  async closeAll(): Promise<void> {
    const deadline = Date.now() + this.drainTimeout
    const gens = this.live()
    await Promise.all(gens.map((g) => g.drained(this.drainTimeout)))
    await this.closeOnce(new Set(gens.flatMap((g) => g.instances)))
    for (const g of gens) for (const group of groupsOf(g)) group.stop()
    await this.rt.pools.closeAll(Math.max(0, deadline - Date.now()))
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
