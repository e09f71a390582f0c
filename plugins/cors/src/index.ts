import {
  ConfigError,
  type ConfigIssue,
  definePlugin,
  type Headers,
  type PluginHandlers,
  type PluginScope,
  PRIORITY,
  type RequestView,
} from '@gatehousejs/sdk'
import manifest from '../package.json' with { type: 'json' }
import { addVary, headerValue, requestedHeaders } from './headers.js'
import { compileOrigins } from './origins.js'
import { type CorsConfig, CorsSchema } from './schema.js'

export { type CorsConfig, CorsSchema, DEFAULT_METHODS } from './schema.js'

/**
 * `cors`: Cross-Origin Resource Sharing (Fetch standard §3.2), as Kong's cors plugin does it.
 *
 * - `access` (or `rewrite` with `preflightBeforeRouting`): a preflight (OPTIONS with `Origin` and
 *   `Access-Control-Request-Method`) is answered by the gateway and never reaches the upstream.
 * - `response`: every other response to a request with an allowed `Origin` gets
 *   `Access-Control-Allow-Origin` (and credentials, exposed headers), including the gateway's own
 *   errors (401, 429, 502…), so a browser can read why a request failed.
 * - `Vary: Origin` on every response whose CORS headers depend on the origin, so a cache does not
 *   serve one origin's answer to another.
 *
 * @example
 * plugins: [{ name: 'cors', config: { origins: ['https://app.example.com', 'https://*.example.org'], credentials: true } }]
 */
export const cors = definePlugin({
  name: 'cors',
  version: manifest.version,
  // First after request id and tracing: a preflight carries no credentials, so it must be answered
  // before authentication would refuse it.
  priority: PRIORITY.cors,
  description: 'Answers CORS preflights and sets CORS headers on every response',
  schema: CorsSchema,
  validate: (config, env) => compileCors(config, env.instance.scope).issues,
  init(config, env) {
    const { origins, issues } = compileCors(config, env.instance.scope)
    if (issues.length > 0) throw new ConfigError(issues)
    // With credentials, `*` is not allowed (Fetch §3.2.5): reflect the origin instead, like Kong.
    const wildcardHeader = origins.any && !config.credentials
    const methods = config.methods.join(', ')
    const allowHeaders = config.headers?.join(', ')
    const exposeHeaders = config.exposedHeaders.join(', ')
    const maxAge = config.maxAge === undefined ? undefined : String(config.maxAge)

    /** Sets the headers shared by preflight answers and actual responses. */
    function allowOrigin(h: Headers, origin: string): boolean {
      if (wildcardHeader) {
        h['access-control-allow-origin'] = '*'
        // Never `*` with credentials, even when the upstream says so.
        delete h['access-control-allow-credentials']
        return true
      }
      addVary(h, 'Origin')
      if (!origins.allows(origin)) {
        // The upstream's own CORS headers must not grant what this config refuses.
        delete h['access-control-allow-origin']
        delete h['access-control-allow-credentials']
        return false
      }
      h['access-control-allow-origin'] = origin
      if (config.credentials) h['access-control-allow-credentials'] = 'true'
      return true
    }

    function answerPreflight(ctx: {
      request: RequestView
      respond(status: number, body?: unknown, headers?: Record<string, string>): void
    }): void {
      const req = ctx.request
      if (config.preflightContinue || !isPreflight(req)) return
      const origin = headerValue(req.headers, 'origin')!
      const h: Headers = {}
      if (allowOrigin(h, origin)) {
        h['access-control-allow-methods'] = methods
        if (allowHeaders !== undefined) {
          if (allowHeaders !== '') h['access-control-allow-headers'] = allowHeaders
        } else {
          const asked = requestedHeaders(headerValue(req.headers, 'access-control-request-headers'))
          if (asked !== undefined) h['access-control-allow-headers'] = asked
          addVary(h, 'Access-Control-Request-Headers')
        }
        if (maxAge !== undefined) h['access-control-max-age'] = maxAge
        if (
          config.privateNetwork &&
          headerValue(req.headers, 'access-control-request-private-network') === 'true'
        ) {
          h['access-control-allow-private-network'] = 'true'
        }
      }
      ctx.respond(config.preflightStatus, undefined, h as Record<string, string>)
    }

    const handlers: PluginHandlers = {
      response: function corsResponse(ctx) {
        // A preflight's answer already has its headers (or, with preflightContinue, is the
        // upstream's to make, as in Kong). A preflight that failed before reaching `access` (a 404
        // on a route whose methods leave out OPTIONS) gets none: no header makes it pass anyway.
        if (isPreflight(ctx.request)) return
        const h = ctx.response.headers
        const origin = headerValue(ctx.request.headers, 'origin')
        if (origin === undefined) {
          // No CORS request, but a cache may hand this response to one later: say it depends on Origin.
          if (!wildcardHeader) addVary(h, 'Origin')
          return
        }
        if (allowOrigin(h, origin) && exposeHeaders !== '') h['access-control-expose-headers'] = exposeHeaders
      },
    }
    if (config.preflightBeforeRouting) {
      handlers.rewrite = function corsPreflightRewrite(ctx) {
        answerPreflight(ctx)
      }
    } else {
      handlers.access = function corsPreflight(ctx) {
        answerPreflight(ctx)
      }
    }
    return handlers
  },
})

/** Fetch §3.2.2: a CORS-preflight request is OPTIONS with `Origin` and `Access-Control-Request-Method`. */
function isPreflight(req: RequestView): boolean {
  return (
    req.method === 'OPTIONS' &&
    req.headers.origin !== undefined &&
    req.headers['access-control-request-method'] !== undefined
  )
}

/** The origin matcher, and what is wrong with the config: `validate` returns the issues, `init` refuses them. */
function compileCors(config: CorsConfig, scope: PluginScope) {
  const issues: ConfigIssue[] = []
  if (config.preflightBeforeRouting) {
    // `preflightBeforeRouting` runs in `rewrite`, which only global instances take part in.
    const pointer = '/config/preflightBeforeRouting'
    if (scope.service !== undefined || scope.route !== undefined || scope.consumer !== undefined)
      issues.push({
        pointer,
        message: 'is allowed on global instances only (preflights are answered before routing)',
      })
    if (config.preflightContinue)
      issues.push({ pointer, message: 'cannot be combined with preflightContinue' })
  }
  const origins = compileOrigins(config.origins, issues)
  return { origins, issues }
}

export default cors
