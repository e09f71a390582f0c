import type http from 'node:http'
import { createGateway } from '@gatehousejs/core'
import { definePlugin, type PluginDefinition, PRIORITY } from '@gatehousejs/sdk'
import {
  request,
  startGateway,
  startUpstream,
  type TestLike,
  type TestRequest,
  WaitTimeoutError,
  waitFor,
} from '@gatehousejs/sdk/testing'
import cache from '../../src/index.js'

/** Answers every request with this status, headers and body (a counter in the body: `n=<count>`). */
export interface Reply {
  status?: number
  headers?: Record<string, string | string[]>
  body?: string
  /** Milliseconds to wait before answering. */
  delay?: number
}

export type Replier = (req: http.IncomingMessage, n: number) => Reply | Promise<Reply>

/**
 * A real upstream that counts the requests it gets and answers with `reply`, and a real gateway with
 * the cache on a `/` route. `extra` plugins (e.g. a test auth plugin) are registered too.
 */
export async function setup(
  t: TestLike,
  config: Record<string, unknown>,
  reply: Replier | Reply,
  opts: {
    extra?: PluginDefinition[]
    routePlugins?: Array<{ name: string; config?: Record<string, unknown> }>
    gatewayOptions?: Record<string, unknown>
  } = {},
) {
  let count = 0
  const upstream = await startUpstream({
    t,
    async handler(req, res) {
      count++
      const r = typeof reply === 'function' ? await reply(req, count) : reply
      if (r.delay) await new Promise((resolve) => setTimeout(resolve, r.delay))
      const body = r.body ?? `n=${count}`
      res.writeHead(r.status ?? 200, { 'content-type': 'text/plain', ...r.headers })
      res.end(req.method === 'HEAD' ? undefined : body)
    },
  })
  const gw = await startGateway({
    t,
    createGateway,
    plugins: [cache, ...(opts.extra ?? [])],
    options: opts.gatewayOptions,
    config: {
      services: [
        {
          name: 'api',
          url: upstream.url,
          routes: [
            {
              name: 'all',
              paths: ['/'],
              plugins: [...(opts.routePlugins ?? []), { name: 'cache', config }],
            },
          ],
        },
      ],
    },
  })
  return {
    upstream,
    gw,
    get count() {
      return count
    },
    get: (path: string, headers: Record<string, string> = {}) => request(gw.url, { path, headers }),
    send: (req: TestRequest) => request(gw.url, req),
  }
}

/**
 * A minimal auth plugin for tests: `x-user: <id>[:group,group]` identifies a consumer (as key-auth or
 * jwt would), in the auth band, so the cache sees `ctx.consumer` at lookup.
 */
export const testAuth = definePlugin({
  name: 'test-auth',
  version: '1.0.0',
  priority: PRIORITY.auth,
  init() {
    return {
      access(ctx) {
        const v = ctx.request.headers['x-user']
        if (typeof v !== 'string') return
        const [id, groups] = v.split(':')
        ctx.setConsumer(
          { id: id!, username: id, customId: undefined, groups: groups ? groups.split(',') : [] },
          { id: `key-${id}`, plugin: 'test-auth' },
        )
      },
    }
  },
})

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/**
 * Polls `check` every 25 ms until it returns a value that is not `undefined` (the test kit's
 * `waitFor`), for up to 10 s, and returns that value (or `undefined` when time runs out). For
 * background work such as a refresh, whose end a test cannot see, and which a busy machine makes take
 * longer than any fixed sleep.
 */
export function until<T>(check: () => Promise<T | undefined>): Promise<T | undefined> {
  return waitFor('a condition', check).catch((err: unknown) => {
    if (err instanceof WaitTimeoutError) return undefined
    throw err
  })
}
