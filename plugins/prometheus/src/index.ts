import cluster from 'node:cluster'
import {
  type AccessContext,
  ConfigError,
  definePlugin,
  type LogContext,
  type PluginHandlers,
  PRIORITY,
  type RewriteContext,
} from '@gatehousejs/sdk'
import manifest from '../package.json' with { type: 'json' }
import { scrapeGuard } from './access.js'
import { aggregatedMetrics, setupClusterMetrics, shareRegistry } from './cluster.js'
import { AggregationFailed } from './errors.js'
import { trackUpstreamHealth } from './health.js'
import { createRecorder } from './metrics.js'
import { PrometheusSchema } from './schema.js'

export { type ClusterMetrics, setupClusterMetrics } from './cluster.js'
export { AggregationFailed, ScrapeForbidden, ScrapeUnauthorized } from './errors.js'
export { trackUpstreamHealth, type UpstreamHealthSource } from './health.js'
export { DEFAULT_BUCKETS, type PrometheusConfig, PrometheusSchema } from './schema.js'

/** How long a worker waits for the primary's aggregated metrics. */
const AGGREGATE_TIMEOUT = 5_000

interface ScrapeState {
  scrape?: boolean
}

/**
 * `prometheus`: request counts, latency histograms (total, upstream, gateway-only), bandwidth and
 * upstream target health, in Prometheus text format on a gateway path (default `/metrics`) and as an
 * admin endpoint (`GET /plugins/<instance>/metrics`).
 *
 * Phases: `rewrite` (global instance) or `access` answer the metrics path; `log` records every other
 * request. Under node:cluster, a scrape of any worker returns every worker's metrics summed (see
 * `setupClusterMetrics`).
 *
 * @example
 * await createGateway({
 *   services: [{ name: 'users', url: 'http://127.0.0.1:3001', routes: [{ paths: ['/users'] }] }],
 *   plugins: [{ name: 'prometheus', config: { endpoint: { allow: ['10.0.0.0/8'] } } }],
 * }, { plugins: [prometheus] })
 */
export const prometheus = definePlugin({
  name: 'prometheus',
  version: manifest.version,
  // A logger: its `log` runs after the others'; its endpoint is answered in `rewrite`/`access`, where
  // its rank only matters against other plugins that answer paths.
  priority: PRIORITY.logger,
  description:
    'Prometheus metrics: requests, latencies, bandwidth and upstream health, per service and route',
  schema: PrometheusSchema,
  // `gatehouse start --workers N` runs this in the cluster primary: `workers: "aggregate"` then works
  // with no code of the operator's. A primary of your own calls setupClusterMetrics() instead.
  primary() {
    return setupClusterMetrics().close
  },
  validate: (config) => scrapeGuard(config.endpoint.allow, config.endpoint.token).issues,
  init(config, env) {
    const { guard, issues } = scrapeGuard(config.endpoint.allow, config.endpoint.token)
    if (issues.length > 0) throw new ConfigError(issues)
    const recorder = createRecorder(config)
    const registry = recorder.registry
    const unshare = shareRegistry(registry)
    const aggregate = config.workers === 'aggregate' && cluster.isWorker
    const path = config.endpoint.path

    async function metricsText(): Promise<string> {
      if (!aggregate) return registry.metrics()
      try {
        return await aggregatedMetrics(AGGREGATE_TIMEOUT)
      } catch (err) {
        env.log.warn({ err }, 'worker metrics could not be aggregated')
        throw AggregationFailed().withHeaders({ 'retry-after': '1' })
      }
    }

    async function serveMetrics(ctx: RewriteContext<ScrapeState> | AccessContext<ScrapeState>) {
      const method = ctx.request.method
      if (ctx.request.path !== path || (method !== 'GET' && method !== 'HEAD')) return
      ctx.plugin.scrape = true
      guard.check(ctx.client.ip, ctx.request.headers.authorization)
      ctx.respond(200, await metricsText(), {
        'content-type': registry.contentType,
        'cache-control': 'no-store',
      })
    }

    // The host's target health (core passes env.upstreams): no trackUpstreamHealth call needed, so it
    // works for gateways the CLI starts too.
    const untrack = env.upstreams ? trackUpstreamHealth({ upstreams: env.upstreams }) : undefined

    const handlers: PluginHandlers<ScrapeState> = {
      log: function prometheusLog(ctx: LogContext<ScrapeState>) {
        if (ctx.plugin.scrape) return
        recorder.record(ctx)
      },
      close() {
        unshare()
        untrack?.()
      },
      admin: [
        {
          method: 'GET',
          path: '/metrics',
          description: 'The metrics in Prometheus text format (aggregated over workers, as configured)',
          async handler() {
            return {
              status: 200,
              headers: { 'content-type': registry.contentType },
              body: await metricsText(),
            }
          },
        },
      ],
    }
    if (path !== null) {
      handlers.rewrite = serveMetrics
      handlers.access = serveMetrics
    }
    return handlers
  },
})

export default prometheus
