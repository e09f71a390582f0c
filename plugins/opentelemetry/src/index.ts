import { ConfigError, type ConfigIssue, definePlugin, type PluginHandlers, PRIORITY } from '@gatehousejs/sdk'
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http'
import { resourceFromAttributes } from '@opentelemetry/resources'
import {
  BasicTracerProvider,
  BatchSpanProcessor,
  ParentBasedSampler,
  TraceIdRatioBasedSampler,
} from '@opentelemetry/sdk-trace-base'
import manifest from '../package.json' with { type: 'json' }
import { PinnedIds } from './ids.js'
import { OpenTelemetrySchema } from './schema.js'
import { beginTrace, injectUpstream, recordSpans, type TraceState_ } from './trace.js'

export { type OpenTelemetryConfig, OpenTelemetrySchema } from './schema.js'

const VERSION = manifest.version

/**
 * `opentelemetry`: W3C trace context in (`traceparent`/`tracestate` from the client) and out (to the
 * upstream), a server span per request with route/service/status attributes, a client span for the
 * upstream call and a span per plugin handler; exported over OTLP/HTTP (JSON) in batches.
 *
 * Phases: `rewrite` (global instance: so unrouted requests are traced too) and `access` read the
 * context and decide sampling; `access` injects it upstream; `log` makes the spans with their real
 * times; `close` flushes what is queued.
 *
 * @example
 * await createGateway({
 *   services: [{ name: 'users', url: 'http://127.0.0.1:3001', routes: [{ paths: ['/users'] }] }],
 *   plugins: [{ name: 'opentelemetry', config: { endpoint: 'http://collector:4318/v1/traces' } }],
 * }, { plugins: [opentelemetry] })
 */
export const opentelemetry = definePlugin({
  name: 'opentelemetry',
  version: VERSION,
  priority: PRIORITY.tracing,
  description: 'OpenTelemetry tracing: W3C trace context, server/upstream/plugin spans, OTLP/HTTP export',
  schema: OpenTelemetrySchema,
  validate: (config) => endpointIssues(config.endpoint),
  init(config, env) {
    const issues = endpointIssues(config.endpoint)
    if (issues.length > 0) throw new ConfigError(issues)
    const ids = new PinnedIds()
    const sampler = new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(config.samplingRatio) })
    const exporter = new OTLPTraceExporter({
      url: config.endpoint,
      headers: config.headers,
      timeoutMillis: config.batch.exportTimeout,
    })
    const provider = new BasicTracerProvider({
      resource: resourceFromAttributes({
        'service.name': config.serviceName,
        'service.version': VERSION,
        ...config.resourceAttributes,
      }),
      sampler,
      idGenerator: ids,
      spanProcessors: [
        new BatchSpanProcessor(exporter, {
          scheduledDelayMillis: config.batch.scheduledDelay,
          maxQueueSize: config.batch.maxQueueSize,
          maxExportBatchSize: Math.min(config.batch.maxExportBatchSize, config.batch.maxQueueSize),
          exportTimeoutMillis: config.batch.exportTimeout,
        }),
      ],
    })
    const tracer = provider.getTracer('@gatehousejs/plugin-opentelemetry', VERSION)
    const instanceId = env.instance.id

    const handlers: PluginHandlers<TraceState_> = {
      needs: config.pluginSpans ? { pluginTimings: true } : undefined,
      rewrite: function opentelemetryRewrite(ctx) {
        beginTrace(ctx, sampler)
      },
      access: function opentelemetryAccess(ctx) {
        const t = beginTrace(ctx, sampler)
        if (config.propagate) injectUpstream(ctx, t)
      },
      log: function opentelemetryLog(ctx) {
        const t = ctx.plugin.trace
        if (t?.sampled) recordSpans(ctx, t, tracer, ids, instanceId)
      },
      async close() {
        // Flushes the queued spans, then stops the exporter.
        await provider
          .shutdown()
          .catch((err: unknown) => env.log.warn({ err }, 'span export on close failed'))
      },
    }
    return handlers
  },
})

function endpointIssues(endpoint: string): ConfigIssue[] {
  let ok = false
  try {
    const url = new URL(endpoint)
    ok = url.protocol === 'http:' || url.protocol === 'https:'
  } catch {}
  return ok ? [] : [{ pointer: '/config/endpoint', message: `"${endpoint}" is not an http(s) URL` }]
}

export default opentelemetry
