/**
 * Target health: passive checks open a target's circuit on consecutive failures, active probes and
 * half-open trials bring it back, and when no target is left the client gets a fast 503 with
 * Retry-After. State changes reach onHealthChange and gateway.upstreams().
 */
import { Writable } from 'node:stream'
import { setTimeout as sleep } from 'node:timers/promises'
import type { Gateway, HealthEvent } from '@gatehousejs/core'
import type { GatewayConfig } from '@gatehousejs/sdk/config'
import { startGateway } from '@gatehousejs/sdk/testing'
import { pino } from 'pino'
import t from 'tap'
import { eventually, startTargets, stateOf, type TestTarget, targetOf } from './helpers/targets.js'

/**
 * A target's probe count once it has held still for 100 ms (at most 2 s of trying): probes already
 * on their way when probing stopped have arrived by then. Probing that goes on every 40 ms never
 * holds still, and the caller's next check sees the count move.
 */
async function settledProbes(target: TestTarget): Promise<number> {
  let last = target.probes()
  for (let i = 0; i < 20; i++) {
    await sleep(100)
    const now = target.probes()
    if (now === last) return now
    last = now
  }
  return last
}

function service(targets: TestTarget[], extra: Record<string, unknown> = {}): GatewayConfig {
  return {
    services: [
      { name: 'api', targets: targets.map((x) => ({ url: x.url })), routes: [{ paths: ['/'] }], ...extra },
    ],
  }
}

function recordEvents(gateway: Gateway): HealthEvent[] {
  const events: HealthEvent[] = []
  gateway.onHealthChange((e) => events.push(e))
  return events
}

t.test('killing a target during a stream of GETs: no client-visible error', async (t) => {
  const targets = await startTargets(t, 3)
  const gw = await startGateway<Gateway>({ t, config: service(targets) })
  const events = recordEvents(gw.gateway)
  const statuses: number[] = []
  let done = 0
  async function loop(id: number) {
    for (let i = 0; i < 25; i++) {
      const res = await gw.request({ path: `/loop${id}/${i}` })
      statuses.push(res.status)
      if (++done === 30) await targets[1]!.kill()
    }
  }
  await Promise.all([loop(0), loop(1), loop(2), loop(3)])
  t.equal(statuses.length, 100)
  t.same(
    statuses.filter((s) => s !== 200),
    [],
    'every request answered 200 (in-flight ones retried on another target)',
  )
  t.equal(stateOf(gw.gateway, 'api', targets[1]!.url), 'unhealthy', 'the dead target is marked unhealthy')
  t.match(events, [
    {
      service: 'api',
      target: targets[1]!.url,
      from: 'healthy',
      to: 'unhealthy',
      reason: /ECONNREFUSED|consecutive/,
    },
  ])
  t.ok(targets[0]!.hits() + targets[2]!.hits() >= 70, 'the live targets took the traffic')
})

t.test('without retries: errors stop once the failure is detected', async (t) => {
  const targets = await startTargets(t, 2)
  const gw = await startGateway<Gateway>({ t, config: service(targets, { retries: { attempts: 0 } }) })
  await targets[0]!.kill()
  const statuses: number[] = []
  for (let i = 0; i < 30; i++) statuses.push((await gw.request({ path: `/r${i}` })).status)
  const errors = statuses.filter((s) => s !== 200)
  // Passive threshold 3: the dead target fails three requests, then gets none.
  t.equal(errors.length, 3, `errors before detection: ${errors.length}`)
  t.same(errors, [502, 502, 502])
  t.same(statuses.slice(6), Array(24).fill(200), 'after detection every request succeeds')
})

t.test('passive only: a recovered target comes back through a half-open trial', async (t) => {
  const targets = await startTargets(t, 2)
  const gw = await startGateway<Gateway>({
    t,
    // A cooldown well above the time the request loops take even on a loaded machine, so that no
    // trial starts in the middle of a loop and the sequence of events below is the only one possible.
    config: service(targets, { healthchecks: { passive: { failures: 2, cooldown: '1s' } } }),
  })
  const events = recordEvents(gw.gateway)
  await targets[0]!.kill()
  for (let i = 0; i < 6; i++) t.equal((await gw.request({ path: `/down${i}` })).status, 200)
  t.equal(stateOf(gw.gateway, 'api', targets[0]!.url), 'unhealthy')

  // Still down after the cooldown: the trial fails and the circuit opens again.
  await sleep(1050)
  for (let i = 0; i < 4; i++) t.equal((await gw.request({ path: `/still${i}` })).status, 200)
  t.equal(stateOf(gw.gateway, 'api', targets[0]!.url), 'unhealthy', 'a failed trial re-opens the circuit')

  await targets[0]!.revive()
  await sleep(1050)
  const before = targets[0]!.hits()
  for (let i = 0; i < 10; i++) t.equal((await gw.request({ path: `/up${i}` })).status, 200)
  t.ok(
    targets[0]!.hits() - before >= 4,
    `the recovered target takes traffic again (${targets[0]!.hits() - before})`,
  )
  t.equal(stateOf(gw.gateway, 'api', targets[0]!.url), 'healthy')
  t.same(
    events.map((e) => `${e.from}>${e.to}`),
    [
      'healthy>unhealthy',
      'unhealthy>half-open',
      'half-open>unhealthy',
      'unhealthy>half-open',
      'half-open>healthy',
    ],
  )
})

