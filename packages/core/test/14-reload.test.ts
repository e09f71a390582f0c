import { setTimeout as sleep } from 'node:timers/promises'
import { ConfigError, definePlugin, Type } from '@gatehousejs/sdk'
import type { GatewayConfig } from '@gatehousejs/sdk/config'
import { startGateway, startUpstream } from '@gatehousejs/sdk/testing'
import t from 'tap'
import { eventually } from './helpers/targets.js'

/**
 * Hot reload: a new configuration is built off to the side and swapped in atomically. No request is
 * failed or dropped; in-flight requests finish on the configuration they started on; replaced plugin
 * instances are closed only once their requests drained; unchanged instances are reused.
 */

/** Polls until `check` holds, bounded to ~3 s. */
interface Events {
  list: string[]
  count(prefix: string): number
}

function recorder(): Events {
  const list: string[] = []
  return { list, count: (prefix) => list.filter((e) => e.startsWith(prefix)).length }
}

/** `stamp` changes with each config; `constant` has the same config in every one. */
function reloadPlugins(events: Events) {
  let seq = 0
  const stamp = definePlugin({
    name: 'stamp',
    version: '1.0.0',
    priority: 1_000,
    schema: Type.Object({ value: Type.String() }),
    init(config) {
      events.list.push(`init:stamp:${config.value}`)
      return {
        access(ctx) {
          ctx.upstream.headers['x-stamp'] = config.value
        },
        response(ctx) {
          ctx.response.headers['x-stamp'] = config.value
        },
        log(ctx) {
          events.list.push(`log:stamp:${config.value}:${ctx.request.path}`)
        },
        close() {
          events.list.push(`close:stamp:${config.value}`)
        },
      }
    },
  })
  const constant = definePlugin({
    name: 'constant',
    version: '1.0.0',
    priority: 500,
    init() {
      const instance = String(++seq)
      events.list.push(`init:constant:${instance}`)
      return {
        response(ctx) {
          ctx.response.headers['x-constant-instance'] = instance
        },
        close() {
          events.list.push(`close:constant:${instance}`)
        },
      }
    },
  })
  return [stamp, constant]
}

function config(upstreamUrl: string, version: 'A' | 'B'): GatewayConfig {
  return {
    services: [
      {
        name: 'svc',
        url: upstreamUrl,
        routes: [
          { name: 'common', paths: ['/common'] },
          // each version has a route the other lacks
          version === 'A' ? { name: 'only-a', paths: ['/only-a'] } : { name: 'only-b', paths: ['/only-b'] },
        ],
      },
    ],
    plugins: [{ name: 'stamp', config: { value: version } }, { name: 'constant' }],
  }
}

t.test('20 reloads under concurrent load: no failed request, each reload visible at once', async (t) => {
  const events = recorder()
  const upstream = await startUpstream({ t })
  const gw = await startGateway({ t, plugins: reloadPlugins(events), config: config(upstream.url, 'A') })

  let done = false
  const failures: string[] = []
  let completed = 0
  async function worker(n: number): Promise<void> {
    // Bounded: stops when the reloads are done, or after 1,000 requests, whichever comes first.
    for (let i = 0; i < 1_000 && !done; i++) {
      try {
        const res = await gw.request({ path: `/common/w${n}/${i}`, timeout: 5_000 })
        const stamp = res.headers['x-stamp']
        if (res.status !== 200) failures.push(`worker ${n}: status ${res.status} ${res.text}`)
        else if (stamp !== 'A' && stamp !== 'B') failures.push(`worker ${n}: x-stamp ${String(stamp)}`)
        else if (upstream.requests.find((r) => r.url === `/w${n}/${i}`)?.headers['x-stamp'] !== stamp)
          failures.push(`worker ${n}: upstream and response disagree on the config`)
        completed++
      } catch (err) {
        failures.push(`worker ${n}: ${(err as Error).message}`)
      }
    }
  }
  const workers = [0, 1, 2, 3].map(worker)

  const checks: string[] = []
  for (let i = 1; i <= 20; i++) {
    const version = i % 2 === 1 ? 'B' : 'A'
    await gw.gateway.reload(config(upstream.url, version))
    const common = await gw.request({ path: '/common/check' })
    const mine = await gw.request({ path: `/only-${version.toLowerCase()}` })
    const other = await gw.request({ path: `/only-${version === 'A' ? 'b' : 'a'}` })
    if (common.headers['x-stamp'] !== version)
      checks.push(`reload ${i}: x-stamp ${common.headers['x-stamp']}`)
    if (mine.status !== 200) checks.push(`reload ${i}: its own route answered ${mine.status}`)
    if (other.status !== 404 || other.json().code !== 'GH_ROUTE_NOT_FOUND')
      checks.push(`reload ${i}: the removed route answered ${other.status}`)
    await sleep(10)
  }
  done = true
  await Promise.all(workers)

  t.same(failures, [], 'no request failed or was dropped')
  t.ok(completed >= 20, `the load ran through the reloads (${completed} requests)`)
  t.same(checks, [], 'every reload took effect for the next request')
  t.equal(events.count('init:constant'), 1, 'the unchanged instance was initialised once')
  t.equal(events.count('close:constant'), 0, 'and never closed by a reload')
  t.equal(events.count('init:stamp'), 21, 'a changed instance is initialised per reload')
  t.ok(await eventually(() => events.count('close:stamp') === 20), 'every replaced instance was closed')
})

