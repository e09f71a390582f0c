import { Duration, HeaderName, type Static, Type } from '@gatehousejs/sdk'

/** The named windows, shortest first. Any other duration is written as `5s`, `90s`, `15m`, `2h`, `7d`. */
export const WINDOW_UNITS = ['second', 'minute', 'hour', 'day'] as const
/** A window's name in `limits`: a named unit or a duration (`90s`). */
export type WindowUnit = (typeof WINDOW_UNITS)[number] | (string & {})

/** A window of any whole number of seconds, minutes, hours or days. */
export const WINDOW_DURATION = '^[1-9][0-9]{0,8}(s|m|h|d)$'

/** What a counter is kept per. `consumer`, `credential` and `header` fall back to `ip` when absent. */
export const KEY_SOURCES = ['consumer', 'credential', 'ip', 'header', 'path', 'service', 'route'] as const
export type KeySource = (typeof KEY_SOURCES)[number]

function Limit(unit: string) {
  return Type.Optional(
    Type.Integer({
      minimum: 1,
      description: `Requests allowed per ${unit} for one key (a positive integer)`,
    }),
  )
}

const RedisSchema = Type.Object(
  {
    url: Type.Optional(
      Type.String({
        pattern: '^rediss?://\\S+$',
        description:
          'Standalone Redis: `redis://[:password@]host:port[/db]`, or `rediss://` for TLS. Required unless `cluster` is set',
      }),
    ),
    cluster: Type.Optional(
      Type.Array(Type.String({ pattern: '^rediss?://\\S+$' }), {
        minItems: 1,
        description:
          'Redis Cluster: seed node URLs (`redis://host:port`); the client discovers the rest. Use instead of `url`',
      }),
    ),
    keyPrefix: Type.String({
      default: 'gatehouse:rl:',
      description: 'Prefix of every counter key, so several gateways (or other apps) can share one Redis',
    }),
    timeout: Duration({
      default: '250ms',
      description:
        'Longest wait for one Redis command; past it the request is answered per `onFailure`, never held',
    }),
    connectTimeout: Duration({
      default: '2s',
      description: 'Longest wait for a connection; `init` waits at most this long for the first one',
    }),
  },
  { additionalProperties: false, description: 'Redis connection (store `redis` only)' },
)

/** The `rate-limit` plugin's configuration. Only `limits` is required. */
export const RateLimitSchema = Type.Object(
  {
    limits: Type.Object(
      {
        second: Limit('second'),
        minute: Limit('minute'),
        hour: Limit('hour'),
        day: Limit('day'),
      },
      {
        additionalProperties: false,
        patternProperties: {
          [WINDOW_DURATION]: Type.Integer({
            minimum: 1,
            description: 'Requests allowed per window of this duration for one key (a positive integer)',
          }),
        },
        minProperties: 1,
        description:
          'Requests allowed per window; set one or several windows, each is enforced. Windows: `second`, `minute`, `hour`, `day`, or any duration such as `"5s"`, `"90s"`, `"15m"`, `"2h"`, `"7d"`',
      },
    ),
    limitBy: Type.Array(
      Type.Union([
        Type.Literal('consumer'),
        Type.Literal('credential'),
        Type.Literal('ip'),
        Type.Literal('header'),
        Type.Literal('path'),
        Type.Literal('service'),
        Type.Literal('route'),
      ]),
      {
        default: ['consumer'],
        minItems: 1,
        uniqueItems: true,
        description:
          'What a counter is kept per; several values combine (e.g. `["consumer","route"]`). `consumer`, `credential` and `header` fall back to the client IP when absent',
      },
    ),
    header: Type.Optional(
      HeaderName({ description: 'The request header whose value is the key, for `limitBy: ["header"]`' }),
    ),
    algorithm: Type.Union([Type.Literal('fixed'), Type.Literal('sliding')], {
      default: 'fixed',
      description:
        '`fixed`: clock-aligned windows, reset at each boundary. `sliding`: the previous window counts in proportion to how much of it still overlaps, which smooths bursts at the boundary',
    }),
    headers: Type.Object(
      {
        standard: Type.Boolean({
          default: true,
          description: 'Send `RateLimit-Limit`, `RateLimit-Remaining`, `RateLimit-Reset` (IETF draft)',
        }),
        perWindow: Type.Boolean({
          default: true,
          description:
            'Send `X-RateLimit-Limit-<Window>` and `X-RateLimit-Remaining-<Window>` for each window',
        }),
      },
      { additionalProperties: false, default: {}, description: 'Which rate limit headers clients get' },
    ),
    namespace: Type.Optional(
      Type.String({
        pattern: '^[A-Za-z0-9._~-]+$',
        description:
          'Counter namespace; default the instance id. Instances (or gateways) with the same namespace share counters',
      }),
    ),
    store: Type.Object(
      {
        type: Type.Union([Type.Literal('memory'), Type.Literal('redis')], {
          default: 'memory',
          description: '`memory`: counters in this process. `redis`: counters shared by every gateway node',
        }),
        maxKeys: Type.Integer({
          minimum: 1,
          default: 100_000,
          description:
            'Most keys the memory store (and the local fallback of the redis store) holds; the least recently used go first',
        }),
        onFailure: Type.Union([Type.Literal('failOpen'), Type.Literal('failClosed')], {
          default: 'failOpen',
          description:
            'When Redis is down or slower than `redis.timeout`: `failOpen` counts in this process with the same limits; `failClosed` answers 503 GH_RATE_LIMIT_STORE_DOWN',
        }),
        redis: Type.Optional(RedisSchema),
      },
      { additionalProperties: false, default: {}, description: 'Where counters live' },
    ),
  },
  { additionalProperties: false },
)

export type RateLimitConfig = Static<typeof RateLimitSchema>
export type RedisConfig = Static<typeof RedisSchema>
