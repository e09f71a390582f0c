/**
 * Upstream target health comes from core's gateway object (`gateway.upstreams()`), which a plugin
 * cannot reach through the SDK. So the application registers its gateway once with
 * {@link trackUpstreamHealth}, and every prometheus instance in the process reads it at scrape time.
 * The types are structural: this package does not depend on @gatehousejs/core.
 */

/** The part of `@gatehousejs/core`'s Gateway this reads. */
export interface UpstreamHealthSource {
  upstreams(): ReadonlyArray<{
    readonly service: string
    readonly targets: ReadonlyArray<{ readonly url: string; readonly state: string }>
  }>
}

const STATES = ['healthy', 'unhealthy', 'half-open'] as const
const sources = new Set<UpstreamHealthSource>()

/**
 * Exports the health of the gateway's balanced upstream targets as
 * `<prefix>_upstream_target_health{service,target,state}`: 1 for the target's current state, 0 for
 * the others (Kong's `kong_upstream_target_health` shape). Returns the function that stops it.
 *
 * @example
 * const gateway = await createGateway(config, { plugins: [prometheus] })
 * trackUpstreamHealth(gateway)
 */
export function trackUpstreamHealth(gateway: UpstreamHealthSource): () => void {
  sources.add(gateway)
  return () => {
    sources.delete(gateway)
  }
}

export interface HealthSample {
  service: string
  target: string
  state: string
  value: number
}

export function healthSamples(): HealthSample[] {
  const out: HealthSample[] = []
  for (const source of sources) {
    for (const group of source.upstreams()) {
      for (const target of group.targets) {
        for (const state of STATES) {
          out.push({
            service: group.service,
            target: target.url,
            state,
            value: target.state === state ? 1 : 0,
          })
        }
      }
    }
  }
  return out
}
