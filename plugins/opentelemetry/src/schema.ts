import { type Static, Type } from '@gatehousejs/sdk'

const HEADER_NAME = "^[!#$%&'*+.^_`|~0-9A-Za-z-]+$"

export const OpenTelemetrySchema = Type.Object(
  {
    endpoint: Type.String({
      description:
        'The OTLP/HTTP traces endpoint (JSON encoding), e.g. `http://otel-collector:4318/v1/traces`',
    }),
    headers: Type.Record(
      Type.String({ pattern: HEADER_NAME }),
      Type.String({ pattern: '^[\\t\\x20-\\x7e]*$' }),
      {
        default: {},
        propertyNames: { pattern: HEADER_NAME },
        description: 'Headers sent with every export, e.g. an API key for a hosted collector',
      },
    ),
    serviceName: Type.String({
      minLength: 1,
      default: 'gatehouse',
      description: 'The `service.name` resource attribute of the gateway’s spans',
    }),
    resourceAttributes: Type.Record(Type.String({ minLength: 1 }), Type.String(), {
      default: {},
      description: 'More resource attributes, e.g. `{ "deployment.environment": "prod" }`',
    }),
    samplingRatio: Type.Number({
      minimum: 0,
      maximum: 1,
      default: 1,
      description:
        'Share of new traces recorded (0 to 1). Parent-based: a request carrying a `traceparent` follows its sampled flag',
    }),
    propagate: Type.Boolean({
      default: true,
      description: 'Send `traceparent`/`tracestate` upstream, so the service’s spans join the trace',
    }),
    pluginSpans: Type.Boolean({
      default: true,
      description:
        'A child span per plugin handler (rewrite, access, response, error). Turns on core’s per-plugin timing for every request',
    }),
    batch: Type.Object(
      {
        scheduledDelay: Type.Integer({
          minimum: 1,
          default: 5000,
          description: 'Milliseconds between two exports',
        }),
        maxQueueSize: Type.Integer({
          minimum: 1,
          default: 2048,
          description: 'Spans kept waiting for export; beyond it new spans are dropped',
        }),
        maxExportBatchSize: Type.Integer({
          minimum: 1,
          default: 512,
          description: 'Spans per export request',
        }),
        exportTimeout: Type.Integer({
          minimum: 1,
          default: 10_000,
          description: 'Milliseconds per export request',
        }),
      },
      { additionalProperties: false, default: {} },
    ),
  },
  { additionalProperties: false },
)

export type OpenTelemetryConfig = Static<typeof OpenTelemetrySchema>
