import type { ConfigIssue } from '@gatehousejs/sdk'
import type { RedisConnectionConfig, RedisConnectionInput } from '@gatehousejs/sdk/config'
import { redisConnectionIssues, stableJson } from '@gatehousejs/sdk/host'
import type { Plan } from './plan.js'

/**
 * The top-level `redis` section (docs/redis.md): what the schema cannot check (one topology per
 * connection, usable URLs), located at `/redis/<name>/<field>`. Plugins open connections by name.
 */
export function compileRedisSection(
  section: Record<string, RedisConnectionInput> | undefined,
  issues: ConfigIssue[],
): Plan['redis'] {
  const connections: Record<string, RedisConnectionConfig> = {}
  for (const [name, connection] of Object.entries(section ?? {})) {
    for (const issue of redisConnectionIssues(connection))
      issues.push({
        pointer: `/redis/${name}${issue.field ? `/${issue.field}` : ''}`,
        message: issue.message,
      })
    // Validated: durations are milliseconds and defaults are filled in.
    connections[name] = Object.freeze(structuredClone(connection) as RedisConnectionConfig)
  }
  return { connections: Object.freeze(connections), key: section ? stableJson(section) : '' }
}
