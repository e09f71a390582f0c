import { createServer } from 'node:net'
import { Writable } from 'node:stream'
import { setTimeout as sleep } from 'node:timers/promises'
import {
  type AccessContext,
  defineError,
  definePlugin,
  type LogContext,
  type PluginDefinition,
  Type,
} from '@gatehousejs/sdk'
import type { GatewayConfig } from '@gatehousejs/sdk/config'
import { startGateway, startUpstream } from '@gatehousejs/sdk/testing'
import { pino } from 'pino'
import t from 'tap'
import { eventually } from './helpers/targets.js'

/**
 * The flow of a request through the phases: `when` conditions, short-circuits with `respond`, plugin
 * failures becoming gateway errors (named in the log, never leaked to the client), `error` handlers,
 * runtime phase misuse, and async handlers.
 */

/** A pino logger whose JSON lines the test can read. */
function captureLogger() {
  const lines: Array<Record<string, any>> = []
  const stream = new Writable({
    write(chunk, _enc, done) {
      for (const line of String(chunk).split('\n')) if (line.trim()) lines.push(JSON.parse(line))
      done()
    },
  })
  return { logger: pino({ level: 'debug' }, stream), lines }
}

/** Polls until `check` holds (log handlers run after the response; bounded to 2 s). */
async function closedPort(): Promise<number> {
  const srv = createServer()
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve))
  const { port } = srv.address() as { port: number }
  await new Promise<void>((resolve) => srv.close(() => resolve()))
  return port
}

const mark = definePlugin({
  name: 'mark',
  version: '1.0.0',
  priority: 500,
  stacking: true,
  schema: Type.Object({ tag: Type.String() }),
  init: (config) => ({
    access(ctx) {
      const seen = ctx.upstream.headers['x-marks']
      ctx.upstream.headers['x-marks'] = seen ? `${seen},${config.tag}` : config.tag
    },
  }),
})

t.test('when: methods, path globs and header conditions select the instances that run', async (t) => {
  const upstream = await startUpstream({ t })
  const gw = await startGateway({
    t,
    plugins: [mark],
    config: {
      services: [{ name: 'svc', url: upstream.url, routes: [{ paths: ['/w'] }] }],
      plugins: [
        { name: 'mark', config: { tag: 'post' }, when: { methods: ['POST'] } },
        { name: 'mark', config: { tag: 'one' }, when: { path: '/w/*' } },
        { name: 'mark', config: { tag: 'any' }, when: { path: '/w/**' } },
        { name: 'mark', config: { tag: 'mid' }, when: { path: '/w/**/end' } },
        { name: 'mark', config: { tag: 'present' }, when: { headers: { 'X-Debug': true } } },
        { name: 'mark', config: { tag: 'absent' }, when: { headers: { 'x-debug': false } } },
        { name: 'mark', config: { tag: 'yes' }, when: { headers: { 'x-debug': 'yes' } } },
        { name: 'mark', config: { tag: 'post-a' }, when: { methods: ['POST'], path: '/w/a' } },
      ],
    },
  })
  const cases: Array<[method: string, path: string, headers: Record<string, string>, marks: string]> = [
    ['GET', '/w/a', {}, 'one,any,absent'],
    ['GET', '/w/a/b', {}, 'any,absent'],
    ['GET', '/w', {}, 'any,absent'],
    ['GET', '/w/end', {}, 'one,any,mid,absent'],
    ['GET', '/w/a/b/end', {}, 'any,mid,absent'],
    ['POST', '/w/a', { 'x-debug': 'yes' }, 'post,one,any,present,yes,post-a'],
    ['POST', '/w/b', { 'x-debug': 'no' }, 'post,one,any,present'],
  ]
  for (const [method, path, headers, marks] of cases) {
    const res = await gw.request({ method, path, headers, body: method === 'POST' ? 'x' : undefined })
    t.equal(res.status, 200)
    t.equal(upstream.last()?.headers['x-marks'], marks, `${method} ${path} ${JSON.stringify(headers)}`)
  }
})

