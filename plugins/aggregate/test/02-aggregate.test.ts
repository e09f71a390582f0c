import type { GatewayConfig } from '@gatehousejs/core'
import { startGateway } from '@gatehousejs/sdk/testing'
import t from 'tap'
import { aggregate, aggregatePlugin } from '../src/index.js'
import { jsonService } from './helpers/services.js'

// Behaviour against real services: merging and shaping, partial and failed answers, sequential calls,
// and parallelism.

function gatewayConfig(services: Record<string, string>, config: Record<string, unknown>): GatewayConfig {
  return {
    services: [
      ...Object.entries(services).map(([name, url]) => ({ name, url })),
      // The aggregate answers itself: the BFF route's own upstream is never called.
      { name: 'bff', url: 'http://127.0.0.1:9', routes: [{ name: 'home', paths: ['/home/:id'] }] },
    ],
    plugins: [{ name: 'aggregate', route: 'home', config }],
  }
}

t.test('parallel calls merged into one object, shaped as configured', async (t) => {
  const users = await jsonService(t, {
    '/users/7': { data: { id: 7, name: 'Ada', email: 'ada@example.com', password: 'x', team: { id: 3 } } },
  })
  const posts = await jsonService(t, {
    '/posts': (url) => [
      { id: 1, title: `by ${url.searchParams.get('author')}`, draft: false },
      { id: 2, title: 'second', draft: true },
    ],
  })
  const stats = await jsonService(t, { '/stats': { views: 10, likes: 2, internal: true } })
  const gw = await startGateway({
    t,
    plugins: [aggregate],
    config: gatewayConfig(
      { users: users.url, posts: posts.url, stats: stats.url },
      {
        calls: [
          {
            name: 'user',
            service: 'users',
            path: '/users/$(params.id)',
            target: 'data',
            deny: ['password'],
            mapping: { 'team.id': 'teamId', email: 'contact' },
          },
          { name: 'posts', service: 'posts', path: '/posts?author=$(query.who)', allow: ['id', 'title'] },
          { name: 'stats', service: 'stats', path: '/stats', group: 'stats', allow: ['views', 'likes'] },
        ],
      },
    ),
  })
  const res = await gw.request({ path: '/home/7?who=a%20b' })
  t.equal(res.status, 200)
  t.equal(res.headers['gatehouse-completed'], 'true')
  t.match(res.headers['content-type'], /^application\/json/)
  t.same(res.json(), {
    id: 7,
    name: 'Ada',
    contact: 'ada@example.com',
    team: {},
    teamId: 3,
    collection: [
      { id: 1, title: 'by a b' },
      { id: 2, title: 'second' },
    ],
    stats: { views: 10, likes: 2 },
  })
  t.equal(posts.last()?.url, '/posts?author=a%20b', 'template values are percent-encoded')
})

t.test('a slow call past its timeout: 200, the rest, Gatehouse-Completed false and _errors', async (t) => {
  const fast = await jsonService(t, { '/a': { a: 1 } })
  const slow = await jsonService(t, { '/b': { b: 2 } }, { delay: 2_000 })
  const gw = await startGateway({
    t,
    plugins: [aggregate],
    config: gatewayConfig(
      { fast: fast.url, slow: slow.url },
      {
        calls: [
          { name: 'fast', service: 'fast', path: '/a' },
          { name: 'slow', service: 'slow', path: '/b', timeout: '150ms' },
        ],
      },
    ),
  })
  const res = await gw.request({ path: '/home/1' })
  t.equal(res.status, 200)
  t.equal(res.headers['gatehouse-completed'], 'false')
  t.equal(res.headers['cache-control'], 'no-store', 'a partial answer is not cached')
  t.same(res.json(), {
    a: 1,
    _errors: [{ call: 'slow', code: 'GH_AGGREGATE_CALL_TIMEOUT', message: 'no answer within 150 ms' }],
  })
})

