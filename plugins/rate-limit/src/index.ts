import {
  type AccessContext,
  ConfigError,
  type ConfigIssue,
  definePlugin,
  type PluginEnv,
  type PluginHandlers,
  PRIORITY,
} from '@gatehousejs/sdk'
import { openRedis, redisNameIssues } from '@gatehousejs/sdk/redis'
import manifest from '../package.json' with { type: 'json' }
import { RateLimited } from './errors.js'
import { guardStore } from './guarded-store.js'
import { setRateLimitHeaders } from './headers.js'
import { keyBuilder } from './key.js'
import { createMemoryStore } from './memory-store.js'
import { createRedisStore } from './redis-store.js'
import { type RateLimitConfig, RateLimitSchema } from './schema.js'
import type { Store } from './store.js'
import { type Decision, decide, type Outcome, type Window, windowsOf } from './windows.js'

export { RateLimited } from './errors.js'
export {
  KEY_SOURCES,
  type KeySource,
  type RateLimitConfig,
  RateLimitSchema,
  WINDOW_UNITS,
  type WindowUnit,
} from './schema.js'

/** Per-request state: the decision, for the `response` phase to turn into headers. */
interface RateLimitState {
  decision?: Decision
}

/** Builds the store the config asks for; a Redis store is wrapped in the outage behaviour. */
async function openStore(config: RateLimitConfig, windows: Window[], env: PluginEnv): Promise<Store> {
  const sliding = config.algorithm === 'sliding'
  const local = createMemoryStore(windows, sliding, config.store.maxKeys)
  if (!config.redis) return local
  const redis = openRedis(env, config.redis, {
    field: 'redis',
    prefix: 'rl:',
    purpose: 'rate-limit counters',
    whileDown:
      config.store.onFailure === 'failOpen'
        ? 'counting in this process'
        : 'refusing requests with 503 GH_STORE_UNAVAILABLE',
  })
  const guarded = guardStore(createRedisStore(windows, sliding, redis), redis, local, config.store.onFailure)
  await redis.ready()
  return guarded
}

/**
 * `rate-limit`: limits how many requests a key (consumer, credential, IP, header, path, service, route,
 * or a combination) may make per second, minute, hour and day. A refused request gets 429
 * GH_RATE_LIMITED with `Retry-After` and never reaches the upstream. Counters live in this process
 * (the default) or in Redis, shared by every gateway node (`redis: <connection name>`).
 *
 * Phases: `access` (count, refuse) and `response` (the RateLimit headers, unless both kinds are off).
 * Runs after authentication (priority band `rateLimit`), so the consumer is known; bind instances to
 * consumers for tiers.
 *
 * @example
 * import { createGateway } from '@gatehousejs/core'
 * import rateLimit from '@gatehousejs/plugin-rate-limit'
 *
 * await createGateway({
 *   services: [{ name: 'users', url: 'http://127.0.0.1:3001', routes: [{ paths: ['/users'] }] }],
 *   plugins: [{ name: 'rate-limit', config: { limits: { second: 10, minute: 100 } } }],
 * }, { plugins: [rateLimit] })
 */
export const rateLimit = definePlugin<typeof RateLimitSchema, RateLimitState>({
  name: 'rate-limit',
  version: manifest.version,
  // After auth (the consumer is known) and ACL (a forbidden request is not counted).
  priority: PRIORITY.rateLimit,
  description: 'Limits requests per key and window; memory or Redis counters, fail-open or fail-closed',
  schema: RateLimitSchema,
  validate: (config, env) => [...compileLimits(config).issues, ...redisNameIssues(env, config.redis)],
  async init(config, env) {
    const { windows, issues } = compileLimits(config)
    if (issues.length > 0) throw new ConfigError(issues)
    const sliding = config.algorithm === 'sliding'
    const keyOf = keyBuilder(config.namespace ?? env.instance.id, config.limitBy, config.header)
    const store = await openStore(config, windows, env)
    const headerOptions = config.headers

    /** Records the decision for the `response` phase, and refuses with 429 when a window is full. */
    function enforce(ctx: AccessContext<RateLimitState>, outcome: Outcome, now: number): void {
      const decision = decide(windows, outcome, now, sliding)
      ctx.plugin.decision = decision
      if (!decision.allowed) {
        throw RateLimited().withHeaders({ 'retry-after': String(decision.retryAfter) })
      }
    }

    const handlers: PluginHandlers<RateLimitState> = {
      // Synchronous with the memory store: core awaits only a returned promise, so no microtask is spent.
      access: function rateLimitAccess(ctx) {
        const now = Date.now()
        const outcome = store.hit(keyOf(ctx), now)
        if (outcome instanceof Promise) return outcome.then((o) => enforce(ctx, o, now))
        enforce(ctx, outcome, now)
      },
      close() {
        return store.close()
      },
    }
    if (headerOptions.standard || headerOptions.perWindow) {
      handlers.response = function rateLimitResponse(ctx) {
        const decision = ctx.plugin.decision
        if (decision) setRateLimitHeaders(ctx.response.headers, decision, headerOptions)
      }
    }
    return handlers
  },
})

/** The windows, and what the schema cannot say: `validate` returns the issues, `init` refuses them. */
function compileLimits(config: RateLimitConfig) {
  const issues: ConfigIssue[] = []
  if (config.limitBy.includes('header') && !config.header)
    issues.push({ pointer: '/config/header', message: 'required when limitBy includes "header"' })
  const windows = windowsOf(config.limits, issues)
  return { windows, issues }
}

export default rateLimit
