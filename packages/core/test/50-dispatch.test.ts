import { definePlugin, type PluginDefinition, Type } from '@gatehousejs/sdk'
import type { GatewayConfig } from '@gatehousejs/sdk/config'
import { startGateway, startUpstream } from '@gatehousejs/sdk/testing'
import t from 'tap'

/**
 * env.dispatch: a plugin's call through the gateway itself runs the target's own plugin chain (so a
 * policy cannot be bypassed), with the caller's client IP and request id, bounded in depth and time.
 * `relay` answers its route with what one dispatched call returned; `guard` refuses requests without
 * `x-key: secret`.
 */

const relay: PluginDefinition = definePlugin({
  name: 'relay',
  version: '1.0.0',
  priority: 8_000,
  schema: Type.Object({
    route: Type.Optional(Type.String()),
    service: Type.Optional(Type.String()),
    path: Type.String(),
    passKey: Type.Boolean({ default: false }),
    clientIp: Type.Optional(Type.String()),
    timeout: Type.Optional(Type.Number()),
  }),
  init(config, env) {
    return {
      async access(ctx) {
        const headers: Record<string, string> = {}
        const key = ctx.request.headers['x-key']
        if (config.passKey && typeof key === 'string') headers['x-key'] = key
        try {
          const res = await env.dispatch!({
            from: ctx,
            route: config.route,
            service: config.service,
            path: config.path,
            headers,
            clientIp: config.clientIp,
            timeout: config.timeout,
          })
          ctx.respond(res.status, res.body, {
            'content-type': String(res.headers['content-type'] ?? 'application/octet-stream'),
          })
        } catch (err) {
          ctx.respond(599, { code: (err as { code?: string }).code })
        }
      },
    }
  },
})

const guard: PluginDefinition = definePlugin({
  name: 'guard',
  version: '1.0.0',
  priority: 60_000,
  init() {
    return {
      access(ctx) {
        if (ctx.request.headers['x-key'] !== 'secret') ctx.respond(401, { code: 'GUARDED' })
      },
    }
  },
})

function config(upstream: string, plugins: GatewayConfig['plugins'], extraRoutes = true): GatewayConfig {
  return {
    services: [
      {
        name: 'users',
        url: `${upstream}/api`,
        routes: [
          { name: 'private', paths: ['/private'], hosts: extraRoutes ? ['internal.example'] : undefined },
          { name: 'open', paths: ['/open'] },
        ],
      },
      { name: 'edge', url: upstream, routes: [{ name: 'agg', paths: ['/agg'] }] },
    ],
    plugins,
  }
}

t.test('a route call runs that route’s chain, with the caller’s credentials or without', async (t) => {
  const upstream = await startUpstream({ t })
  const plugins = [
    { name: 'guard', route: 'private' },
    { name: 'relay', route: 'agg', config: { route: 'private', path: '/private/42?x=1', passKey: true } },
  ]
  const gw = await startGateway({ t, plugins: [relay, guard], config: config(upstream.url, plugins) })
  const denied = await gw.request({ path: '/agg' })
  t.equal(denied.status, 401, 'the route’s guard refused the call: no bypass through the aggregate')
  t.equal(denied.json().code, 'GUARDED')
  t.equal(upstream.requests.length, 0)

  const ok = await gw.request({ path: '/agg', headers: { 'x-key': 'secret' } })
  t.equal(ok.status, 200)
  t.equal(upstream.last()?.url, '/api/42?x=1', 'strip-path applied; host conditions of the route do not')
  t.equal(upstream.last()?.headers['x-gatehouse-dispatch'], undefined, 'the marker never reaches upstream')
  t.equal(upstream.last()?.headers['x-request-id'], ok.headers['x-request-id'], 'the caller’s request id')
  t.equal(upstream.last()?.headers['x-forwarded-for'], '127.0.0.1', 'the client’s IP')
})

t.test('a service call runs the global and service-scoped instances', async (t) => {
  const upstream = await startUpstream({ t })
  const plugins = [
    { name: 'guard', service: 'users' },
    { name: 'relay', route: 'agg', config: { service: 'users', path: '/v1/me', clientIp: '203.0.113.7' } },
  ]
  const gw = await startGateway({ t, plugins: [relay, guard], config: config(upstream.url, plugins) })
  const res = await gw.request({ path: '/agg', headers: { 'x-key': 'secret' } })
  t.equal(res.status, 401, 'the service-level guard applies; relay did not pass the key')
  t.equal(upstream.requests.length, 0)

  await gw.gateway.reload(
    config(upstream.url, [{ name: 'relay', route: 'agg', config: plugins[1]!.config }]) as GatewayConfig,
  )
  const ok = await gw.request({ path: '/agg' })
  t.equal(ok.status, 200)
  t.equal(upstream.last()?.url, '/api/v1/me', 'the path is relative to the service URL')
  t.equal(upstream.last()?.headers['x-forwarded-for'], '203.0.113.7', 'the clientIp given')
})

t.test('a path that does not match the named route is a 404 for that call', async (t) => {
  const upstream = await startUpstream({ t })
  const plugins = [{ name: 'relay', route: 'agg', config: { route: 'open', path: '/elsewhere' } }]
  const gw = await startGateway({ t, plugins: [relay], config: config(upstream.url, plugins) })
  const res = await gw.request({ path: '/agg' })
  t.equal(res.status, 404)
  t.equal(res.json().code, 'GH_ROUTE_NOT_FOUND')
  t.equal(upstream.requests.length, 0)
})