/** Short-circuit fixtures: a gate that responds, a later access handler, a CORS-like response handler, a log. */
function shortCircuitPlugins() {
  const ran: string[] = []
  const logged: Array<{ status: number; source: string; path: string }> = []
  const gate = definePlugin({
    name: 'gate',
    version: '1.0.0',
    priority: 90_000,
    init: () => ({
      rewrite(ctx) {
        if (ctx.request.headers['x-block'] === 'rewrite') ctx.respond(403, { blocked: 'rewrite' })
      },
      access(ctx) {
        if (ctx.request.headers['x-block'] === 'access')
          ctx.respond(401, { blocked: 'access' }, { 'WWW-Authenticate': 'Test realm="gw"' })
      },
    }),
  })
  const gateToo = definePlugin({
    name: 'gate-too',
    version: '1.0.0',
    priority: 85_000,
    init: () => ({
      access() {
        ran.push('gate-too')
      },
    }),
  })
  const later = definePlugin({
    name: 'later',
    version: '1.0.0',
    priority: 100,
    init: () => ({
      access(ctx) {
        ran.push('later')
        ctx.upstream.headers['x-later'] = '1'
      },
    }),
  })
  const corsLike = definePlugin({
    name: 'cors-like',
    version: '1.0.0',
    priority: 80_000,
    init: () => ({
      response(ctx) {
        ctx.response.headers['access-control-allow-origin'] = '*'
        ctx.response.headers['x-source'] = ctx.response.source
      },
    }),
  })
  const recorder = definePlugin({
    name: 'recorder',
    version: '1.0.0',
    priority: 1_000,
    init: () => ({
      log(ctx: LogContext) {
        const res = ctx.response
        if (res) logged.push({ status: res.status, source: res.source, path: ctx.request.path })
      },
    }),
  })
  return { ran, logged, plugins: [gate, gateToo, later, corsLike, recorder] as PluginDefinition[] }
}

t.test('respond() in rewrite ends the request before routing; response and log still run', async (t) => {
  const { ran, logged, plugins } = shortCircuitPlugins()
  const upstream = await startUpstream({ t })
  const gw = await startGateway({
    t,
    plugins,
    config: {
      services: [{ name: 'svc', url: upstream.url, routes: [{ paths: ['/'] }] }],
      plugins: plugins.map((p) => ({ name: p.name })),
    },
  })
  const res = await gw.request({ path: '/anything', headers: { 'x-block': 'rewrite' } })
  t.equal(res.status, 403)
  t.same(res.json(), { blocked: 'rewrite' })
  t.match(res.headers['content-type'], /^application\/json/)
  t.equal(res.headers['access-control-allow-origin'], '*', 'the response handler ran')
  t.equal(res.headers['x-source'], 'plugin')
  t.ok(res.headers['x-request-id'], 'the request id is still sent')
  t.equal(upstream.requests.length, 0, 'the upstream received nothing')
  t.same(ran, [], 'no access handler ran')
  t.ok(await eventually(() => logged.length === 1), 'the log handler ran')
  t.same(logged, [{ status: 403, source: 'plugin', path: '/anything' }])

  // A request that is not blocked goes all the way through.
  const ok = await gw.request({ path: '/fine' })
  t.equal(ok.status, 200)
  t.equal(upstream.last()?.headers['x-later'], '1')
  t.same(ran, ['gate-too', 'later'])
})

t.test('respond() in access: later access handlers do not run, nothing is proxied', async (t) => {
  const { ran, logged, plugins } = shortCircuitPlugins()
  const upstream = await startUpstream({ t })
  const gw = await startGateway({
    t,
    plugins,
    config: {
      services: [{ name: 'svc', url: upstream.url, routes: [{ paths: ['/'] }] }],
      plugins: plugins.map((p) => ({ name: p.name })),
    },
  })
  const res = await gw.request({
    method: 'POST',
    path: '/x',
    body: { a: 1 },
    headers: { 'x-block': 'access' },
  })
  t.equal(res.status, 401)
  t.same(res.json(), { blocked: 'access' })
  t.equal(res.headers['www-authenticate'], 'Test realm="gw"', 'respond() headers are sent, names lower-cased')
  t.equal(res.headers['access-control-allow-origin'], '*', 'the CORS-like response handler still ran')
  t.equal(upstream.requests.length, 0, 'the upstream received nothing')
  t.same(ran, [], 'gate-too and later did not run')
  t.ok(await eventually(() => logged.length === 1), 'the log handler ran')
  t.same(logged, [{ status: 401, source: 'plugin', path: '/x' }])
})

