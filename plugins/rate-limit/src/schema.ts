import { HeaderName, type Static, Type } from '@gatehousejs/sdk'
import { REDIS_CONNECTION_NAME } from '@gatehousejs/sdk/redis'

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
    redis: Type.Optional(
      Type.String({
        pattern: REDIS_CONNECTION_NAME,
        description:
          'Keep counters in Redis, shared by every gateway node: the name of a connection in the top-level `redis` section (docs/redis.md). Without it, counters live in this process',
      }),
    ),
    store: Type.Object(
      {
        maxKeys: Type.Integer({
          minimum: 1,
          default: 100_000,
          description:
            'Most keys kept in this process (the counters without `redis`, the local fallback with it); the least recently used go first',
        }),
        onFailure: Type.Union([Type.Literal('failOpen'), Type.Literal('failClosed')], {
          default: 'failOpen',
          description:
            'With `redis`, when Redis is down or slower than the connection’s `commandTimeout`: `failOpen` counts in this process with the same limits; `failClosed` answers 503 GH_STORE_UNAVAILABLE',
        }),
      },
      { additionalProperties: false, default: {}, description: 'Local counting and the outage behaviour' },
    ),
  },
  { additionalProperties: false },
)

export type RateLimitConfig = Static<typeof RateLimitSchema>
