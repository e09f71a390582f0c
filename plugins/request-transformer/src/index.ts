import { parse as parseQuery, stringify as stringifyQuery } from 'node:querystring'
import {
  type AccessContext,
  ConfigError,
  type ConfigIssue,
  definePlugin,
  type PluginHandlers,
  PRIORITY,
} from '@gatehousejs/sdk'
import {
  compileBodyTransform,
  compileFlatTransform,
  compileHeaderTransform,
  type FlatFields,
  type FlatTransform,
  isJsonContentType,
  type JsonTransform,
  transformOpsOf,
} from '@gatehousejs/sdk/transform'
import manifest from '../package.json' with { type: 'json' }
import { type RequestTransformerConfig, RequestTransformerSchema } from './schema.js'
import { compileUriRewrite, REQUEST_VARIABLES, RequestScope } from './uri.js'

export { PathInvalid } from './errors.js'
export { type RequestTransformerConfig, RequestTransformerSchema } from './schema.js'

const FORM_TYPE = /^application\/x-www-form-urlencoded\s*(;|$)/i

/**
 * `request-transformer`: changes the request before it goes upstream, as Kong's plugin of the same
 * name: the method, the path (with route `:params` or regex captures), headers, query parameters, and
 * JSON or url-encoded form bodies (fields by dot path), with remove → rename → replace → add → append.
 * Values may be `$(…)` templates over the request, the consumer and `ctx.shared`, compiled at load.
 *
 * Phase: `access`. The request body is read only when a body operation is configured.
 *
 * @example
 * { name: 'request-transformer', config: {
 *     replace: { uri: '/v1/users/$(params.id)' },
 *     add: { headers: { 'x-tenant': '$(consumer.username)' } },
 *     rename: { body: { 'user.mail': 'user.email' } } } }
 */
export const requestTransformer = definePlugin({
  name: 'request-transformer',
  version: manifest.version,
  // After auth, ACL and rate limiting: refused requests cost nothing, and the consumer is known.
  priority: PRIORITY.requestTransform,
  stacking: true,
  description: 'Rewrites the upstream request: method, path, headers, query and body',
  schema: RequestTransformerSchema,
  validate: (config) => compileTransforms(config).issues,
  init(config, env) {
    const { headers, query, jsonBody, formBody, uri, issues } = compileTransforms(config)
    if (issues.length > 0) throw new ConfigError(issues)

    const method = config.httpMethod
    if (!method && !uri && !headers && !query && !jsonBody) {
      env.log.warn({ instance: env.instance.id }, 'request-transformer has nothing to do')
      return {}
    }

    const handlers: PluginHandlers = {
      access: function requestTransformerAccess(ctx) {
        const up = ctx.upstream
        const scope = new RequestScope(ctx)
        if (method) up.method = method
        if (uri) {
          const path = uri(ctx.request.path, scope)
          if (path !== undefined) up.path = path
        }
        if (headers) headers.apply(up.headers, scope)
        if (query) {
          const fields = parseQuery(up.querystring) as FlatFields
          if (query.apply(fields, scope))
            up.querystring = stringifyQuery(fields as Record<string, string | string[]>)
        }
        if (jsonBody) transformBody(ctx, scope, jsonBody, formBody!)
      },
    }
    if (jsonBody) handlers.needs = { requestBody: true }
    return handlers
  },
})

/**
 * The body goes upstream transformed when it is JSON (an object or array) or a url-encoded form, by
 * the upstream `content-type`. A body another plugin already replaced is transformed in its place.
 * An empty body of one of those types starts as `{}` (so `add` can create one); any other body is
 * left alone.
 */
function transformBody(
  ctx: AccessContext,
  scope: RequestScope,
  json: JsonTransform,
  form: FlatTransform,
): void {
  const up = ctx.upstream
  const ct = String(up.headers['content-type'] ?? '')
  const current = up.body !== undefined ? up.body : ctx.request.body
  const empty = up.body === undefined && (ctx.request.rawBody?.length ?? 0) === 0
  if (isJsonContentType(ct)) {
    if (
      current !== undefined &&
      (typeof current !== 'object' || current === null || Buffer.isBuffer(current))
    ) {
      ctx.log.debug('request body is not a JSON object or array; left unchanged')
      return
    }
    const doc = current === undefined ? (empty ? {} : undefined) : structuredClone(current)
    if (doc !== undefined && json.apply(doc, scope)) up.body = doc
  } else if (FORM_TYPE.test(ct)) {
    if (
      current !== undefined &&
      (typeof current !== 'object' || current === null || Buffer.isBuffer(current))
    )
      return
    const fields: FlatFields = { ...((current ?? {}) as FlatFields) }
    if (form.apply(fields, scope)) up.body = fields
  } else {
    ctx.log.debug({ contentType: ct }, 'request body is neither JSON nor a form; left unchanged')
  }
}

/** Every transform of the config, compiled, and what is wrong: `validate` returns the issues, `init` refuses them. */
function compileTransforms(config: RequestTransformerConfig) {
  const issues: ConfigIssue[] = []
  const common = { issues, variables: REQUEST_VARIABLES, lowerCaseVariables: ['headers'] }
  const headers = compileHeaderTransform(config, common)
  const query = compileFlatTransform(transformOpsOf(config, 'query'), {
    ...common,
    pointer: (op) => `/config/${op}/query`,
  })
  const jsonBody = compileBodyTransform(config, common)
  // A form is flat: a body "path" is the field name as written. Its problems are the JSON ones.
  const formBody =
    jsonBody &&
    compileFlatTransform(transformOpsOf(config, 'body'), { ...common, issues: [], pointer: () => '' })
  const uri = compileUriRewrite(config.replace.uri, config.uriPattern, issues)
  return { headers, query, jsonBody, formBody, uri, issues }
}

export default requestTransformer
