import { defineError, definePlugin, HeaderName, PRIORITY, Type } from '@gatehousejs/sdk'
// The version a gateway reports for this plugin comes from package.json (the build inlines it).
import manifest from '../package.json' with { type: 'json' }

/** The error a client gets when a required header is missing: a stable code, a 4xx, a JSON body. */
export const HeaderMissing = defineError(
  '__MISSING_CODE__',
  400,
  (name: string) => `The ${name} header is required`,
)

/**
 * `__NAME__`: adds a header to every request sent upstream, and can refuse requests that lack one.
 * Replace this with your plugin's behaviour; keep the shape (a schema, `init` returning handlers).
 */
export default definePlugin({
  name: '__NAME__',
  version: manifest.version,
  priority: PRIORITY.requestTransform,
  description: 'Adds a header to the upstream request; can require a request header',
  schema: Type.Object(
    {
      header: HeaderName({ default: 'x-__NAME__', description: 'Header sent upstream' }),
      value: Type.String({ default: 'on', description: 'Its value' }),
      require: Type.Optional(HeaderName({ description: 'Refuse requests without this header (400)' })),
    },
    { additionalProperties: false },
  ),
  init(config) {
    return {
      access(ctx) {
        if (config.require && ctx.request.headers[config.require] === undefined) {
          throw HeaderMissing(config.require)
        }
        ctx.upstream.headers[config.header] = config.value
      },
    }
  },
})
