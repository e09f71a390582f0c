import { setTimeout as sleep } from 'node:timers/promises'
import { definePlugin, type LogContext, type PluginTiming } from '@gatehousejs/sdk'
import type { GatewayConfig } from '@gatehousejs/sdk/config'
import { startGateway, startUpstream } from '@gatehousejs/sdk/testing'
import t from 'tap'
import { eventually } from './helpers/targets.js'

/**
 * Per-plugin timing: measured only when asked (`needs.pluginTimings` or `serverTiming`), handed to
 * `log` handlers as `ctx.timings.plugins`, and sent to the client in `Server-Timing` when configured.
 */

const slow = definePlugin({
  name: 'slow',
  version: '1.0.0',
  priority: 500,
  init() {
    return {
      async access() {
        await sleep(15)
      },
      response(ctx) {
        ctx.response.headers['x-slow'] = '1'
      },
    }
  },
})

/** A log plugin that keeps what it saw; `ask` decides whether it asks for plugin timings. */
function recorder(ask: boolean) {
  const seen: Array<LogContext['timings']> = []
  const def = definePlugin({
    name: 'recorder',
    version: '1.0.0',
    priority: 1,
    init() {
      return {
        needs: ask ? { pluginTimings: true } : undefined,
        log(ctx) {
          seen.push(ctx.timings)
        },
      }
    },
  })
  return { def, seen }
}

function config(upstream: string, extra: Partial<GatewayConfig> = {}): GatewayConfig {
  return {
    services: [{ name: 'api', url: upstream, routes: [{ name: 'api', paths: ['/api'] }] }],
    plugins: [{ name: 'slow' }, { name: 'recorder' }],
    ...extra,
  }
}

t.test('nothing is measured when nothing asks', async (t) => {
  const upstream = await startUpstream({ t })
  const rec = recorder(false)
  const gw = await startGateway({ t, plugins: [slow, rec.def], config: config(upstream.url) })
  const res = await gw.request({ path: '/api/x' })
  t.equal(res.status, 200)
  t.equal(res.headers['server-timing'], undefined, 'no header unless configured')
  await eventually(() => rec.seen.length > 0)
  t.equal(rec.seen[0]?.plugins, undefined)
  t.type(rec.seen[0]?.upstreamStart, 'number', 'the upstream start offset is always there when proxied')
})

t.test('a plugin asking for timings gets each handler run, in order, with its phase', async (t) => {
  const upstream = await startUpstream({ t })
  const rec = recorder(true)
  const gw = await startGateway({ t, plugins: [slow, rec.def], config: config(upstream.url) })
  const res = await gw.request({ path: '/api/x' })
  t.equal(res.status, 200)
  t.equal(res.headers['server-timing'], undefined, 'timings for plugins do not mean a header')
  await eventually(() => rec.seen.length > 0)
  const timings = rec.seen[0]!
  const runs = timings.plugins as PluginTiming[]
  t.match(runs, [
    { plugin: 'slow', phase: 'access', instance: /^slow/ },
    { plugin: 'slow', phase: 'response' },
  ])
  t.equal(runs.length, 2, 'log handlers are not timed')
  t.ok(runs[0]!.duration >= 10, `the awaited access handler is measured (${runs[0]!.duration} ms)`)
  t.ok(runs[1]!.start >= runs[0]!.start + runs[0]!.duration, 'starts are offsets from the request start')
  t.ok(timings.upstreamStart! >= runs[0]!.start + runs[0]!.duration, 'upstream starts after access')
})

t.test('serverTiming: true sends each plugin and the upstream time to the client', async (t) => {
  const upstream = await startUpstream({
    t,
    handler: (_req, res) => {
      res.writeHead(200, { 'server-timing': 'db;dur=2.5' })
      res.end('ok')
    },
  })
  const rec = recorder(false)
  const gw = await startGateway({
    t,
    plugins: [slow, rec.def],
    config: config(upstream.url, { serverTiming: true }),
  })
  const res = await gw.request({ path: '/api/x' })
  t.equal(res.status, 200)
  const header = String(res.headers['server-timing'])
  t.match(
    header,
    /^db;dur=2\.5, slow;desc="access";dur=\d+\.\d{3}, slow;desc="response";dur=\d+\.\d{3}, upstream;dur=\d+\.\d{3}$/,
    'the upstream’s entries stay first',
  )
  await eventually(() => rec.seen.length > 0)
  t.equal(rec.seen[0]?.plugins?.length, 2, 'log handlers see the same measurements')

  const notFound = await gw.request({ path: '/nowhere' })
  t.equal(notFound.status, 404)
  t.match(
    String(notFound.headers['server-timing']),
    /^slow;desc="response";dur=[\d.]+$/,
    'an error response: its response handlers, and no upstream',
  )
})

t.test('a handler that throws is still measured', async (t) => {
  const upstream = await startUpstream({ t })
  const failing = definePlugin({
    name: 'failing',
    version: '1.0.0',
    priority: 600,
    init() {
      return {
        access() {
          throw new Error('boom')
        },
      }
    },
  })
  const gw = await startGateway({
    t,
    plugins: [failing, slow],
    config: {
      services: [{ name: 'api', url: upstream.url, routes: [{ name: 'api', paths: ['/api'] }] }],
      plugins: [{ name: 'failing' }, { name: 'slow' }],
      serverTiming: true,
    },
  })
  const res = await gw.request({ path: '/api/x' })
  t.equal(res.status, 500)
  t.equal(res.json().code, 'GH_PLUGIN_FAILED')
  t.match(String(res.headers['server-timing']), /^failing;desc="access";dur=[\d.]+, slow;desc="response"/)
  t.equal(upstream.requests.length, 0)
})