t.test('a client cannot forge the dispatch marker', async (t) => {
  const upstream = await startUpstream({ t })
  const plugins = [{ name: 'guard', route: 'open' }]
  const gw = await startGateway({ t, plugins: [guard], config: config(upstream.url, plugins) })
  const res = await gw.request({
    path: '/open/x',
    headers: { 'x-gatehouse-dispatch': '00000000-0000-4000-8000-000000000000', 'x-key': 'secret' },
  })
  t.equal(res.status, 200, 'routed as any client request')
  t.equal(upstream.last()?.headers['x-gatehouse-dispatch'], undefined, 'and the header is stripped')
})

t.test('an aggregate calling itself stops at the depth limit with 508 GH_DISPATCH_LOOP', async (t) => {
  const upstream = await startUpstream({ t })
  const plugins = [{ name: 'relay', route: 'agg', config: { route: 'agg', path: '/agg' } }]
  const gw = await startGateway({ t, plugins: [relay], config: config(upstream.url, plugins) })
  const res = await gw.request({ path: '/agg' })
  t.equal(res.status, 508)
  t.equal(res.json().code, 'GH_DISPATCH_LOOP')
  t.equal(upstream.requests.length, 0)
})

t.test(
  'a call past its timeout rejects with GH_DISPATCH_TIMEOUT and its upstream request is aborted',
  async (t) => {
    let closed!: () => void
    const upstreamGone = new Promise<void>((resolve) => {
      closed = resolve
    })
    const upstream = await startUpstream({
      t,
      handler: (req, res) => {
        res.on('close', () => closed())
        req.resume()
        setTimeout(() => res.end('late'), 5_000).unref()
      },
    })
    const plugins = [{ name: 'relay', route: 'agg', config: { route: 'open', path: '/open', timeout: 100 } }]
    const gw = await startGateway({ t, plugins: [relay], config: config(upstream.url, plugins) })
    const res = await gw.request({ path: '/agg' })
    t.equal(res.status, 599)
    t.equal(res.json().code, 'GH_DISPATCH_TIMEOUT')
    await upstreamGone
    t.pass('the upstream connection was closed')
  },
)

t.test('log plugins of the target see a completed call, not an aborted one', async (t) => {
  const seen: Array<{ aborted: boolean; status: number | undefined; ip: string }> = []
  const recorder: PluginDefinition = definePlugin({
    name: 'recorder',
    version: '1.0.0',
    priority: 1_000,
    init() {
      return {
        log(ctx) {
          seen.push({ aborted: ctx.aborted, status: ctx.response?.status, ip: ctx.client.ip })
        },
      }
    },
  })
  const upstream = await startUpstream({ t })
  const plugins = [
    { name: 'recorder', route: 'open' },
    { name: 'relay', route: 'agg', config: { route: 'open', path: '/open', clientIp: '198.51.100.9' } },
  ]
  const gw = await startGateway({ t, plugins: [relay, recorder], config: config(upstream.url, plugins) })
  const res = await gw.request({ path: '/agg' })
  t.equal(res.status, 200)
  for (let i = 0; i < 500 && seen.length === 0; i++) await new Promise((r) => setTimeout(r, 10))
  t.same(seen, [{ aborted: false, status: 200, ip: '198.51.100.9' }])
})

t.test('a call carries its method and body, and gets a streamed answer whole', async (t) => {
  const answers: Array<{ status: number; body: string; type: unknown; length: unknown }> = []
  const poster: PluginDefinition = definePlugin({
    name: 'poster',
    version: '1.0.0',
    priority: 8_000,
    init(_config, env) {
      return {
        async access(ctx) {
          const controller = new AbortController()
          const res = await env.dispatch!({
            from: ctx,
            service: 'users',
            method: 'post',
            path: '/chunked',
            headers: { 'content-type': 'application/json' },
            body: '{"name":"ada"}',
            signal: controller.signal,
          })
          answers.push({
            status: res.status,
            body: res.body.toString(),
            type: res.headers['content-type'],
            length: res.headers['content-length'],
          })
          const aborted = new AbortController()
          aborted.abort(new Error('not wanted'))
          const refused = await env.dispatch!({
            from: ctx,
            service: 'users',
            path: '/never',
            signal: aborted.signal,
          }).then(
            () => 'answered',
            (err: Error) => err.message,
          )
          ctx.respond(200, { refused })
        },
      }
    },
  })
  const upstream = await startUpstream({
    t,
    handler: (_req, res, recorded) => {
      res.writeHead(201, { 'content-type': 'application/json' })
      res.write('{"got":')
      setTimeout(() => res.end(`${recorded.body.toString()}}`), 20)
    },
  })
  const plugins = [{ name: 'poster', route: 'agg' }]
  const gw = await startGateway({ t, plugins: [poster], config: config(upstream.url, plugins) })
  const res = await gw.request({ path: '/agg' })
  t.equal(res.status, 200)
  t.same(res.json(), { refused: 'not wanted' }, 'an already aborted signal rejects without a call')
  t.equal(upstream.requests.length, 1, 'the aborted call never reached the upstream')
  t.equal(upstream.last()?.method, 'POST')
  t.equal(upstream.last()?.url, '/api/chunked')
  t.equal(upstream.last()?.headers['content-length'], '14')
  t.same(answers, [
    { status: 201, body: '{"got":{"name":"ada"}}', type: 'application/json', length: undefined },
  ])
})
