import type { RedisConnectionInput } from './schema.js'

/**
 * The checks of a Redis connection that the schema cannot say, with no dependency (schema.ts holds the
 * TypeBox schema): what core runs at every load of a configuration with a `redis` section.
 */

/** The name of a connection in the top-level `redis` section, as plugins and `--store` refer to it. */
export const REDIS_CONNECTION_NAME = '^[A-Za-z0-9_-]{1,64}$'

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
