import { definePlugin, type PluginHandlers, PRIORITY } from '@gatehousejs/sdk'
import manifest from '../package.json' with { type: 'json' }
import { headerList, requireHeaders, setHeaders } from './headers.js'
import { TemplateSchema } from './schema.js'

export { HeaderRequired } from './errors.js'
export { type TemplateConfig, TemplateSchema } from './schema.js'

/**
 * `template`: adds configured headers to the request sent upstream and to the response, and can
 * refuse requests that lack a header. New plugins start from this one: replace the behaviour, keep
 * the shape (a schema, errors, `init` returning only the handlers a configuration uses).
 *
 * Phases: `access` (check required headers, then set upstream headers) and `response` (set response
 * headers, on every response including errors). An instance takes part only in the phases its
 * configuration uses, so a route pays for nothing it did not ask for.
 *
 * @example
 * import { createGateway } from '@gatehousejs/core'
 * import template from '@gatehousejs/plugin-template'
 *
 * await createGateway({
 *   services: [{ name: 'users', url: 'http://127.0.0.1:3001', routes: [{ paths: ['/users'] }] }],
 *   plugins: [{ name: 'template', config: { upstreamHeaders: { 'x-gateway': 'gatehouse' } } }],
 * }, { plugins: [template] })
 */
export const template = definePlugin({
  name: 'template',
  version: manifest.version,
  // A request transformer: after auth, ACL and rate limiting, so refused requests cost nothing here.
  priority: PRIORITY.requestTransform,
  description: 'Adds headers to the upstream request and the response; can require request headers',
  schema: TemplateSchema,
  init(config) {
    const required = config.requiredHeaders
    const toUpstream = headerList(config.upstreamHeaders)
    const toClient = headerList(config.responseHeaders)

    const handlers: PluginHandlers = {}
    if (required.length > 0 || toUpstream.length > 0) {
      handlers.access = function templateAccess(ctx) {
        requireHeaders(ctx.request.headers, required)
        setHeaders(ctx.upstream.headers, toUpstream)
      }
    }
    if (toClient.length > 0) {
      handlers.response = function templateResponse(ctx) {
        setHeaders(ctx.response.headers, toClient)
      }
    }
    return handlers
  },
})

export default template
