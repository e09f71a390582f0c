/**
 * Traffic mirroring: a share of a route's requests is copied, fire-and-forget, to another service.
 * The client's answer never depends on the mirror: these tests stop, slow down and break the mirror
 * and check that clients still get their answers, and count what the mirror received.
 */
import { once } from 'node:events'
import type http from 'node:http'
import { Readable } from 'node:stream'
import { setTimeout as sleep } from 'node:timers/promises'
import type { Gateway } from '@gatehousejs/core'
import type { GatewayConfig } from '@gatehousejs/sdk/config'
import { captureLogs, configIssues, startGateway, startUpstream } from '@gatehousejs/sdk/testing'
import t, { type Test } from 'tap'

/** Waits (bounded) until every copy the gateway started has been answered or has failed. */
async function settled(gw: Gateway): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if (gw.mirrors().every((m) => m.inflight === 0)) return
    await sleep(10)
  }
  throw new Error('mirror copies still in flight')
}

async function setup(t: Test, mirror: unknown[], extra: Partial<GatewayConfig> = {}) {
  const primary = await startUpstream({ t })
  const shadow = await startUpstream({ t })
  const config = {
    services: [
      { name: 'orders', url: `${primary.url}/v1`, mirror, routes: [{ paths: ['/orders'] }] },
      { name: 'orders-next', url: `${shadow.url}/next` },
    ],
    ...extra,
  } as GatewayConfig
  const gw = await startGateway<Gateway>({ t, config })
  return { primary, shadow, gw }
}

t.test('the mirror receives about the configured share, each copy marked as a shadow request', async (t) => {
  const { primary, shadow, gw } = await setup(t, [{ service: 'orders-next', percent: 25 }])
  const N = 300
  for (let i = 0; i < N; i++) t.equal((await gw.request({ path: `/orders/${i}?q=1` })).status, 200)
  await settled(gw.gateway)
  t.equal(primary.requests.length, N, 'every request reached the primary')
  const share = shadow.requests.length / N
  // Random per request: 25 % ± 8 points (over 3 standard deviations for N = 300).
  t.ok(share > 0.17 && share < 0.33, `mirrored share ${share}`)
  const [stats] = gw.gateway.mirrors()
  t.match(stats, { route: 'orders.0', service: 'orders-next', sent: shadow.requests.length, failed: 0 })
  t.match(shadow.last()?.url, /^\/next\/\d+\?q=1$/, "the mirror service's own base path and the query")
  t.equal(shadow.last()?.headers['x-gatehouse-mirror'], '1')
  t.notOk(primary.requests.some((r) => r.headers['x-gatehouse-mirror'] !== undefined))
})

t.test('bodies are copied (streamed or not) with the method and headers', async (t) => {
  const { primary, shadow, gw } = await setup(t, [{ service: 'orders-next' }])
  const res = await gw.request({
    method: 'POST',
    path: '/orders',
    headers: { 'content-type': 'application/json', 'x-tenant': 'acme' },
    body: { item: 'book', qty: 2 },
  })
  t.equal(res.status, 200)
  // A chunked body (no Content-Length) is teed while it streams to the primary.
  const chunked = await gw.request({
    method: 'PUT',
    path: '/orders/7',
    body: Readable.from([Buffer.from('part one, '), Buffer.from('part two')]),
  })
  t.equal(chunked.status, 200)
  await settled(gw.gateway)
  t.equal(shadow.requests.length, 2)
  const [post, put] = shadow.requests
  t.match(post, { method: 'POST', url: '/next', json: { item: 'book', qty: 2 } })
  t.equal(post?.headers['x-tenant'], 'acme')
  t.equal(post?.headers['x-request-id'], res.headers['x-request-id'], 'the same request id as the primary')
  t.match(put, { method: 'PUT', url: '/next/7' })
  t.equal(put?.body.toString(), 'part one, part two')
  t.equal(primary.requests[1]?.body.toString(), 'part one, part two', 'the primary got the whole body')
})

t.test('only requests carrying the header (with the value) are copied', async (t) => {
  const { shadow, gw } = await setup(t, [{ service: 'orders-next', header: 'X-Shadow', value: 'yes' }])
  await gw.request({ path: '/orders/a', headers: { 'x-shadow': 'yes' } })
  await gw.request({ path: '/orders/b', headers: { 'x-shadow': 'no' } })
  await gw.request({ path: '/orders/c' })
  await settled(gw.gateway)
  t.same(
    shadow.requests.map((r) => r.url),
    ['/next/a'],
  )
})

