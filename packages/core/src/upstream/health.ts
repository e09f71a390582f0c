import http from 'node:http'
import https from 'node:https'
import type { Logger } from 'pino'
import { type Balancer, HashRing, LeastConnections, RoundRobin } from './balancer.js'
import { type HealthState, Target } from './target.js'

/**
 * Target health: a circuit breaker per target, fed by live traffic (passive) and by probes (active).
 *
 *   healthy ──(passive: N consecutive failures | active: N failed probes)──▶ unhealthy
 *   unhealthy ──(active: N good probes)──▶ healthy
 *   unhealthy ──(passive only: cooldown elapsed, one request picked)──▶ half-open
 *   half-open ──(that trial succeeds)──▶ healthy;  ──(it fails)──▶ unhealthy, cooldown again
 *
 * With active checks configured, only probes bring a target back (no half-open trials), as in Kong.
 */

/** Emitted on every state change of a target (gateway.onHealthChange). */
export interface HealthEvent {
  service: string
  target: string
  from: HealthState
  to: HealthState
  /** What caused it, e.g. "3 consecutive failures (ECONNREFUSED)", "2 successful probes". */
  reason: string
  /** Epoch milliseconds. */
  at: number
}

export interface TargetSnapshot {
  url: string
  weight: number
  state: HealthState
  /** Requests in flight to this target. */
  active: number
  /** Consecutive failures seen by passive checks. */
  failures: number
  /** Epoch milliseconds of the last state change (or of the group's creation). */
  since: number
}

export interface UpstreamSnapshot {
  service: string
  algorithm: Algorithm
  targets: TargetSnapshot[]
}

export type Algorithm = 'round-robin' | 'least-connections' | 'consistent-hashing'

export interface ActiveCheckConfig {
  path: string
  interval: number
  timeout: number
  healthy: (status: number) => boolean
  healthyThreshold: number
  unhealthyThreshold: number
}

export interface PassiveCheckConfig {
  failures: number
  statuses: ReadonlySet<number>
  cooldown: number
}

export interface GroupConfig {
  service: string
  targets: Array<{ url: string; origin: string; weight: number }>
  algorithm: Algorithm
  active: ActiveCheckConfig | undefined
  passive: PassiveCheckConfig | undefined
}

/** Where state changes go: the gateway's listeners and its log. */
export interface HealthHub {
  logger: Logger
  emit(event: HealthEvent): void
}

/** A service's targets, its balancer, and their health. Outlives a reload when its config is unchanged. */
export class UpstreamGroup {
  readonly service: string
  readonly algorithm: Algorithm
  readonly targets: Target[]
  readonly balancer: Balancer
  /** Config identity: a reload reuses the group (and its health) when this is unchanged. */
  readonly key: string
  private readonly active: ActiveCheckConfig | undefined
  private readonly passive: PassiveCheckConfig | undefined
  private hub: HealthHub | undefined
  private timers: NodeJS.Timeout[] = []
  private started = false
  private stopped = false

  constructor(config: GroupConfig, key: string) {
    this.service = config.service
    this.algorithm = config.algorithm
    this.key = key
    this.active = config.active
    this.passive = config.passive
    const trials = config.active === undefined && config.passive !== undefined
    this.targets = config.targets.map((t) => new Target(t.url, t.origin, t.weight, trials))
    this.balancer =
      config.algorithm === 'least-connections'
        ? new LeastConnections(this.targets)
        : config.algorithm === 'consistent-hashing'
          ? new HashRing(this.targets)
          : new RoundRobin(this.targets)
  }

  /** Picks a target; a target due a half-open trial becomes half-open (its one trial in flight). */
  pick(key: string | undefined, tried: Set<Target> | undefined): Target | undefined {
    const now = performance.now()
    const t = this.balancer.pick(key, tried, now)
    if (t !== undefined && t.state === 'unhealthy')
      this.transition(t, 'half-open', 'cooldown elapsed: trial request')
    return t
  }

  /** Seconds a client should wait before trying again when no target is usable (Retry-After). */
  retryAfter(): number {
    if (this.active !== undefined)
      return Math.max(1, Math.ceil((this.active.interval * this.active.healthyThreshold) / 1000))
    const now = performance.now()
    let soonest = Number.POSITIVE_INFINITY
    for (const t of this.targets) if (t.weight > 0) soonest = Math.min(soonest, t.reopenAt - now)
    return Number.isFinite(soonest) ? Math.max(1, Math.ceil(soonest / 1000)) : 1
  }

  /** A response came back: passive checks judge it by its status. */
  reportStatus(t: Target, status: number): void {
    if (this.passive?.statuses.has(status)) this.reportFailure(t, `status ${status}`)
    else this.reportSuccess(t)
  }