t.test('the total budget bounds every call', async (t) => {
  const slow = await jsonService(t, { '/b': { b: 2 } }, { delay: 5_000 })
  const fast = await jsonService(t, { '/a': { a: 1 } })
  const gw = await startGateway({
    t,
    plugins: [aggregate],
    config: gatewayConfig(
      { fast: fast.url, slow: slow.url },
      {
        // Room for the fast call on a busy machine; the slow one takes five times as long.
        timeout: '1s',
        errorsKey: 'failed',
        calls: [
          { name: 'fast', service: 'fast', path: '/a' },
          { name: 'slow', service: 'slow', path: '/b' },
        ],
      },
    ),
  })
  const res = await gw.request({ path: '/home/1' })
  t.equal(res.status, 200)
  t.match(res.json(), { a: 1, failed: [{ call: 'slow', code: 'GH_AGGREGATE_CALL_TIMEOUT' }] })
})

t.test(
  'a failing call: partial; a required one failing, or all failing: 502 GH_AGGREGATE_FAILED',
  async (t) => {
    const ok = await jsonService(t, { '/a': { a: 1 } })
    const broken = await jsonService(t, { '/b': { code: 'OOPS', message: 'db down' } }, { status: 500 })
    const make = (required: boolean, both = false) =>
      startGateway({
        t,
        plugins: [aggregate],
        config: gatewayConfig(
          { ok: ok.url, broken: broken.url },
          {
            calls: [
              { name: 'a', service: both ? 'broken' : 'ok', path: both ? '/b' : '/a' },
              { name: 'b', service: 'broken', path: '/b', required },
            ],
          },
        ),
      })
    const partial = await (await make(false)).request({ path: '/home/1' })
    t.equal(partial.status, 200)
    t.same(partial.json(), {
      a: 1,
      _errors: [{ call: 'b', code: 'GH_AGGREGATE_CALL_FAILED', message: 'db down', status: 500 }],
    })

    const required = await (await make(true)).request({ path: '/home/1' })
    t.equal(required.status, 502)
    t.equal(required.headers['gatehouse-completed'], 'false')
    t.match(required.json(), {
      statusCode: 502,
      code: 'GH_AGGREGATE_FAILED',
      requestId: String,
      _errors: [{ call: 'b', status: 500 }],
    })

    const all = await (await make(false, true)).request({ path: '/home/1' })
    t.equal(all.status, 502)
    t.equal(all.json().code, 'GH_AGGREGATE_FAILED')
    t.equal(all.json()._errors.length, 2)
  },
)

t.test('a sequential call reads a field of an earlier response; a failed dependency skips it', async (t) => {
  const users = await jsonService(t, { '/users/7': { id: 7, teamId: 'red team' }, '/users/8': { id: 8 } })
  const teams = await jsonService(t, {
    '/teams/red team': (url) => ({ team: { name: 'Red', via: url.pathname } }),
    '/teams/': { team: { name: 'none' } },
  })
  const gw = await startGateway({
    t,
    plugins: [aggregate],
    config: gatewayConfig(
      { users: users.url, teams: teams.url },
      {
        calls: [
          { name: 'user', service: 'users', path: '/users/$(params.id)', group: 'user' },
          {
            name: 'team',
            service: 'teams',
            path: '/teams/$(calls.user.body.teamId)',
            target: 'team',
            group: 'team',
          },
          { name: 'audit', service: 'users', path: '/nowhere', required: false },
          { name: 'late', service: 'teams', path: '/teams/x', dependsOn: ['audit'] },
        ],
      },
    ),
  })
  const res = await gw.request({ path: '/home/7' })
  t.equal(res.status, 200)
  const body = res.json()
  t.same(body.user, { id: 7, teamId: 'red team' })
  t.same(body.team, { name: 'Red', via: '/teams/red%20team' })
  t.match(body._errors, [
    { call: 'audit', code: 'GH_AGGREGATE_CALL_FAILED', status: 404 },
    { call: 'late', code: 'GH_AGGREGATE_CALL_SKIPPED', message: /"audit"/ },
  ])
  t.equal(teams.requests.length, 1, 'the skipped call was never made')
})

