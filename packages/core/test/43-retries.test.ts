/**
 * Retries: idempotent requests go again to another target; a POST never once it may have been sent,
 * but does when the connection was refused (nothing sent). The retry budget bounds the load during a
 * full outage; timeouts.total bounds the whole exchange.
 */
import type { Gateway } from '@gatehousejs/core'
import type { GatewayConfig } from '@gatehousejs/sdk/config'
import { startGateway, startUpstream } from '@gatehousejs/sdk/testing'
import t from 'tap'
import { startRawUpstream, unusedPort } from './helpers/http.js'
import { startTargets, targetOf } from './helpers/targets.js'

const noPassive = { passive: { enabled: false } }

function service(urls: string[], extra: Record<string, unknown> = {}): GatewayConfig {
  return {
    services: [{ name: 'api', targets: urls.map((url) => ({ url })), routes: [{ paths: ['/'] }], ...extra }],
  }
}

/** Two targets that read a request and reset the connection: the request may have been acted on. */
async function resettingTargets(t: Parameters<typeof startRawUpstream>[0]) {
  return Promise.all([0, 1].map(() => startRawUpstream(t, (socket) => socket.resetAndDestroy())))
}

t.test('a GET is retried on another target; a POST that was sent is not', async (t) => {
  const raws = await resettingTargets(t)
  const gw = await startGateway<Gateway>({
    t,
    config: service(
      raws.map((r) => r.url),
      { healthchecks: noPassive, retries: { attempts: 2, backoff: { initial: '1ms', max: '2ms' } } },
    ),
  })
  const post = await gw.request({ method: 'POST', path: '/orders', body: { item: 1 } })
  t.equal(post.status, 502)
  t.equal(post.json().code, 'GH_UPSTREAM_UNREACHABLE')
  t.equal(raws[0]!.heads.length + raws[1]!.heads.length, 1, 'the upstreams saw the POST once')

  const get = await gw.request({ path: '/orders' })
  t.equal(get.status, 502)
  t.equal(raws[0]!.heads.length + raws[1]!.heads.length, 4, 'the GET was tried 1 + 2 times')
  t.ok(raws[0]!.heads.length >= 1 && raws[1]!.heads.length >= 1, 'on both targets')
})

t.test('a POST refused at connect (nothing sent) is retried on another target, body intact', async (t) => {
  const dead = `http://127.0.0.1:${await unusedPort()}`
  const live = await startUpstream({ t })
  const gw = await startGateway<Gateway>({
    t,
    config: service([dead, live.url], { healthchecks: noPassive }),
  })
  for (let i = 0; i < 4; i++) {
    const res = await gw.request({ method: 'POST', path: `/orders/${i}`, body: { item: i } })
    t.equal(res.status, 200, `POST ${i} answered by the live target`)
  }
  t.equal(live.requests.length, 4, 'each POST reached the live target exactly once')
  t.same(
    live.requests.map((r) => r.json),
    [{ item: 0 }, { item: 1 }, { item: 2 }, { item: 3 }],
    'with its streamed body complete',
  )
})

t.test('the retry budget holds during a full outage', async (t) => {
  const raws = await resettingTargets(t)
  const gw = await startGateway<Gateway>({
    t,
    config: service(
      raws.map((r) => r.url),
      {
        healthchecks: noPassive,
        retries: {
          attempts: 3,
          backoff: { initial: '1ms', max: '2ms' },
          budget: { ratio: 0.1, minRetries: 3 },
        },
      },
    ),
  })
  const N = 60
  let failed = 0
  await Promise.all(
    [0, 1, 2, 3, 4, 5].map(async (loop) => {
      for (let i = 0; i < N / 6; i++)
        if ((await gw.request({ path: `/l${loop}/${i}` })).status === 502) failed++
    }),
  )
  t.equal(failed, N, 'every request failed (everything is down)')
  const attempts = raws[0]!.heads.length + raws[1]!.heads.length
  // Without a budget: N × (1 + 3) = 240. With it: N + 3 + 10 % of N.
  t.ok(attempts > N, `some retries were made (${attempts} attempts)`)
  t.ok(attempts <= N + 3 + N * 0.1, `${attempts} attempts ≤ ${N + 3 + N * 0.1}`)
})

t.test('read timeout: a GET goes to another target; a POST is not retried', async (t) => {
  // The read timeout also bounds the retry on the fast target (a new connection): 1 s leaves room
  // for a busy machine, and the slow target takes five times as long.
  const targets = await startTargets(t, 2, { delay: (i) => (i === 0 ? 5_000 : 0) })
  const config = service(
    targets.map((x) => x.url),
    { healthchecks: noPassive, timeouts: { read: '1s' } },
  )
  // Round-robin starts with the first (slow) target: one gateway per method.
  const forGet = await startGateway<Gateway>({ t, config })
  const get = await forGet.request({ path: '/slow' })
  t.equal(get.status, 200)
  t.equal(targetOf(get), 1, 'answered by the other target')
  t.same(
    targets.map((x) => x.hits()),
    [1, 1],
  )
  const forPost = await startGateway<Gateway>({ t, config })
  const post = await forPost.request({ method: 'POST', path: '/slow', body: 'x' })
  t.equal(post.status, 504)
  t.equal(post.json().code, 'GH_UPSTREAM_TIMEOUT')
  t.same(
    targets.map((x) => x.hits()),
    [2, 1],
    'the POST reached the slow target once and was not sent again',
  )
})

t.test('timeouts.total bounds the whole exchange, retries included', async (t) => {
  const targets = await startTargets(t, 2, { delay: () => 2_000 })
  const gw = await startGateway<Gateway>({
    t,
    config: service(
      targets.map((x) => x.url),
      { healthchecks: noPassive, timeouts: { read: '1s', total: '300ms' } },
    ),
  })
  const res = await gw.request({ path: '/x' })
  t.equal(res.status, 504)
  t.equal(res.json().code, 'GH_UPSTREAM_TIMEOUT')
  t.equal(targets[0]!.hits() + targets[1]!.hits(), 1, 'no retry once the total time is spent')
})

t.test('timeouts.total on a plain url service', async (t) => {
  const targets = await startTargets(t, 1, { delay: () => 2_000 })
  const gw = await startGateway<Gateway>({
    t,
    config: { services: [{ name: 'one', url: targets[0]!.url, timeouts: { total: '200ms' }, routes: [{}] }] },
  })
  const res = await gw.request({ path: '/x' })
  t.equal(res.status, 504)
  t.equal(res.json().code, 'GH_UPSTREAM_TIMEOUT')
})
