import { type BodyLimit, definePlugin, PRIORITY } from '@gatehousejs/sdk'
import manifest from '../package.json' with { type: 'json' }
import { LengthRequired, RequestTooLarge } from './errors.js'
import { RequestSizeLimitSchema } from './schema.js'

export { LengthRequired, RequestTooLarge } from './errors.js'
export { type RequestSizeLimitConfig, RequestSizeLimitSchema } from './schema.js'

/**
 * `request-size-limit`: refuses request bodies over a size, like Kong's request-size-limiting plugin,
 * but without buffering the body to measure it.
 *
 * - A declared `Content-Length` over the limit is refused in `access`: nothing reaches the upstream.
 * - Otherwise the plugin sets `ctx.upstream.bodyLimit`, and core counts the body as it streams
 *   upstream: once it passes the limit, core aborts the upstream request (the upstream sees a request
 *   that never finished, rather than waiting for the rest) and the client gets 413. So a chunked body,
 *   or a `Content-Length` that lies, does not get past it.
 * - With `requireContentLength`, a body sent without `Content-Length` gets 411 before anything is read.
 *
 * Every refusal closes the connection (`connection: close`): the rest of the body is never read.
 *
 * @example
 * plugins: [{ name: 'request-size-limit', config: { allowedPayloadSize: '10mb', requireContentLength: true } }]
 */
export const requestSizeLimit = definePlugin({
  name: 'request-size-limit',
  version: manifest.version,
  // Like Kong (951): after authentication, so an anonymous client learns nothing about limits, and
  // before ACL, rate limiting and anything that reads or transforms the body.
  priority: PRIORITY.acl + 100,
  description:
    'Refuses request bodies over a size limit (413), counted while streaming; can require Content-Length (411)',
  schema: RequestSizeLimitSchema,
  init(config) {
    const bytes = config.allowedPayloadSize
    const requireLength = config.requireContentLength
    // Made once: core reads it per request and never copies it.
    const limit: BodyLimit = { bytes, error: () => RequestTooLarge(bytes) }
    return {
      access: function requestSizeLimitAccess(ctx) {
        const h = ctx.request.headers
        const length = h['content-length']
        if (length === undefined) {
          // RFC 9112 §6.3: without Content-Length, only Transfer-Encoding announces a body.
          if (requireLength && h['transfer-encoding'] !== undefined) {
            throw LengthRequired().withHeaders({ connection: 'close' })
          }
        } else if (Number(length) > bytes) {
          throw RequestTooLarge(bytes).withHeaders({ connection: 'close' })
        }
        ctx.upstream.bodyLimit = limit
      },
    }
  },
})

export default requestSizeLimit