t.test('a plugin throwing a plain Error: 500 GH_PLUGIN_FAILED, details only in the log', async (t) => {
  const secret = 'db password is hunter2'
  const boom = definePlugin({
    name: 'boom',
    version: '1.0.0',
    priority: 100,
    init: () => ({
      access(ctx) {
        if (ctx.request.headers['x-boom']) throw new Error(secret)
      },
    }),
  })
  const { plugins, logged } = shortCircuitPlugins()
  const { logger, lines } = captureLogger()
  const upstream = await startUpstream({ t })
  const gw = await startGateway({
    t,
    plugins: [...plugins, boom],
    logger: logger as unknown as Record<string, unknown>,
    config: {
      services: [{ name: 'svc', url: upstream.url, routes: [{ paths: ['/'] }] }],
      plugins: [{ name: 'boom' }, { name: 'cors-like' }, { name: 'recorder' }],
    },
  })
  const res = await gw.request({ path: '/x', headers: { 'x-boom': '1' } })
  t.equal(res.status, 500)
  const body = res.json()
  t.match(body, {
    statusCode: 500,
    code: 'GH_PLUGIN_FAILED',
    error: 'Internal Server Error',
    message: String,
    requestId: res.headers['x-request-id'],
  })
  t.notMatch(res.text, 'hunter2', 'the error message is not sent to the client')
  t.notMatch(res.text, 'boom', 'nor the plugin name')
  t.equal(res.headers['access-control-allow-origin'], '*', 'response handlers run on error responses')
  t.equal(upstream.requests.length, 0)
  const line = lines.find((l) => l.plugin === 'boom' && l.phase === 'access')
  t.ok(line, 'the log names the plugin and the phase')
  t.equal(line?.level, 50, 'logged at error level')
  t.match(line?.msg, /plugin "boom" failed in access/)
  t.match(line?.err?.message, 'hunter2', 'the log keeps the cause')
  t.equal(line?.reqId, res.headers['x-request-id'], 'with the request id')
  t.ok(await eventually(() => logged.length === 1))
  t.match(logged[0], { status: 500, source: 'error' })
})

t.test(
  'a plugin throwing a GatehouseError: its status, code, message and headers reach the client',
  async (t) => {
    const Teapot = defineError('GH_TEST_TEAPOT', 418, (who: string) => `${who} is a teapot`)
    const thrower = definePlugin({
      name: 'thrower',
      version: '1.0.0',
      priority: 100,
      init: () => ({
        access() {
          throw Teapot('the gateway').withHeaders({ 'Retry-After': '5' })
        },
      }),
    })
    const upstream = await startUpstream({ t })
    const gw = await startGateway({
      t,
      plugins: [thrower],
      config: {
        services: [{ name: 'svc', url: upstream.url, routes: [{ paths: ['/'] }] }],
        plugins: [{ name: 'thrower' }],
      },
    })
    const res = await gw.request({ path: '/x' })
    t.equal(res.status, 418)
    t.equal(res.headers['retry-after'], '5')
    t.same(res.json(), {
      statusCode: 418,
      code: 'GH_TEST_TEAPOT',
      error: "I'm a Teapot",
      message: 'the gateway is a teapot',
      requestId: res.headers['x-request-id'],
    })
    t.equal(upstream.requests.length, 0)
  },
)

t.test('a throwing log handler is logged and ignored', async (t) => {
  const badLog = definePlugin({
    name: 'bad-log',
    version: '1.0.0',
    priority: 100,
    init: () => ({
      log() {
        throw new Error('log sink exploded')
      },
    }),
  })
  const { plugins, logged } = shortCircuitPlugins()
  const { logger, lines } = captureLogger()
  const upstream = await startUpstream({ t })
  const gw = await startGateway({
    t,
    plugins: [...plugins, badLog],
    logger: logger as unknown as Record<string, unknown>,
    config: {
      services: [{ name: 'svc', url: upstream.url, routes: [{ paths: ['/'] }] }],
      // bad-log (100) runs after recorder (1000): a failing log handler does not stop the next one
      plugins: [{ name: 'bad-log', before: ['recorder'] }, { name: 'recorder' }],
    },
  })
  const res = await gw.request({ path: '/x' })
  t.equal(res.status, 200, 'the client got its response')
  t.ok(
    await eventually(() =>
      lines.some((l) => /bad-log/.test(l.msg ?? '') && l.err?.message === 'log sink exploded'),
    ),
    'the failure is logged with the plugin name',
  )
  t.ok(await eventually(() => logged.length === 1), 'the next log handler still ran')
  const again = await gw.request({ path: '/y' })
  t.equal(again.status, 200, 'the gateway keeps serving')
})

t.test('an error handler reshapes an upstream failure', async (t) => {
  const port = await closedPort()
  const shaper = definePlugin({
    name: 'shaper',
    version: '1.0.0',
    priority: 100,
    init: () => ({
      error(ctx) {
        if (ctx.error.code === 'GH_UPSTREAM_UNREACHABLE') {
          ctx.respond(503, { problem: 'maintenance', cause: ctx.error.code }, { 'retry-after': '30' })
        }
      },
    }),
  })
  const { plugins, logged } = shortCircuitPlugins()
  const gw = await startGateway({
    t,
    plugins: [...plugins, shaper],
    config: {
      services: [
        { name: 'down', url: `http://127.0.0.1:${port}`, routes: [{ paths: ['/down'] }] },
        { name: 'unshaped', url: `http://127.0.0.1:${port}`, routes: [{ paths: ['/raw'] }] },
      ],
      plugins: [{ name: 'shaper', service: 'down' }, { name: 'cors-like' }, { name: 'recorder' }],
    },
  })
  const raw = await gw.request({ path: '/raw' })
  t.equal(raw.status, 502)
  t.equal(raw.json().code, 'GH_UPSTREAM_UNREACHABLE', 'without the error handler: the gateway error')
  const res = await gw.request({ path: '/down' })
  t.equal(res.status, 503)
  t.same(res.json(), { problem: 'maintenance', cause: 'GH_UPSTREAM_UNREACHABLE' })
  t.equal(res.headers['retry-after'], '30')
  t.equal(res.headers['access-control-allow-origin'], '*', 'response handlers see the reshaped response')
  t.equal(res.headers['x-source'], 'error')
  t.ok(await eventually(() => logged.length === 2))
  t.match(
    logged.find((l) => l.path === '/down'),
    { status: 503, source: 'error' },
  )
})

