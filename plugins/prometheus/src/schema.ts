import { type Static, Type } from '@gatehousejs/sdk'

/** Seconds; from 1 ms to 1 min, the range a gateway's latencies live in. */
export const DEFAULT_BUCKETS = [
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60,
]

export const PrometheusSchema = Type.Object(
  {
    prefix: Type.String({
      pattern: '^[a-zA-Z_][a-zA-Z0-9_]*$',
      default: 'gatehouse',
      description: 'Prefix of every metric name, e.g. `gatehouse_http_requests_total`',
    }),
    perConsumer: Type.Boolean({
      default: false,
      description:
        'Add a `consumer` label (the consumer’s username or id) to request counts and latencies. One series per consumer: keep it off with many consumers',
    }),
    latency: Type.Boolean({
      default: true,
      description: 'Record the total, upstream and gateway-only latency histograms',
    }),
    bandwidth: Type.Boolean({ default: true, description: 'Record bytes received and sent' }),
    buckets: Type.Array(Type.Number({ exclusiveMinimum: 0 }), {
      default: DEFAULT_BUCKETS,
      minItems: 1,
      uniqueItems: true,
      description: 'Histogram bucket upper bounds, in seconds, ascending',
    }),
    defaultMetrics: Type.Boolean({
      default: false,
      description: 'Also export the Node process metrics of prom-client (CPU, memory, event loop lag, GC)',
    }),
    workers: Type.Union([Type.Literal('aggregate'), Type.Literal('local')], {
      default: 'aggregate',
      description:
        'In a node:cluster worker: `aggregate` answers a scrape with the sum over all workers (the primary must call `setupClusterMetrics()`); `local` with this worker’s own metrics. Outside a cluster both mean local',
    }),
    endpoint: Type.Object(
      {
        path: Type.Union([Type.String({ pattern: '^/[^?#]*$' }), Type.Null()], {
          default: '/metrics',
          description:
            'Path on the gateway (any host, GET/HEAD) answered with the metrics, before routing; `null` serves them only through the admin API',
        }),
        allow: Type.Array(Type.String({ minLength: 1 }), {
          default: [],
          description:
            'Client IPs or CIDRs (IPv4/IPv6) allowed to scrape, by `ctx.client.ip` (honours trustProxy); empty allows any',
        }),
        token: Type.Optional(
          Type.String({
            minLength: 16,
            description: 'If set, scrapes must send `Authorization: Bearer <token>` (16 characters or more)',
          }),
        ),
      },
      { additionalProperties: false, default: {} },
    ),
  },
  { additionalProperties: false },
)

export type PrometheusConfig = Static<typeof PrometheusSchema>