t.test('a body over bodyLimit is not copied; the primary gets it whole', async (t) => {
  const { primary, shadow, gw } = await setup(t, [{ service: 'orders-next', bodyLimit: '1kb' }])
  const big = Buffer.alloc(4096, 'x')
  t.equal((await gw.request({ method: 'POST', path: '/orders', body: big })).status, 200)
  t.equal(
    (await gw.request({ method: 'POST', path: '/orders', body: Readable.from([big.subarray(0, 2048), big]) }))
      .status,
    200,
  )
  t.equal((await gw.request({ method: 'POST', path: '/orders', body: 'small' })).status, 200)
  await settled(gw.gateway)
  t.equal(primary.requests[0]?.body.length, 4096)
  t.equal(primary.requests[1]?.body.length, 6144)
  t.same(
    shadow.requests.map((r) => r.body.toString()),
    ['small'],
  )
  t.match(gw.gateway.mirrors()[0], { sent: 1, skipped: 2, failed: 0 })
})

t.test('a mirror that is down changes nothing for the client; failures are counted', async (t) => {
  const { primary, shadow, gw } = await setup(t, [{ service: 'orders-next' }])
  await shadow.close()
  for (let i = 0; i < 20; i++) {
    const res = await gw.request({ method: 'POST', path: `/orders/${i}`, body: { i } })
    t.equal(res.status, 200)
    t.equal(res.json<{ body: string }>().body, JSON.stringify({ i }), 'the primary answered')
  }
  await settled(gw.gateway)
  t.equal(primary.requests.length, 20)
  const [stats] = gw.gateway.mirrors()
  t.match(stats, { sent: 0, inflight: 0 })
  t.ok(stats!.failed >= 1, 'the failure is counted')
  // While it fails, one copy a second probes it; the rest are dropped without a connection attempt.
  t.equal(stats!.failed + stats!.dropped, 20)
})

t.test('a mirror that never answers does not hold the client; copies in flight are bounded', async (t) => {
  const held: http.ServerResponse[] = []
  const primary = await startUpstream({ t })
  const shadow = await startUpstream({ t, handler: (_req, res) => void held.push(res) })
  const gw = await startGateway<Gateway>({
    t,
    config: {
      services: [
        {
          name: 'orders',
          url: primary.url,
          mirror: [{ service: 'orders-next', maxInflight: 3, timeout: '30s' }],
          routes: [{ paths: ['/orders'] }],
        },
        { name: 'orders-next', url: shadow.url },
      ],
    },
  })
  // Registered after the gateway's, so it runs first (teardowns run last-in first-out): the gateway's
  // close waits for the copy still held at the end, up to the mirror's 30 s timeout.
  t.teardown(() => {
    for (const res of held) res.destroy()
  })
  for (let i = 0; i < 10; i++) t.equal((await gw.request({ path: `/orders/${i}` })).status, 200)
  t.equal(primary.requests.length, 10, 'every client got its answer from the primary')
  t.match(gw.gateway.mirrors()[0], { inflight: 3, dropped: 7, sent: 0 })
  // Answering the held copies frees the slots.
  for (const res of held.splice(0)) res.end('late')
  await settled(gw.gateway)
  t.match(gw.gateway.mirrors()[0], { inflight: 0, sent: 3 })
  t.equal((await gw.request({ path: '/orders/again' })).status, 200)
  for (let i = 0; i < 100 && held.length === 0; i++) await sleep(10)
  t.equal(held.length, 1, 'the next request is copied again')
})

t.test(
  'close() cuts a mirror copy still in flight once drainTimeout has passed, not at the mirror timeout',
  { timeout: 20_000 },
  async (t) => {
    const held: http.ServerResponse[] = []
    const primary = await startUpstream({ t })
    const shadow = await startUpstream({ t, handler: (_req, res) => void held.push(res) })
    t.teardown(() => {
      for (const res of held) res.destroy()
    })
    const gw = await startGateway<Gateway>({
      t,
      options: { drainTimeout: 300 },
      config: {
        services: [
          {
            name: 'orders',
            url: primary.url,
            // Longer than this test's own timeout: a close() that waited for it would fail the test.
            mirror: [{ service: 'orders-next', timeout: '60s' }],
            routes: [{ paths: ['/orders'] }],
          },
          { name: 'orders-next', url: shadow.url },
        ],
      },
    })
    t.equal((await gw.request({ path: '/orders/1' })).status, 200, 'the client has its answer')
    for (let i = 0; i < 100 && held.length === 0; i++) await sleep(10)
    t.equal(held.length, 1, 'the copy reached the mirror, which holds it')
    const cut = once(held[0]!.req.socket, 'close')
    await gw.gateway.close()
    await cut
    t.ok(held[0]!.req.socket.destroyed, "the gateway closed the mirror copy's connection")
    t.equal(held[0]!.writableEnded, false, 'the mirror never answered: the gateway did not wait for it')
  },
)

t.test('a slow mirror times out as a failure, never as a client error', async (t) => {
  const primary = await startUpstream({ t })
  const held: http.ServerResponse[] = []
  const shadow = await startUpstream({ t, handler: (_req, res) => void held.push(res) })
  t.teardown(() => {
    for (const res of held) res.destroy()
  })
  const gw = await startGateway<Gateway>({
    t,
    config: {
      services: [
        {
          name: 'orders',
          url: primary.url,
          mirror: [{ service: 'orders-next', timeout: '50ms' }],
          routes: [{ paths: ['/orders'] }],
        },
        { name: 'orders-next', url: shadow.url },
      ],
    },
  })
  t.equal((await gw.request({ path: '/orders' })).status, 200)
  await settled(gw.gateway)
  t.match(gw.gateway.mirrors()[0], { failed: 1, sent: 0 })
})

