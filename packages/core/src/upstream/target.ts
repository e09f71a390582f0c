/** One upstream target of a balanced service: its address, weight, load and circuit-breaker state. */

/** A target's circuit-breaker state (health.ts moves it). */
export type HealthState = 'healthy' | 'unhealthy' | 'half-open'

export class Target {
  readonly url: string
  readonly origin: string
  readonly weight: number
  /** Smooth weighted round-robin's running score. */
  score = 0
  active = 0
  state: HealthState = 'healthy'
  since = Date.now()
  failures = 0
  probeSuccesses = 0
  probeFailures = 0
  /** Passive only: when an unhealthy target may get a half-open trial (performance.now() time). */
  reopenAt = 0
  private readonly halfOpenTrials: boolean

  constructor(url: string, origin: string, weight: number, halfOpenTrials: boolean) {
    this.url = url
    this.origin = origin
    this.weight = weight
    this.halfOpenTrials = halfOpenTrials
  }

  /** Whether a request may go here now: healthy, or due a half-open trial (none in flight). */
  usable(now: number, tried: Set<Target> | undefined): boolean {
    if (this.weight === 0 || tried?.has(this)) return false
    if (this.state === 'healthy') return true
    return this.state === 'unhealthy' && this.halfOpenTrials && now >= this.reopenAt
  }
}