t.test('active probes take a failing target out and bring it back', async (t) => {
  const targets = await startTargets(t, 2)
  const lines: Array<Record<string, unknown>> = []
  const stream = new Writable({
    write(chunk, _enc, done) {
      lines.push(JSON.parse(String(chunk)))
      done()
    },
  })
  const gw = await startGateway<Gateway>({
    t,
    logger: pino({ level: 'info' }, stream) as never,
    config: service(targets, {
      healthchecks: {
        active: {
          path: '/health',
          interval: '50ms',
          timeout: '500ms',
          healthyThreshold: 2,
          unhealthyThreshold: 2,
        },
      },
    }),
  })
  const events = recordEvents(gw.gateway)
  targets[0]!.healthStatus = 503
  t.ok(
    await eventually(() => stateOf(gw.gateway, 'api', targets[0]!.url) === 'unhealthy'),
    'unhealthy by probes alone',
  )
  t.equal(targets[0]!.hits(), 0, 'no traffic was needed to find out')
  const seen = []
  for (let i = 0; i < 8; i++) seen.push(targetOf(await gw.request({ path: `/r${i}` })))
  t.same(seen, Array(8).fill(1), 'traffic avoids the unhealthy target')

  targets[0]!.healthStatus = 200
  t.ok(await eventually(() => stateOf(gw.gateway, 'api', targets[0]!.url) === 'healthy'), 'healthy again')
  const after = []
  for (let i = 0; i < 8; i++) after.push(targetOf(await gw.request({ path: `/s${i}` })))
  t.ok(after.includes(0), 'the recovered target gets traffic again')
  t.match(events, [
    {
      target: targets[0]!.url,
      from: 'healthy',
      to: 'unhealthy',
      reason: /failed probes \(last: status 503\)/,
    },
    { target: targets[0]!.url, from: 'unhealthy', to: 'healthy', reason: /2 successful probes/ },
  ])
  t.match(
    lines.filter((l) => String(l.msg).startsWith('upstream target')),
    [
      {
        level: 30,
        msg: 'upstream target unhealthy',
        service: 'api',
        target: targets[0]!.url,
        to: 'unhealthy',
      },
      { level: 30, msg: 'upstream target healthy', service: 'api', target: targets[0]!.url, to: 'healthy' },
    ],
    'state changes are logged at info',
  )
  const probe = targets[1]!.upstream.requests.find((r) => r.url === '/health')
  t.equal(probe?.method, 'GET')
  t.equal(probe?.headers['user-agent'], 'gatehouse-healthcheck')
})

t.test('all targets down: a fast 503 GH_UPSTREAM_UNAVAILABLE with Retry-After, nothing sent', async (t) => {
  const targets = await startTargets(t, 2)
  const gw = await startGateway<Gateway>({
    t,
    config: service(targets, {
      healthchecks: {
        active: { path: '/health', interval: '50ms', healthyThreshold: 1, unhealthyThreshold: 1 },
      },
    }),
  })
  for (const x of targets) x.healthStatus = 500
  t.ok(
    await eventually(() => gw.gateway.upstreams()[0]!.targets.every((x) => x.state === 'unhealthy')),
    'both unhealthy',
  )
  const res = await gw.request({ path: '/x' })
  t.equal(res.status, 503)
  t.equal(res.json().code, 'GH_UPSTREAM_UNAVAILABLE')
  t.equal(res.headers['retry-after'], '1', 'Retry-After: interval × healthyThreshold, in whole seconds')
  t.same(
    targets.map((x) => x.hits()),
    [0, 0],
    'no request was sent to an unhealthy target',
  )
})

t.test('passive only, all down: 503 with Retry-After until the cooldown ends', async (t) => {
  const targets = await startTargets(t, 2)
  const gw = await startGateway<Gateway>({
    t,
    config: service(targets, { healthchecks: { passive: { failures: 1, cooldown: '5s' } } }),
  })
  for (const x of targets) await x.kill()
  const began = Date.now()
  const first = await gw.request({ path: '/a' })
  t.equal(first.status, 502, 'the request that found both dead: the last upstream error')
  const res = await gw.request({ path: '/b' })
  // What is left of the 5 s cooldown, in whole seconds, by the time the test saw the answer.
  const left = Math.floor(5 - (Date.now() - began) / 1000)
  t.equal(res.status, 503)
  t.equal(res.json().code, 'GH_UPSTREAM_UNAVAILABLE')
  t.ok(
    Number(res.headers['retry-after']) >= Math.max(1, left) && Number(res.headers['retry-after']) <= 5,
    `Retry-After ${res.headers['retry-after']} (${left} to 5)`,
  )
})

t.test('health state survives an unchanged reload; probes stop on reload and close', async (t) => {
  const targets = await startTargets(t, 2)
  const active = { path: '/health', interval: '40ms', healthyThreshold: 1, unhealthyThreshold: 1 }
  const gw = await startGateway<Gateway>({ t, config: service(targets, { healthchecks: { active } }) })
  targets[0]!.healthStatus = 500
  t.ok(await eventually(() => stateOf(gw.gateway, 'api', targets[0]!.url) === 'unhealthy'))
  await gw.gateway.reload(service(targets, { healthchecks: { active }, routes: [{ paths: ['/v2'] }] }))
  t.equal(stateOf(gw.gateway, 'api', targets[0]!.url), 'unhealthy', 'same targets and checks: state kept')

  await gw.gateway.reload(service([targets[1]!], { healthchecks: { active } }))
  // A probe sent just before the reload may still be on its way: count once the count holds still.
  const removed = await settledProbes(targets[0]!)
  await sleep(300)
  t.equal(targets[0]!.probes(), removed, 'a removed target is no longer probed')

  t.ok(targets[1]!.probes() > 0)
  await gw.close()
  const kept = await settledProbes(targets[1]!)
  await sleep(300)
  t.equal(targets[1]!.probes(), kept, 'no probe after close')
})
