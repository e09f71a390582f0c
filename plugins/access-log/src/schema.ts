import { type Static, Type } from '@gatehousejs/sdk'

const HEADER_NAME = "^[!#$%&'*+.^_`|~0-9A-Za-z-]+$"

/** The fields a line may carry, in the order they are written. */
export const FIELDS = [
  'method',
  'path',
  'query',
  'status',
  'latency',
  'upstreamLatency',
  'gatewayLatency',
  'requestId',
  'clientIp',
  'consumer',
  'service',
  'route',
  'upstream',
  'bytesIn',
  'bytesOut',
  'userAgent',
  'referer',
  'source',
  'error',
] as const

export const DEFAULT_FIELDS = [
  'method',
  'path',
  'status',
  'latency',
  'upstreamLatency',
  'requestId',
  'clientIp',
  'consumer',
  'service',
  'route',
  'bytesIn',
  'bytesOut',
  'userAgent',
  'error',
]

export const AccessLogSchema = Type.Object(
  {
    fields: Type.Array(Type.Union(FIELDS.map((f) => Type.Literal(f))), {
      default: DEFAULT_FIELDS,
      uniqueItems: true,
      description: 'What each line carries (see the README for each field)',
    }),
    requestHeaders: Type.Array(Type.String({ pattern: HEADER_NAME }), {
      default: [],
      uniqueItems: true,
      description: 'Request headers to log, under `requestHeaders`; secrets are redacted by name',
    }),
    responseHeaders: Type.Array(Type.String({ pattern: HEADER_NAME }), {
      default: [],
      uniqueItems: true,
      description: 'Response headers to log, under `responseHeaders`; secrets are redacted by name',
    }),
    redact: Type.Array(Type.String({ minLength: 1 }), {
      default: [],
      uniqueItems: true,
      description:
        'More header and query parameter names whose values are replaced by `[REDACTED]`, besides the built-in ones (authorization, cookie, API keys, tokens)',
    }),
    destination: Type.Union(
      [
        Type.Literal('gateway'),
        Type.Literal('stdout'),
        Type.Object(
          {
            file: Type.String({
              minLength: 1,
              description: 'Append to this file (created with its directory)',
            }),
          },
          { additionalProperties: false },
        ),
      ],
      {
        default: 'gateway',
        description:
          '`gateway`: the gateway’s logger; `stdout`: a JSON line per request on stdout; `{ file }`: appended to a file',
      },
    ),
    level: Type.Union(
      ['trace', 'debug', 'info', 'warn', 'error'].map((l) => Type.Literal(l)),
      { default: 'info', description: 'The pino level of the lines' },
    ),
    message: Type.String({ default: 'request completed', description: 'The `msg` of each line' }),
  },
  { additionalProperties: false },
)

export type AccessLogConfig = Static<typeof AccessLogSchema>
export type Field = (typeof FIELDS)[number]