t.test('independent calls run in parallel: all three are at their services at once', async (t) => {
  // Each service holds its answer until all three calls have arrived (or 3 s have passed): calls
  // made one after another would each answer alone, after the 3 s.
  let arrived = 0
  let allArrived!: () => void
  const together = new Promise<void>((resolve) => {
    allArrived = resolve
  })
  const seen: number[] = []
  const hold = async () => {
    if (++arrived === 3) allArrived()
    await Promise.race([together, new Promise((r) => setTimeout(r, 3_000))])
    seen.push(arrived)
  }
  const services: Record<string, string> = {}
  for (const name of ['a', 'b', 'c'])
    services[name] = (await jsonService(t, { '/x': { [name]: true } }, { delay: hold })).url
  const gw = await startGateway({
    t,
    plugins: [aggregate],
    config: gatewayConfig(services, {
      calls: ['a', 'b', 'c'].map((name) => ({ name, service: name, path: '/x' })),
    }),
  })
  const res = await gw.request({ path: '/home/1' })
  t.same(res.json(), { a: true, b: true, c: true })
  t.same(seen, [3, 3, 3], 'every call answered while the other two were in flight')
})

t.test('headers: credentials and correlation pass by default; others only as configured', async (t) => {
  const echo = await jsonService(t, { '/x': { ok: true } })
  const gw = await startGateway({
    t,
    plugins: [aggregate],
    config: gatewayConfig(
      { echo: echo.url },
      {
        calls: [
          { name: 'default', service: 'echo', path: '/x' },
          {
            name: 'custom',
            service: 'echo',
            path: '/x',
            method: 'POST',
            headers: ['x-tenant'],
            setHeaders: { 'x-client': 'mobile', 'x-for': 'user $(params.id)' },
            body: '{"id":"$(params.id)","q":"$(query.q)"}',
          },
        ],
      },
    ),
  })
  const res = await gw.request({
    path: '/home/9?q=%22hi%22',
    headers: {
      authorization: 'Bearer abc',
      cookie: 's=1',
      'x-tenant': 'acme',
      'content-type': 'text/plain',
      connection: 'keep-alive, x-tenant',
    },
  })
  t.equal(res.status, 200)
  const byMethod = (m: string) => echo.requests.find((r) => r.method === m)!
  const plain = byMethod('GET').headers
  t.equal(plain.authorization, 'Bearer abc')
  t.equal(plain.cookie, 's=1')
  t.equal(plain['x-request-id'], res.headers['x-request-id'], 'the caller’s request id, for correlation')
  t.equal(plain['x-tenant'], undefined)
  t.not(plain['content-type'], 'text/plain', 'the client’s body headers are not copied')
  const custom = byMethod('POST')
  t.equal(custom.headers.authorization, undefined, 'a call’s `headers` replaces the default list')
  t.equal(custom.headers['x-tenant'], 'acme')
  t.equal(custom.headers['x-client'], 'mobile')
  t.equal(custom.headers['x-for'], 'user 9')
  t.same(custom.json, { id: '9', q: '"hi"' }, 'body template values are JSON-escaped')
})

t.test('a merge function from code replaces the declarative merge', async (t) => {
  const a = await jsonService(t, { '/x': { n: 2 } })
  const b = await jsonService(t, { '/x': { n: 3 } })
  const plugin = aggregatePlugin({
    merges: {
      sum: (results, ctx) => ({
        total: (results.a!.body as { n: number }).n * (results.b!.body as { n: number }).n,
        id: ctx.request.params.id,
      }),
    },
  })
  const gw = await startGateway({
    t,
    plugins: [plugin],
    config: gatewayConfig(
      { a: a.url, b: b.url },
      {
        merge: 'sum',
        calls: [
          { name: 'a', service: 'a', path: '/x' },
          { name: 'b', service: 'b', path: '/x' },
        ],
      },
    ),
  })
  const res = await gw.request({ path: '/home/5' })
  t.same(res.json(), { total: 6, id: '5' })
})
