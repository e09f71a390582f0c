import { type BodyLimit, definePlugin } from '@gatehousejs/sdk'

/**
 * A plugin named `limiter` that caps every request's body as it streams upstream
 * (`ctx.upstream.bodyLimit`, set in `access`).
 */
export function bodyLimiter(limit: BodyLimit) {
  return definePlugin({
    name: 'limiter',
    version: '1.0.0',
    priority: 1_000,
    init: () => ({
      access(ctx) {
        ctx.upstream.bodyLimit = limit
      },
    }),
  })
}
