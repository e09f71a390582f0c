import {
  type AccessContext,
  ConfigError,
  type ConfigIssue,
  type Dispatch,
  definePlugin,
  type PluginDefinition,
  type PluginEnv,
  PRIORITY,
} from '@gatehousejs/sdk'
import manifest from '../package.json' with { type: 'json' }
import { AggregateFailed } from './errors.js'
import { compilePlan } from './plan.js'
import { type CallResult, runCalls } from './run.js'
import { type AggregateConfig, AggregateSchema } from './schema.js'
import { mergeInto, shapeResult } from './shape.js'

export { AggregateFailed } from './errors.js'
export type { CallFailure, CallResult } from './run.js'
export { type AggregateConfig, AggregateSchema, type CallConfig, DEFAULT_PASSED_HEADERS } from './schema.js'

/**
 * Builds the response from the calls' results instead of the declarative shaping (`group`, `allow`, …).
 * Failed calls are in `results` with `ok: false`; the failure list and `Gatehouse-Completed` are
 * still added by the plugin. Return a JSON value (an object to get the failure list merged in).
 */
export type MergeFunction = (
  results: Readonly<Record<string, CallResult>>,
  ctx: AccessContext,
) => unknown | Promise<unknown>

export interface AggregatePluginOptions {
  /** Merge functions a configuration names with `merge: "<name>"` (code only: YAML cannot hold one). */
  merges?: Readonly<Record<string, MergeFunction>>
}

/** Says whether every call succeeded; `false` with a partial body. */
const COMPLETED_HEADER = 'gatehouse-completed'
const JSON_TYPE = 'application/json; charset=utf-8'

/**
 * `aggregate`: one client request, several calls (to gateway routes or services), one JSON response,
 * like KrakenD's endpoint merging. Each call goes through its target's own plugin chain with the
 * caller's headers and client IP (`env.dispatch`), so an aggregate cannot bypass a route's auth, ACL or
 * rate limit. Calls run in parallel unless one needs another's result (`dependsOn`, or
 * `$(calls.<name>.body.x)` in a template).
 *
 * Phase: `access`, after auth, limits and a cache lookup (a hit answers before any call is made). The
 * answer stands for the route's upstream response (`respond(..., { asUpstream: true })`), so the
 * cache can store it and the response-transformer rewrite it.
 *
 * @example
 * import { createGateway } from '@gatehousejs/core'
 * import aggregate from '@gatehousejs/plugin-aggregate'
 *
 * await createGateway({
 *   services: [
 *     { name: 'users', url: 'http://127.0.0.1:3001' },
 *     { name: 'orders', url: 'http://127.0.0.1:3002' },
 *     { name: 'bff', url: 'http://127.0.0.1:9', routes: [{ name: 'home', paths: ['/home/:id'] }] },
 *   ],
 *   plugins: [{ name: 'aggregate', route: 'home', config: { calls: [
 *     { name: 'user', service: 'users', path: '/users/$(params.id)', group: 'user' },
 *     { name: 'orders', service: 'orders', path: '/orders?user=$(params.id)', group: 'orders' },
 *   ] } }],
 * }, { plugins: [aggregate] })
 */
export function aggregatePlugin(options: AggregatePluginOptions = {}): PluginDefinition<AggregateConfig> {
  const merges = options.merges ?? {}
  /** The calls' plan and the merge function, pure: `validate` returns the issues, `init` refuses them. */
  function compile(
    config: AggregateConfig,
    env: Pick<PluginEnv, 'services' | 'routes'>,
    issues: ConfigIssue[],
  ) {
    const calls = compilePlan(config, env, issues)
    const merge = config.merge === undefined ? undefined : merges[config.merge]
    if (config.merge !== undefined && merge === undefined) {
      const known = Object.keys(merges)
      issues.push({
        pointer: '/config/merge',
        message: `no merge function "${config.merge}" was registered (${known.length ? known.join(', ') : 'none are'}); pass it with aggregatePlugin({ merges })`,
      })
    }
    return { calls, merge }
  }
  return definePlugin({
    name: 'aggregate',
    version: manifest.version,
    priority: PRIORITY.aggregation,
    description: 'Answers a route with one JSON response composed from several calls',
    schema: AggregateSchema,
    validate(config, env) {
      const issues: ConfigIssue[] = []
      compile(config, env, issues)
      return issues
    },
    init(config, env) {
      const issues: ConfigIssue[] = []
      const { calls, merge } = compile(config, env, issues)
      if (issues.length > 0) throw new ConfigError(issues)
      if (env.dispatch === undefined)
        throw new Error('aggregate needs a gateway that offers env.dispatch (@gatehousejs/core 0.2 or later)')
      const dispatch: Dispatch = env.dispatch
      const errorsKey = config.errorsKey

      return {
        access: async function aggregateAccess(ctx) {
          const results = await runCalls(calls, ctx, dispatch, config.timeout)
          const failures = results.flatMap((r) => (r.error === undefined ? [] : [r.error]))
          const failed = results.filter((r) => !r.ok).length
          if (failed === calls.length || calls.some((c) => c.required && !results[c.index]!.ok)) {
            ctx.log.warn({ failures }, 'aggregate failed')
            ctx.respond(
              502,
              { ...AggregateFailed().toBody(ctx.requestId), [errorsKey]: failures },
              { 'content-type': JSON_TYPE, [COMPLETED_HEADER]: 'false' },
            )
            return
          }
          let body: unknown
          if (merge !== undefined) {
            body = await merge(Object.fromEntries(calls.map((c) => [c.name, results[c.index]!])), ctx)
          } else {
            const merged: Record<string, unknown> = {}
            for (const c of calls) {
              const r = results[c.index]!
              if (r.ok) mergeInto(merged, c.name, shapeResult(r.body, c.shape), c.shape)
            }
            body = merged
          }
          if (failures.length > 0 && body !== null && typeof body === 'object' && !Array.isArray(body))
            (body as Record<string, unknown>)[errorsKey] = failures
          const headers: Record<string, string> = {
            ...config.responseHeaders,
            'content-type': JSON_TYPE,
            [COMPLETED_HEADER]: failures.length === 0 ? 'true' : 'false',
          }
          // A partial answer is not one to keep: caches must ask again (RFC 9111 §5.2.2.5).
          if (failures.length > 0) headers['cache-control'] = 'no-store'
          ctx.respond(200, Buffer.from(JSON.stringify(body)), headers, { asUpstream: true })
        },
      }
    },
  })
}

/** The plugin with no merge functions; use {@link aggregatePlugin} to register some. */
export const aggregate: PluginDefinition<AggregateConfig> = aggregatePlugin()

export default aggregate