t.test('phase misuse at runtime is GH_PLUGIN_PHASE_MISUSE', async (t) => {
  const misuser = definePlugin({
    name: 'misuser',
    version: '1.0.0',
    priority: 100,
    init: () => ({
      rewrite(ctx) {
        if (ctx.request.headers['x-misuse'] === 'set-consumer-in-rewrite') {
          ;(ctx as unknown as AccessContext).setConsumer({
            id: 'x',
            username: 'x',
            customId: undefined,
            groups: [],
          })
        }
      },
      response(ctx) {
        if (ctx.request.headers['x-misuse'] === 'respond-in-response')
          (ctx as unknown as AccessContext).respond(200, 'sneaky')
      },
    }),
  })
  const { logger, lines } = captureLogger()
  const upstream = await startUpstream({ t })
  const gw = await startGateway({
    t,
    plugins: [misuser],
    logger: logger as unknown as Record<string, unknown>,
    config: {
      services: [{ name: 'svc', url: upstream.url, routes: [{ paths: ['/'] }] }],
      plugins: [{ name: 'misuser' }],
    },
  })
  for (const misuse of ['respond-in-response', 'set-consumer-in-rewrite']) {
    const res = await gw.request({ path: '/x', headers: { 'x-misuse': misuse } })
    t.equal(res.status, 500, misuse)
    t.equal(res.json().code, 'GH_PLUGIN_PHASE_MISUSE', misuse)
    t.notMatch(res.text, 'sneaky')
  }
  t.ok(
    lines.some(
      (l) => l.code === 'GH_PLUGIN_PHASE_MISUSE' && l.plugin === 'misuser' && l.phase === 'response',
    ),
    'the log names the plugin and phase',
  )
  t.ok(lines.some((l) => /respond\(\) cannot be called in the response phase/.test(l.err?.message ?? '')))
  const ok = await gw.request({ path: '/x' })
  t.equal(ok.status, 200, 'correct use is unaffected')
})

t.test('async handlers are awaited in every phase', async (t) => {
  const logged: string[] = []
  const slow = definePlugin({
    name: 'slow',
    version: '1.0.0',
    priority: 100,
    init: () => ({
      async rewrite(ctx) {
        await sleep(30)
        ctx.request.headers['x-rewritten'] = 'yes'
      },
      async access(ctx) {
        await sleep(30)
        ctx.upstream.headers['x-async-access'] = String(ctx.request.headers['x-rewritten'])
      },
      async response(ctx) {
        await sleep(30)
        ctx.response.headers['x-async-response'] = 'done'
      },
      async log(ctx) {
        await sleep(30)
        logged.push(ctx.requestId)
      },
    }),
  })
  const after = definePlugin({
    name: 'after-slow',
    version: '1.0.0',
    priority: 50,
    init: () => ({
      access(ctx) {
        ctx.upstream.headers['x-saw'] = String(ctx.upstream.headers['x-async-access'])
      },
      log(ctx) {
        logged.push(`after:${ctx.requestId}`)
      },
    }),
  })
  const upstream = await startUpstream({ t })
  const config: GatewayConfig = {
    services: [{ name: 'svc', url: upstream.url, routes: [{ paths: ['/'] }] }],
    plugins: [{ name: 'slow' }, { name: 'after-slow' }],
  }
  const gw = await startGateway({ t, plugins: [slow, after], config })
  const res = await gw.request({ path: '/x' })
  t.equal(res.status, 200)
  t.equal(upstream.last()?.headers['x-async-access'], 'yes', 'rewrite was awaited before access')
  t.equal(upstream.last()?.headers['x-saw'], 'yes', 'the next handler ran after the async one')
  t.equal(res.headers['x-async-response'], 'done')
  const id = String(res.headers['x-request-id'])
  t.ok(await eventually(() => logged.length === 2))
  t.same(logged, [id, `after:${id}`], 'the async log handler finished before the next one started')
})
