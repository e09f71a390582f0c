import { ConfigError, type ConfigIssue, createGateway, type GatewayConfig } from '@gatehousejs/core'
import { type Consumer, definePlugin, type PluginDefinition } from '@gatehousejs/sdk'
import { startGateway, startUpstream, type TestLike } from '@gatehousejs/sdk/testing'
import requestTransformer from '../../src/index.js'

/**
 * A tiny auth stand-in for tests: the `x-user` header names the consumer, and `x-shared-*` headers
 * land in ctx.shared, so templates over `consumer` and `shared` can be tested end to end.
 */
export const fakeAuth = definePlugin({
  name: 'fake-auth',
  version: '1.0.0',
  priority: 60_000,
  init: () => ({
    access: function fakeAuthAccess(ctx) {
      const user = ctx.request.headers['x-user']
      if (typeof user === 'string') {
        const consumer: Consumer = {
          id: `id-${user}`,
          username: user,
          customId: `c-${user}`,
          groups: ['staff'],
        }
        ctx.setConsumer(consumer)
      }
      const plan = ctx.request.headers['x-shared-plan']
      if (typeof plan === 'string') ctx.shared.account = { plan, limits: [10, 20] }
    },
  }),
})

export interface Setup {
  config: Record<string, unknown>
  paths?: string[]
  stripPath?: boolean
  escapedSlashes?: 'reject' | 'decode' | 'keep'
  serviceUrlPath?: string
  limits?: GatewayConfig['limits']
}

/** A real upstream (JSON echo) and a real gateway with one route carrying request-transformer. */
export async function transformGateway(t: TestLike, setup: Setup) {
  const upstream = await startUpstream({ t })
  const gw = await startGateway({
    t,
    plugins: [requestTransformer, fakeAuth] as PluginDefinition[],
    config: {
      ...(setup.limits ? { limits: setup.limits } : {}),
      services: [
        {
          name: 'api',
          url: upstream.url + (setup.serviceUrlPath ?? ''),
          routes: [
            {
              name: 'api',
              paths: setup.paths ?? ['/api'],
              stripPath: setup.stripPath ?? false,
              ...(setup.escapedSlashes ? { escapedSlashes: setup.escapedSlashes } : {}),
              plugins: [{ name: 'fake-auth' }, { name: 'request-transformer', config: setup.config }],
            },
          ],
        },
      ],
    },
  })
  return { upstream, gw }
}

export const BASE = '/services/0/routes/0/plugins/0/config'

/** The issues a config is refused with (it must be refused). */
export async function issuesFor(config: Record<string, unknown>): Promise<ConfigIssue[]> {
  const full: GatewayConfig = {
    services: [
      {
        name: 'api',
        url: 'http://127.0.0.1:9',
        routes: [{ name: 'api', paths: ['/'], plugins: [{ name: 'request-transformer', config }] }],
      },
    ],
  }
  const err = await createGateway(full, { plugins: [requestTransformer], logger: false }).then(
    async (gw) => {
      await gw.close()
      return undefined
    },
    (e: unknown) => e,
  )
  if (!(err instanceof ConfigError)) throw new Error(`expected a ConfigError, got ${String(err)}`)
  return err.issues
}
