import { ConfigError, type ConfigIssue, definePlugin, PRIORITY } from '@gatehousejs/sdk'
import manifest from '../package.json' with { type: 'json' }
import { DEFAULT_MESSAGES, echoBody, triggered } from './answer.js'
import { type RequestTerminationConfig, RequestTerminationSchema } from './schema.js'

export { DEFAULT_MESSAGES } from './answer.js'
export { type RequestTerminationConfig, RequestTerminationSchema } from './schema.js'

/**
 * `request-termination`: answers with a fixed status and body, without calling the upstream, like
 * Kong's request-termination plugin: maintenance windows, retired endpoints, blocking a consumer,
 * stubbing a route. With `echo`, the answer describes the request instead (for debugging); with
 * `trigger`, only requests that carry that header or query parameter are terminated.
 *
 * It runs last in `access` (after authentication, ACL and rate limits, like Kong's priority 2), so a
 * consumer-scoped instance can terminate one consumer, and unauthenticated requests still get 401.
 *
 * @example
 * plugins: [{ name: 'request-termination', route: 'legacy', config: { statusCode: 410, message: 'This API was retired' } }]
 */
export const requestTermination = definePlugin({
  name: 'request-termination',
  version: manifest.version,
  priority: PRIORITY.logger + 1,
  description: 'Answers with a fixed status and body (maintenance) without calling the upstream',
  schema: RequestTerminationSchema,
  validate: terminationIssues,
  init(config) {
    const issues = terminationIssues(config)
    if (issues.length > 0) throw new ConfigError(issues)
    const status = config.statusCode
    const headers: Record<string, string> = {}
    for (const [k, v] of Object.entries(config.headers)) headers[k.toLowerCase()] = v
    const message = config.message ?? DEFAULT_MESSAGES[status]
    let body: unknown
    if (config.body !== undefined) {
      body = Buffer.from(config.body)
      headers['content-type'] = config.contentType
    } else if (message !== undefined) {
      body = { message }
    }
    const trigger = config.trigger
    const echo = config.echo
    return {
      // The echo shows the request body, so only an echoing instance asks core to read it.
      needs: echo ? { requestBody: true } : undefined,
      access: function requestTerminationAccess(ctx) {
        if (trigger !== undefined && !triggered(ctx, trigger)) return
        if (echo) ctx.respond(status, echoBody(ctx, message), headers)
        else ctx.respond(status, body, headers)
      },
    }
  },
})

/** `body` excludes `message` and `echo`. */
function terminationIssues(config: RequestTerminationConfig): ConfigIssue[] {
  const issues: ConfigIssue[] = []
  if (config.body !== undefined && config.message !== undefined)
    issues.push({ pointer: '/config/body', message: 'cannot be combined with "message" (choose one)' })
  if (config.body !== undefined && config.echo)
    issues.push({
      pointer: '/config/body',
      message: 'cannot be combined with "echo" (the echo is the body)',
    })
  return issues
}

export default requestTermination
