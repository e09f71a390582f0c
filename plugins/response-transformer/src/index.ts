import {
  ConfigError,
  type ConfigIssue,
  definePlugin,
  type PluginHandlers,
  PRIORITY,
  type ResponseContext,
} from '@gatehousejs/sdk'
import {
  compileBodyTransform,
  compileHeaderTransform,
  isJsonContentType,
  type JsonTransform,
  TRANSFORM_VARIABLES,
  TransformScope,
} from '@gatehousejs/sdk/transform'
import manifest from '../package.json' with { type: 'json' }
import { type ResponseTransformerConfig, ResponseTransformerSchema } from './schema.js'
import { compileStatusMap } from './status.js'

export { type ResponseTransformerConfig, ResponseTransformerSchema } from './schema.js'

/**
 * `response-transformer`: changes responses on their way to the client, as Kong's plugin of the same
 * name: headers (on every response), the JSON body of upstream responses (fields by dot path, arrays of
 * objects element by element; gzip, br and deflate bodies decoded and re-encoded by core) with remove →
 * rename → replace → add → append, and a status-code mapping.
 *
 * Phase: `response`. The body is buffered only when a body operation is configured; bodies that are not
 * JSON, too large, event streams, or absent (HEAD, 204, 304) pass through unchanged.
 *
 * @example
 * { name: 'response-transformer', config: {
 *     remove: { headers: ['x-powered-by'], body: ['internal'] },
 *     rename: { body: { 'user.mail': 'user.email' } },
 *     status: { '404': 200 } } }
 */
export const responseTransformer = definePlugin({
  name: 'response-transformer',
  version: manifest.version,
  priority: PRIORITY.responseTransform,
  stacking: true,
  description: 'Rewrites responses: headers, JSON body fields and status codes',
  schema: ResponseTransformerSchema,
  validate: (config) => compileTransforms(config).issues,
  init(config, env) {
    const { headers, body, status, issues } = compileTransforms(config)
    if (issues.length > 0) throw new ConfigError(issues)
    if (!headers && !body && !status) {
      env.log.warn({ instance: env.instance.id }, 'response-transformer has nothing to do')
      return {}
    }
    const bodyLimit = config.bodyLimit ?? Number.POSITIVE_INFINITY

    const handlers: PluginHandlers = {
      response: function responseTransformerResponse(ctx) {
        const res = ctx.response
        // Error and plugin responses keep their status and JSON error body; headers change on all.
        const fromUpstream = res.source === 'upstream'
        const scope = new TransformScope(ctx)
        if (body && fromUpstream) transformBody(ctx, scope, body, bodyLimit)
        if (headers) headers.apply(res.headers, scope)
        if (status && fromUpstream) res.status = status(res.status)
      },
    }
    if (body) handlers.needs = { responseBody: true }
    return handlers
  },
})

/**
 * Parses, transforms and replaces a JSON body. Anything else passes through byte for byte: a body core
 * did not buffer (`bodySkipped`), one that is not JSON by its `content-type`, one over `bodyLimit`, and
 * invalid JSON (an upstream's broken body is its own; the client gets it as sent, not a 500). A body an
 * earlier plugin (another instance of this one) already replaced with a JSON value is transformed as is.
 */
function transformBody(
  ctx: ResponseContext,
  scope: TransformScope,
  body: JsonTransform,
  limit: number,
): void {
  const res = ctx.response
  const doc = jsonDocument(ctx, limit)
  if (doc !== undefined && body.apply(doc, scope)) res.body = doc
}

function jsonDocument(ctx: ResponseContext, limit: number): unknown {
  const res = ctx.response
  const current = res.body
  if (typeof current === 'object' && current !== null && !Buffer.isBuffer(current)) return current
  if (!Buffer.isBuffer(current) && typeof current !== 'string') {
    ctx.log.debug({ reason: res.bodySkipped }, 'response body not available; passed through unchanged')
    return undefined
  }
  if (!isJsonContentType(res.headers['content-type'])) {
    ctx.log.debug(
      { contentType: res.headers['content-type'] },
      'response body is not JSON; passed through unchanged',
    )
    return undefined
  }
  const size = Buffer.isBuffer(current) ? current.length : Buffer.byteLength(current)
  if (size > limit) {
    ctx.log.debug({ size, limit }, 'response body over bodyLimit; passed through unchanged')
    return undefined
  }
  try {
    return JSON.parse(current.toString('utf8'))
  } catch {
    ctx.log.debug('response body is not valid JSON; passed through unchanged')
    return undefined
  }
}

/** Every transform of the config, compiled, and what is wrong: `validate` returns the issues, `init` refuses them. */
function compileTransforms(config: ResponseTransformerConfig) {
  const issues: ConfigIssue[] = []
  const scope = { issues, variables: TRANSFORM_VARIABLES }
  const headers = compileHeaderTransform(config, scope)
  const body = compileBodyTransform(config, scope)
  const status = compileStatusMap(config.status, issues)
  return { headers, body, status, issues }
}

export default responseTransformer