  reportSuccess(t: Target): void {
    t.failures = 0
    if (t.state === 'half-open') this.transition(t, 'healthy', 'trial request succeeded')
  }

  /** A connect failure, reset, timeout or bad answer (or a status listed in passive.statuses). */
  reportFailure(t: Target, why: string): void {
    const passive = this.passive
    if (passive === undefined) return
    if (t.state === 'half-open') {
      this.open(t, `trial request failed (${why})`)
      return
    }
    t.failures++
    if (t.state === 'healthy' && t.failures >= passive.failures)
      this.open(t, `${t.failures} consecutive failures (last: ${why})`)
  }

  /** The attempt ended without a verdict (the client went away): a trial slot is given back. */
  reportAbandoned(t: Target): void {
    if (t.state === 'half-open') {
      t.state = 'unhealthy'
      t.reopenAt = performance.now()
    }
  }

  snapshot(): UpstreamSnapshot {
    return {
      service: this.service,
      algorithm: this.algorithm,
      targets: this.targets.map((t) => ({
        url: t.url,
        weight: t.weight,
        state: t.state,
        active: t.active,
        failures: t.failures,
        since: t.since,
      })),
    }
  }

  /** Starts active probes (idempotent). Timers are unref'd: they never keep the process alive. */
  start(hub: HealthHub): void {
    this.hub = hub
    if (this.started || this.stopped) return
    this.started = true
    const active = this.active
    if (active === undefined) return
    this.targets.forEach((t, i) => {
      // Stagger the first probes so targets are not all probed in the same tick.
      const first = Math.round((active.interval * i) / this.targets.length)
      this.schedule(t, active, first)
    })
  }

  stop(): void {
    this.stopped = true
    for (const timer of this.timers) clearTimeout(timer)
    this.timers = []
  }

  private schedule(t: Target, active: ActiveCheckConfig, delay: number): void {
    const timer = setTimeout(() => {
      this.timers = this.timers.filter((x) => x !== timer)
      probe(t.origin + active.path, active.timeout).then((result) => {
        if (this.stopped) return
        this.probed(t, active, result)
        this.schedule(t, active, active.interval)
      })
    }, delay)
    timer.unref()
    this.timers.push(timer)
  }

  private probed(t: Target, active: ActiveCheckConfig, result: number | string): void {
    const ok = typeof result === 'number' && active.healthy(result)
    if (ok) {
      t.probeSuccesses++
      t.probeFailures = 0
      if (t.state !== 'healthy' && t.probeSuccesses >= active.healthyThreshold) {
        t.failures = 0
        this.transition(t, 'healthy', `${t.probeSuccesses} successful probes`)
      }
    } else {
      t.probeFailures++
      t.probeSuccesses = 0
      if (t.state === 'healthy' && t.probeFailures >= active.unhealthyThreshold) {
        const why = typeof result === 'number' ? `status ${result}` : result
        this.open(t, `${t.probeFailures} failed probes (last: ${why})`)
      }
    }
  }

  private open(t: Target, reason: string): void {
    t.reopenAt = performance.now() + (this.passive?.cooldown ?? 0)
    t.probeSuccesses = 0
    this.transition(t, 'unhealthy', reason)
  }

  private transition(t: Target, to: HealthState, reason: string): void {
    const from = t.state
    if (from === to) return
    t.state = to
    t.since = Date.now()
    const event: HealthEvent = { service: this.service, target: t.url, from, to, reason, at: t.since }
    // Half-open trials are steps of the breaker, not news: debug; real changes are info.
    const quiet = to === 'half-open' || (from === 'half-open' && to === 'unhealthy')
    this.hub?.logger[quiet ? 'debug' : 'info'](event, `upstream target ${to}`)
    this.hub?.emit(event)
  }
}

/** One probe: GET on a fresh connection. Resolves to the status, or to why it failed. */
function probe(url: string, timeout: number): Promise<number | string> {
  return new Promise((resolve) => {
    const lib = url.startsWith('https:') ? https : http
    let done = false
    const finish = (r: number | string) => {
      if (done) return
      done = true
      resolve(r)
    }
    const req = lib.get(
      url,
      { agent: false, timeout, headers: { 'user-agent': 'gatehouse-healthcheck' } },
      (res) => {
        res.resume()
        finish(res.statusCode ?? 0)
      },
    )
    req.on('timeout', () => {
      req.destroy()
      finish('timeout')
    })
    req.on('error', (err: Error & { code?: string }) => finish(err.code ?? err.message))
  })
}
