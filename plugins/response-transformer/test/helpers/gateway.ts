import type http from 'node:http'
import { ConfigError, type ConfigIssue, createGateway, type GatewayConfig } from '@gatehousejs/core'
import { definePlugin, type PluginDefinition } from '@gatehousejs/sdk'
import { startGateway, startUpstream, type TestLike } from '@gatehousejs/sdk/testing'
import responseTransformer from '../../src/index.js'

/** Sets the consumer from `x-user` and ctx.shared.region from `x-region`, for template tests. */
export const identify = definePlugin({
  name: 'identify',
  version: '1.0.0',
  priority: 60_000,
  init: () => ({
    access: function identifyAccess(ctx) {
      const user = ctx.request.headers['x-user']
      if (typeof user === 'string')
        ctx.setConsumer({ id: `id-${user}`, username: user, customId: undefined, groups: [] })
      const region = ctx.request.headers['x-region']
      if (typeof region === 'string') ctx.shared.region = region
    },
  }),
})

export type Reply = (req: http.IncomingMessage, res: http.ServerResponse) => void

/** An upstream answering each path with its own handler (404 otherwise). */
export async function routedUpstream(t: TestLike, routes: Record<string, Reply>) {
  return startUpstream({
    t,
    handler(req, res) {
      const path = (req.url ?? '/').split('?')[0]!
      const reply = routes[path]
      if (reply) reply(req, res)
      else res.writeHead(404, { 'content-type': 'text/plain' }).end('no such path')
    },
  })
}

/** A JSON reply with optional extra headers. */
export function json(body: unknown, headers: Record<string, string> = {}, status = 200): Reply {
  const buf = Buffer.from(JSON.stringify(body))
  return (_req, res) => {
    res
      .writeHead(status, { 'content-type': 'application/json', 'content-length': buf.length, ...headers })
      .end(buf)
  }
}

export interface Setup {
  config: Record<string, unknown>
  routes: Record<string, Reply>
  limits?: GatewayConfig['limits']
}

/** A real upstream and a real gateway with one route `/` carrying response-transformer. */
export async function transformGateway(t: TestLike, setup: Setup) {
  const upstream = await routedUpstream(t, setup.routes)
  const gw = await startGateway({
    t,
    plugins: [responseTransformer, identify] as PluginDefinition[],
    config: {
      ...(setup.limits ? { limits: setup.limits } : {}),
      services: [
        {
          name: 'api',
          url: upstream.url,
          routes: [
            {
              name: 'api',
              paths: ['/'],
              plugins: [{ name: 'identify' }, { name: 'response-transformer', config: setup.config }],
            },
          ],
        },
      ],
    },
  })
  return { upstream, gw }
}

export const BASE = '/services/0/routes/0/plugins/0/config'

export async function issuesFor(config: Record<string, unknown>): Promise<ConfigIssue[]> {
  const full: GatewayConfig = {
    services: [
      {
        name: 'api',
        url: 'http://127.0.0.1:9',
        routes: [{ name: 'api', paths: ['/'], plugins: [{ name: 'response-transformer', config }] }],
      },
    ],
  }
  const err = await createGateway(full, { plugins: [responseTransformer], logger: false }).then(
    async (gw) => {
      await gw.close()
      return undefined
    },
    (e: unknown) => e,
  )
  if (!(err instanceof ConfigError)) throw new Error(`expected a ConfigError, got ${String(err)}`)
  return err.issues
}
