import { type Static, Type } from 'typebox'
import { Duration, Secret } from '../schema.js'

/** A duration as written (validated config holds milliseconds: core's ajv normalises it). */
function durationInput(options: { default: string; description: string }) {
  const { anyOf, gatehouse } = Duration() as unknown as { anyOf: unknown[]; gatehouse: string }
  return Type.Unsafe<number | string>({ anyOf, gatehouse, ...options })
}

/** A Redis URL: `redis://[user:password@]host:port[/db]`, or `rediss://` for TLS. */
const REDIS_URL = '^rediss?://\\S+$'

import { REDIS_CONNECTION_NAME } from './checks.js'

export { REDIS_CONNECTION_NAME }

/**
 * One named Redis connection (docs/redis.md). Exactly one of `url` (standalone), `nodes` (Cluster) and
 * `sentinels` + `name` (Sentinel). Credentials may be in the URLs or in `username` / `password`; write
 * them as `${ENV}` references so they stay out of the file.
 */
export const RedisConnectionSchema = Type.Object(
  {
    url: Type.Optional(
      Type.String({
        pattern: REDIS_URL,
        description:
          'Standalone Redis: `redis://[user:password@]host:port[/db]`, or `rediss://` for TLS. Use one of `url`, `nodes`, `sentinels`',
      }),
    ),
    nodes: Type.Optional(
      Type.Array(Type.String({ pattern: REDIS_URL }), {
        minItems: 1,
        description:
          'Redis Cluster: seed node URLs (`redis://host:port`); the client discovers the other nodes and follows slot moves',
      }),
    ),
    sentinels: Type.Optional(
      Type.Array(Type.String({ pattern: REDIS_URL }), {
        minItems: 1,
        description:
          'Redis Sentinel: sentinel URLs (`redis://host:26379`); the client asks them for the master named `name` and follows failovers',
      }),
    ),
    name: Type.Optional(
      Type.String({
        minLength: 1,
        description: 'Sentinel: the monitored master’s name (required with `sentinels`)',
      }),
    ),
    username: Type.Optional(
      Type.String({
        minLength: 1,
        description: 'ACL user (Redis 6+); default the one in the URL, or `default`',
      }),
    ),
    password: Type.Optional(Secret({ description: 'Password (AUTH); default the one in the URL' })),
    sentinelUsername: Type.Optional(
      Type.String({ minLength: 1, description: 'Sentinel: ACL user of the sentinels' }),
    ),
    sentinelPassword: Type.Optional(Secret({ description: 'Sentinel: password of the sentinels' })),
    db: Type.Optional(
      Type.Integer({
        minimum: 0,
        description: 'Database number (standalone and Sentinel; Cluster has only 0)',
      }),
    ),
    tls: Type.Optional(
      Type.Union(
        [
          Type.Boolean(),
          Type.Object(
            {
              ca: Type.Optional(
                Type.String({
                  minLength: 1,
                  description: 'CA certificates (PEM) that sign the server’s certificate',
                }),
              ),
              servername: Type.Optional(
                Type.String({ minLength: 1, description: 'SNI name, if not the host' }),
              ),
              rejectUnauthorized: Type.Optional(
                Type.Boolean({ description: 'Refuse a certificate the CAs do not sign (default true)' }),
              ),
            },
            { additionalProperties: false },
          ),
        ],
        {
          description:
            '`true` (or a `rediss://` URL) speaks TLS with the system CAs; an object sets `ca`, `servername`, `rejectUnauthorized`',
        },
      ),
    ),
    connectTimeout: Type.Optional(
      durationInput({
        default: '2s',
        description:
          'Longest wait for one connection attempt; a plugin’s `init` waits at most this long for the first',
      }),
    ),
    commandTimeout: Type.Optional(
      durationInput({
        default: '500ms',
        description:
          'Longest wait for one command; past it the command fails and the user applies its outage behaviour (never holds a request longer)',
      }),
    ),
    keyPrefix: Type.Optional(
      Type.String({
        default: 'gatehouse:',
        description:
          'Prefix of every key written through this connection (each user adds its own: `rl:`, `cache:`, `jwt:`, `fleet:`), so several gateways or apps can share one Redis',
      }),
    ),
  },
  { additionalProperties: false },
)

/** One connection as written in the config (durations as `"2s"` or milliseconds). */
export type RedisConnectionInput = Static<typeof RedisConnectionSchema>

/** One connection as validated: durations in milliseconds, defaults filled in. */
export type RedisConnectionConfig = Omit<
  RedisConnectionInput,
  'connectTimeout' | 'commandTimeout' | 'keyPrefix'
> & {
  connectTimeout: number
  commandTimeout: number
  keyPrefix: string
}

/** The top-level `redis` section: named connections. */
export const RedisSectionSchema = Type.Unsafe<Record<string, RedisConnectionInput>>({
  type: 'object',
  patternProperties: { [REDIS_CONNECTION_NAME]: RedisConnectionSchema },
  additionalProperties: false,
  description:
    'Named Redis connections (docs/redis.md), used by name by rate-limit, cache, jwt, openid-connect and the fleet store: `redis: { default: { url: redis://127.0.0.1:6379 } }`',
})

export {
  type RedisConnectionIssue,
  redactRedisUrl,
  redisConnectionIssues,
  redisUrlProblem,
} from './checks.js'
