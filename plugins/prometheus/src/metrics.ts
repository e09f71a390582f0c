import type { LogContext } from '@gatehousejs/sdk'
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client'
import { healthSamples } from './health.js'
import type { PrometheusConfig } from './schema.js'

/**
 * The metrics of one plugin instance, in its own prom-client Registry (never the global one, so two
 * gateways in one process, or a reload that changes the config, do not collide). Names follow Kong's
 * prometheus plugin where it has one, in Prometheus base units (seconds, bytes).
 */
export interface Recorder {
  readonly registry: Registry
  record<T>(ctx: LogContext<T>): void
}

export function createRecorder(config: PrometheusConfig): Recorder {
  const registry = new Registry()
  const p = config.prefix
  const consumer = config.perConsumer
  const base = consumer ? ['service', 'route', 'consumer'] : ['service', 'route']

  const requests = new Counter({
    name: `${p}_http_requests_total`,
    help: 'HTTP requests by service, route, method, status and source (upstream, plugin or error)',
    labelNames: [...base, 'method', 'status', 'source'],
    registers: [registry],
  })
  const histogram = (name: string, help: string) =>
    new Histogram({
      name: `${p}_${name}`,
      help,
      labelNames: base,
      buckets: [...config.buckets].sort((a, b) => a - b),
      registers: [registry],
    })
  const total = config.latency
    ? histogram('request_duration_seconds', 'Time from the request head to the last byte of the response')
    : undefined
  const upstream = config.latency
    ? histogram('upstream_duration_seconds', 'Time from sending upstream to the upstream’s response headers')
    : undefined
  const gateway = config.latency
    ? histogram('gateway_duration_seconds', 'The gateway’s own time: total minus upstream')
    : undefined
  const bandwidth = config.bandwidth
    ? new Counter({
        name: `${p}_bandwidth_bytes_total`,
        help: 'Body bytes received from clients (ingress) and sent to them (egress), by their Content-Length',
        labelNames: ['service', 'route', 'direction'],
        registers: [registry],
      })
    : undefined
  new Gauge({
    name: `${p}_upstream_target_health`,
    help: 'Health of each balanced upstream target: 1 for the state it is in, 0 for the others',
    labelNames: ['service', 'target', 'state'],
    registers: [registry],
    // Read from the gateways registered with trackUpstreamHealth(), at scrape time only.
    collect() {
      this.reset()
      for (const s of healthSamples())
        this.set({ service: s.service, target: s.target, state: s.state }, s.value)
    },
  })
  if (config.defaultMetrics) collectDefaultMetrics({ register: registry, prefix: `${p}_` })

  return {
    registry,
    record(ctx) {
      const service = ctx.service?.name ?? ''
      const route = ctx.route?.name ?? ''
      const labels: Record<string, string> = { service, route }
      if (consumer) labels.consumer = ctx.consumer ? (ctx.consumer.username ?? ctx.consumer.id) : ''
      const res = ctx.response
      // A client that went away before any response gets status 499, as nginx logs it.
      requests.inc({
        ...labels,
        method: ctx.request.method,
        status: res ? String(res.status) : '499',
        source: res ? res.source : 'aborted',
      })
      const t = ctx.timings
      total?.observe(labels, t.total / 1000)
      if (t.upstream !== undefined) upstream?.observe(labels, t.upstream / 1000)
      gateway?.observe(labels, t.gateway / 1000)
      if (bandwidth) {
        const received = bodyLength(ctx.request.headers['content-length'], ctx.request.rawBody)
        const sent = res ? bodyLength(res.headers['content-length'], undefined) : 0
        if (received > 0) bandwidth.inc({ service, route, direction: 'ingress' }, received)
        if (sent > 0) bandwidth.inc({ service, route, direction: 'egress' }, sent)
      }
    },
  }
}

function bodyLength(header: string | string[] | undefined, raw: Buffer | undefined): number {
  if (raw !== undefined) return raw.length
  const n = typeof header === 'string' ? Number(header) : Number.NaN
  return Number.isFinite(n) && n > 0 ? n : 0
}
