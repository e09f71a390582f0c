import { type Static, Type } from 'typebox'
import { Duration, Secret } from '../schema.js'

/** A duration as written (validated config holds milliseconds: core's ajv normalises it). */
function durationInput(options: { default: string; description: string }) {
  const { anyOf, gatehouse } = Duration() as unknown as { anyOf: unknown[]; gatehouse: string }
  return Type.Unsafe<number | string>({ anyOf, gatehouse, ...options })
}

/** A Redis URL: `redis://[user:password@]host:port[/db]`, or `rediss://` for TLS. */
const REDIS_URL = '^rediss?://\\S+$'

/** The name of a connection in the top-level `redis` section, as plugins and `--store` refer to it. */
export const REDIS_CONNECTION_NAME = '^[A-Za-z0-9_-]{1,64}$'

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

/** A problem with one connection, at a field of it (`""`: the connection itself). */
export interface RedisConnectionIssue {
  field: string
  message: string
}

/**
 * What the schema cannot say: exactly one topology, `name` with `sentinels`, URLs the client can use.
 * Returns an empty list for a good connection.
 */
export function redisConnectionIssues(c: RedisConnectionInput): RedisConnectionIssue[] {
  const issues: RedisConnectionIssue[] = []
  const set = (['url', 'nodes', 'sentinels'] as const).filter((k) => c[k] !== undefined)
  if (set.length !== 1)
    issues.push({
      field: '',
      message:
        set.length === 0
          ? 'set one of `url` (standalone), `nodes` (Cluster) or `sentinels` + `name` (Sentinel)'
          : `set only one of \`url\`, \`nodes\`, \`sentinels\` (found ${set.map((k) => `\`${k}\``).join(' and ')})`,
    })
  if (c.sentinels && !c.name)
    issues.push({ field: 'name', message: 'required with `sentinels`: the master’s name' })
  if (c.name && !c.sentinels) issues.push({ field: 'name', message: 'only meaningful with `sentinels`' })
  if (c.nodes && c.db) issues.push({ field: 'db', message: 'Redis Cluster has only database 0' })
  const check = (url: string, field: string): void => {
    const problem = redisUrlProblem(url)
    if (problem) issues.push({ field, message: problem })
  }
  if (c.url) check(c.url, 'url')
  for (const [i, u] of (c.nodes ?? []).entries()) check(u, `nodes/${i}`)
  for (const [i, u] of (c.sentinels ?? []).entries()) check(u, `sentinels/${i}`)
  return issues
}

/** Why a `redis://` URL cannot be used (undefined when it can). */
export function redisUrlProblem(input: string): string | undefined {
  const url = redactRedisUrl(input)
  let parsed: URL
  try {
    parsed = new URL(input)
  } catch {
    return `"${url}" is not a valid redis URL (e.g. redis://127.0.0.1:6379)`
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:')
    return `"${url}" must start with redis:// or rediss://`
  if (!parsed.hostname) return `"${url}" has no host`
  if (parsed.port && !(Number(parsed.port) > 0 && Number(parsed.port) < 65536))
    return `"${url}" has an invalid port`
  const db = parsed.pathname.replace(/^\//, '')
  if (db !== '' && !/^\d+$/.test(db)) return `"${url}": the path must be a database number`
  return undefined
}

/** The URL without its password, for messages and logs. */
export function redactRedisUrl(url: string): string {
  return url.replace(/^(\w+:\/\/)([^@/]*)@/, (_, scheme: string, auth: string) =>
    auth.includes(':') ? `${scheme}${auth.slice(0, auth.indexOf(':'))}:***@` : `${scheme}${auth}@`,
  )
}