t.test('an invalid reload throws a ConfigError and the running config keeps serving', async (t) => {
  const events = recorder()
  const failing = definePlugin({
    name: 'failing',
    version: '1.0.0',
    priority: 1,
    init() {
      throw new Error('cannot connect to the store')
    },
  })
  const upstream = await startUpstream({ t })
  const gw = await startGateway({
    t,
    plugins: [...reloadPlugins(events), failing],
    config: config(upstream.url, 'A'),
  })
  const bad = config(upstream.url, 'B')
  bad.services![0]!.url = 'not a url'
  const err = await gw.gateway.reload(bad).then(
    () => undefined,
    (e: unknown) => e,
  )
  t.ok(err instanceof ConfigError, 'a ConfigError')
  t.match((err as ConfigError).issues, [{ pointer: '/services/0/url' }], 'naming the problem')
  const res = await gw.request({ path: '/only-a' })
  t.equal(res.status, 200, 'the old routes still serve')
  t.equal(res.headers['x-stamp'], 'A')
  t.equal((await gw.request({ path: '/only-b' })).status, 404)
  t.equal(events.count('init:stamp'), 1, 'no instance of the bad config was initialised')

  // A plugin whose init throws fails the reload; what the reload had built is closed again.
  const initFails = config(upstream.url, 'B')
  initFails.plugins!.push({ name: 'failing' })
  const initErr = await gw.gateway.reload(initFails).then(
    () => undefined,
    (e: unknown) => e,
  )
  t.ok(initErr instanceof ConfigError)
  t.match((initErr as ConfigError).issues, [
    { pointer: '/plugins/2', plugin: 'failing', message: /init failed: cannot connect to the store/ },
  ])
  t.same(
    events.list.filter((e) => !e.startsWith('log:')),
    ['init:stamp:A', 'init:constant:1', 'init:stamp:B', 'close:stamp:B'],
    'what the failed reload built was closed; nothing running was',
  )
  const after = await gw.request({ path: '/only-a' })
  t.equal(after.status, 200)
  t.equal(after.headers['x-stamp'], 'A', 'still the old config')
})

t.test(
  'in-flight requests finish on the old config; replaced instances close after they drain',
  async (t) => {
    const events = recorder()
    let arrived: () => void = () => {}
    const arrival = new Promise<void>((resolve) => (arrived = resolve))
    let release: () => void = () => {}
    const released = new Promise<void>((resolve) => (release = resolve))
    const upstream = await startUpstream({
      t,
      async handler(req, res) {
        if (req.url?.startsWith('/slow')) {
          arrived()
          // Bounded: the test releases it; 5 s is a safety net.
          await Promise.race([released, sleep(5_000, undefined, { ref: false })])
        }
        res.writeHead(200, { 'content-type': 'text/plain' }).end(`stamp ${req.headers['x-stamp']}`)
      },
    })
    const gw = await startGateway({ t, plugins: reloadPlugins(events), config: config(upstream.url, 'A') })
    const slow = gw.request({ path: '/common/slow' })
    await arrival
    await gw.gateway.reload(config(upstream.url, 'B'))

    const fresh = await gw.request({ path: '/common/fresh' })
    t.equal(fresh.headers['x-stamp'], 'B', 'a new request runs on the new config')
    t.equal(fresh.text, 'stamp B')
    await sleep(100)
    t.equal(events.count('close:stamp:A'), 0, 'the old instance is not closed while its request is in flight')

    release()
    const res = await slow
    t.equal(res.status, 200)
    t.equal(res.text, 'stamp A', 'the upstream got the old config’s header')
    t.equal(res.headers['x-stamp'], 'A', 'the old response handler ran')
    t.ok(await eventually(() => events.count('close:stamp:A') === 1), 'then the old instance is closed')
    const logAt = events.list.indexOf('log:stamp:A:/common/slow')
    const closeAt = events.list.indexOf('close:stamp:A')
    t.ok(logAt >= 0 && logAt < closeAt, 'close came after the in-flight request’s log handler')
    t.equal(events.count('close:stamp:B'), 0)
    t.equal(events.count('init:constant'), 1, 'the unchanged instance was reused')
    t.equal(res.headers['x-constant-instance'], '1')
    t.equal(fresh.headers['x-constant-instance'], '1', 'the same instance serves both configs')
  },
)

t.test('reloads are applied in call order, even when started together', async (t) => {
  const events = recorder()
  const upstream = await startUpstream({ t })
  const gw = await startGateway({ t, plugins: reloadPlugins(events), config: config(upstream.url, 'A') })
  await Promise.all([
    gw.gateway.reload(config(upstream.url, 'B')),
    gw.gateway.reload(config(upstream.url, 'A')),
    gw.gateway.reload(config(upstream.url, 'B')),
  ])
  const res = await gw.request({ path: '/only-b' })
  t.equal(res.status, 200)
  t.equal(res.headers['x-stamp'], 'B', 'the last reload called wins')
})
