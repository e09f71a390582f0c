import {
  type AdminEndpoint,
  type AdminRequest,
  ConfigError,
  type ConfigIssue,
  definePlugin,
  type PluginHandlers,
  PRIORITY,
} from '@gatehousejs/sdk'
import { openRedis, redisNameIssues } from '@gatehousejs/sdk/redis'
import manifest from '../package.json' with { type: 'json' }
import { Cache, type CacheStats } from './cache.js'
import { PurgeInvalid } from './errors.js'
import { purgeSpecOf } from './purge.js'
import { type CacheConfig, CacheSchema } from './schema.js'
import type { PurgeSpec } from './store.js'

export type { CacheStats } from './cache.js'
export { CacheMiss, PurgeForbidden, PurgeInvalid, PurgeUnauthorized } from './errors.js'
export { normaliseQuery, primaryKey, urlKey } from './key.js'
export { type CacheConfig, CacheSchema, DEFAULT_STATUSES } from './schema.js'
export type { PurgeSpec } from './store.js'

/** A running cache instance, as the programmatic API hands it out. */
export interface CacheInstance {
  /** The plugin instance id (its configured `id`, or the generated one). */
  readonly id: string
  /** Removes entries; resolves to how many stored responses were removed. */
  purge(spec: PurgeSpec): Promise<number>
  /** The key the cache uses for `http://host/path?query` (and a consumer id when isolated). */
  keyFor(url: string, consumer?: string): string
  stats(): CacheStats
}

/** A set, not a map by id: two gateways in one process may generate the same instance id. */
const live = new Set<Cache>()

/** Every cache instance running in this process (after `createGateway`, until it closes or is replaced). */
export function cacheInstances(): CacheInstance[] {
  return [...live]
}

/**
 * Purges the entries `spec` selects from every running cache instance (or only the one with
 * `instanceId`). Resolves to the number of stored responses removed.
 *
 * @example
 * await purgeCache({ tag: 'product-42' })
 * await purgeCache({ prefix: '/api/products/' })
 * await purgeCache({ url: 'GET api.example.com /api/products?page=1' })
 */
export async function purgeCache(spec: PurgeSpec, instanceId?: string): Promise<number> {
  let n = 0
  for (const cache of live) {
    if (instanceId === undefined || cache.id === instanceId) n += await cache.purge(spec)
  }
  return n
}

/**
 * `cache`: an RFC 9111 shared cache in front of the upstream.
 *
 * Phases: `access` looks the request up (a hit answers with `ctx.respond`, nothing is proxied; a miss
 * may wait for a concurrent identical miss), `response` stores what the upstream answered
 * (`needs.responseBody`), `error` serves a stored response under stale-if-error. Priority: the
 * `cache` band, after auth (so a consumer is known for isolation), ACL and rate limiting (a refused
 * request never reads the cache), and after aggregation (aggregated responses are cached like any).
 *
 * @example
 * import { createGateway } from '@gatehousejs/core'
 * import cache from '@gatehousejs/plugin-cache'
 *
 * await createGateway({
 *   services: [{ name: 'catalog', url: 'http://127.0.0.1:3001', routes: [{ paths: ['/products'] }] }],
 *   plugins: [{ name: 'cache', config: { defaultTtl: '30s', redis: 'default' } }],
 *   redis: { default: { url: 'redis://127.0.0.1:6379' } },
 * }, { plugins: [cache] })
 */
export const cache = definePlugin({
  name: 'cache',
  version: manifest.version,
  priority: PRIORITY.cache,
  description: 'An RFC 9111 shared cache: memory or Redis, coalescing, stale-while-revalidate, purge',
  schema: CacheSchema,
  validate: (config, env) => [...purgeIssues(config), ...redisNameIssues(env, config.redis)],
  init(config, env) {
    const issues = purgeIssues(config)
    if (issues.length > 0) throw new ConfigError(issues)
    const redis = config.redis
      ? openRedis(env, config.redis, {
          field: 'redis',
          prefix: 'cache:',
          purpose: 'cache entries',
          whileDown: 'requests bypass the cache',
        })
      : undefined
    const instance = new Cache(env.instance.id, config, env.log, redis)
    live.add(instance)
    const handlers: PluginHandlers = {
      needs: { responseBody: true },
      access: function cacheAccess(ctx) {
        return instance.access(ctx)
      },
      response: function cacheResponse(ctx) {
        return instance.response(ctx)
      },
      error: function cacheError(ctx) {
        instance.error(ctx)
      },
      async close() {
        live.delete(instance)
        await instance.close()
      },
      admin: adminEndpoints(instance),
    }
    return handlers
  },
})

/** HTTP purge must be limited to authorised callers: a token, or consumer groups. */
function purgeIssues(config: CacheConfig): ConfigIssue[] {
  if (!config.purge.enabled || config.purge.token !== undefined || config.purge.groups.length > 0) return []
  return [
    {
      pointer: '/config/purge',
      message: '"enabled" needs "token" or "groups", so that only authorised callers can purge',
    },
  ]
}

export default cache

function adminEndpoints(instance: Cache): AdminEndpoint[] {
  return [
    {
      method: 'POST',
      path: '/purge',
      description:
        'Purge entries: body {"key"} | {"url"} | {"prefix", "host"?} | {"tag"} (a string or a list) | {"all": true}',
      async handler(request: AdminRequest) {
        const spec = purgeSpecOf(request.body)
        if (spec === undefined) {
          const err = PurgeInvalid()
          return {
            status: err.statusCode,
            body: { statusCode: err.statusCode, code: err.code, message: err.message },
          }
        }
        return { status: 200, body: { purged: await instance.purge(spec) } }
      },
    },
    {
      method: 'GET',
      path: '/stats',
      description: 'Hits, misses, stale answers, refreshes, bypasses, stores and purges since start',
      handler: () => ({ status: 200, body: instance.stats() }),
    },
  ]
}