t.test("a route's mirror replaces its service's; requests answered by a plugin are not copied", async (t) => {
  const primary = await startUpstream({ t })
  const a = await startUpstream({ t })
  const b = await startUpstream({ t })
  const gw = await startGateway<Gateway>({
    t,
    config: {
      services: [
        {
          name: 'orders',
          url: primary.url,
          mirror: [{ service: 'a' }],
          routes: [
            { name: 'list', paths: ['/orders'] },
            { name: 'admin', paths: ['/admin'], mirror: [{ service: 'b' }] },
            { name: 'none', paths: ['/none'], mirror: [] },
          ],
        },
        { name: 'a', url: a.url },
        { name: 'b', url: b.url },
      ],
    },
  })
  await gw.request({ path: '/orders/1' })
  await gw.request({ path: '/admin/1' })
  await gw.request({ path: '/none/1' })
  await gw.request({ path: '/nowhere' })
  await settled(gw.gateway)
  t.same(
    a.requests.map((r) => r.url),
    ['/1'],
  )
  t.same(
    b.requests.map((r) => r.url),
    ['/1'],
  )
  t.same(
    gw.gateway
      .mirrors()
      .map((m) => `${m.route}→${m.service}`)
      .sort(),
    ['admin→b', 'list→a'],
  )
})

t.test('bad mirror rules are refused at load, by JSON pointer', async (t) => {
  const issues = await configIssues({
    config: {
      services: [
        {
          name: 'orders',
          url: 'http://127.0.0.1:1',
          mirror: [{ service: 'ghost' }, { service: 'orders' }, { service: 'other', value: 'x' }],
          routes: [{ paths: ['/a'] }, { paths: ['/b'], mirror: [{ service: 'other', percent: 101 }] }],
        },
        { name: 'other', url: 'http://127.0.0.1:1' },
      ],
    },
  })
  t.match(issues, [{ pointer: '/services/0/routes/1/mirror/0/percent' }])
  const semantic = await configIssues({
    config: {
      services: [
        {
          name: 'orders',
          url: 'http://127.0.0.1:1',
          mirror: [{ service: 'ghost' }, { service: 'orders' }, { service: 'other', value: 'x' }],
          routes: [{ paths: ['/a'] }, { paths: ['/b'] }],
        },
        { name: 'other', url: 'http://127.0.0.1:1' },
      ],
    },
  })
  t.same(
    semantic.map((i) => `${i.pointer}: ${i.message}`),
    [
      '/services/0/mirror/0/service: no service named "ghost"',
      '/services/0/mirror/1/service: a service cannot mirror to itself',
      '/services/0/mirror/2/value: "value" goes with "header"',
    ],
  )
})

t.test(
  'mirror failures are logged once per outage (warn), recovery at info; the client never sees them',
  async (t) => {
    const logs = captureLogs()
    let broken = true
    const primary = await startUpstream({ t })
    // A mirror that cuts every connection (a crashed backend), then recovers.
    const shadow = await startUpstream({
      t,
      handler: (req, res) => {
        if (broken) req.socket.destroy()
        else res.end('ok')
      },
    })
    const gw = await startGateway<Gateway>({
      t,
      logger: logs.logger,
      config: {
        services: [
          {
            name: 'orders',
            url: primary.url,
            mirror: [{ service: 'shadow' }],
            routes: [{ paths: ['/orders'] }],
          },
          { name: 'shadow', url: shadow.url },
        ],
      },
    })
    for (let i = 0; i < 5; i++) {
      const res = await gw.request({ path: `/orders/${i}` })
      t.equal(res.status, 200, 'the client gets the primary answer')
      t.notOk(res.headers['x-gatehouse-mirror'])
      await settled(gw.gateway)
    }
    const warnings = logs.withMsg(/mirror copy failed/).filter((l) => l.level === 'warn')
    t.equal(warnings.length, 1, 'one warning for the outage, not one per copy')
    t.ok(gw.gateway.mirrors()[0]!.failed >= 1)
    t.notOk(
      logs.lines.some((l) => l.level === 'error' || l.level === 'fatal'),
      'nothing logged as a failed request',
    )

    broken = false
    // While failing, one copy a second probes the mirror.
    await sleep(1_100)
    t.equal((await gw.request({ path: '/orders/back' })).status, 200)
    await settled(gw.gateway)
    t.equal(logs.withMsg(/mirror answers again/).filter((l) => l.level === 'info').length, 1)
    t.match(gw.gateway.mirrors()[0], { sent: 1 })
  },
)
