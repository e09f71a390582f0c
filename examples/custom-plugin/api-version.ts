import { defineError, definePlugin, HeaderName, PRIORITY, Type } from '@gatehousejs/sdk'

/**
 * `api-version`: a plugin written inline against the SDK, the way you would write one for your own
 * gateway. A client picks an API version with a header (`Accept-Version: 2`); the plugin sends the
 * request to that version's path on the upstream (`/v2/…`) and tells caches the response depends on
 * the header. A version the config does not list is refused with GH_API_VERSION_UNSUPPORTED.
 */

export const UnsupportedVersion = defineError(
  'GH_API_VERSION_UNSUPPORTED',
  400,
  (requested: string, known: string[]) =>
    `API version "${requested}" is not supported; use one of: ${known.join(', ')}`,
)

export const ApiVersionSchema = Type.Object(
  {
    header: HeaderName({ default: 'accept-version', description: 'The request header naming the version' }),
    versions: Type.Record(Type.String({ pattern: '^[A-Za-z0-9._-]+$' }), Type.String({ pattern: '^/' }), {
      default: { '1': '/v1' },
      minProperties: 1,
      description: 'Each version and the upstream path prefix that serves it',
    }),
    default: Type.String({ default: '1', description: 'The version of a request without the header' }),
  },
  { additionalProperties: false },
)

export const apiVersion = definePlugin({
  name: 'api-version',
  version: '1.0.0',
  priority: PRIORITY.requestTransform,
  description: 'Routes a request to the upstream path of the API version its header asks for',
  schema: ApiVersionSchema,
  init(config) {
    const known = Object.keys(config.versions)
    // `/v2/` and `/v2` are the same prefix: the request path brings its own leading slash.
    const prefixes = new Map(Object.entries(config.versions).map(([v, p]) => [v, p.replace(/\/+$/, '')]))
    // Thrown at load: the gateway refuses the config, naming this instance's pointer.
    if (!prefixes.has(config.default)) {
      throw new Error(`default version "${config.default}" is not one of: ${known.join(', ')}`)
    }
    return {
      access: function apiVersionAccess(ctx) {
        const value = ctx.request.headers[config.header]
        const requested = (Array.isArray(value) ? value[0] : value)?.trim() || config.default
        const prefix = prefixes.get(requested)
        if (prefix === undefined) throw UnsupportedVersion(requested, known)
        ctx.upstream.path = prefix + ctx.upstream.path
        ctx.plugin.version = requested
      },
      response: function apiVersionResponse(ctx) {
        // RFC 9110 §12.5.5: the response varies with the version header, so caches must key on it.
        const vary = ctx.response.headers.vary
        const list = Array.isArray(vary) ? vary.join(', ') : vary
        ctx.response.headers.vary = list ? `${list}, ${config.header}` : config.header
        if (ctx.plugin.version) ctx.response.headers['api-version'] = String(ctx.plugin.version)
      },
    }
  },
})
