import { definePlugin } from '@gatehousejs/sdk'
import { startGateway, startUpstream, type TestLike } from '@gatehousejs/sdk/testing'
import t from 'tap'

/**
 * `ctx.readBody()`: a plugin reads the body of the requests it picks, in `access`; the route's other
 * requests still stream. The upstream gets the same bytes either way.
 */

interface Seen {
  path: string
  body: unknown
  rawBefore: number | undefined
  again: boolean
}

async function setup(t: TestLike) {
  const seen: Seen[] = []
  const plugin = definePlugin({
    name: 'picky-reader',
    version: '1.0.0',
    priority: 1_000,
    init: () => ({
      async access(ctx) {
        const rawBefore = ctx.request.rawBody?.length
        if (ctx.request.path !== '/app/hook') {
          seen.push({ path: ctx.request.path, body: ctx.request.body, rawBefore, again: false })
          return
        }
        const body = await ctx.readBody()
        // A second call reads nothing more and returns the same value.
        const again = (await ctx.readBody()) === body && ctx.request.body === body
        seen.push({ path: ctx.request.path, body, rawBefore, again })
        if ((body as Record<string, unknown> | undefined)?.stop === 'yes') ctx.respond(204)
      },
    }),
  })
  const upstream = await startUpstream({ t })
  const gw = await startGateway({
    t,
    plugins: [plugin],
    config: {
      limits: { requestBody: '1kb' },
      services: [
        {
          name: 'svc',
          url: upstream.url,
          routes: [{ name: 'app', paths: ['/app'], plugins: [{ name: 'picky-reader' }] }],
        },
      ],
    },
  })
  return { seen, upstream, gw }
}

t.test('readBody() parses a form for the picked request; the upstream gets the same bytes', async (t) => {
  const { seen, upstream, gw } = await setup(t)
  const form = 'a=1&b=two'
  const res = await gw.request({
    method: 'POST',
    path: '/app/hook',
    body: form,
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
  })
  t.equal(res.status, 200)
  t.same(seen, [{ path: '/app/hook', body: { a: '1', b: 'two' }, rawBefore: undefined, again: true }])
  t.equal(upstream.last()?.body.toString(), form)
  t.equal(upstream.last()?.headers['content-length'], String(form.length))

  const stop = await gw.request({
    method: 'POST',
    path: '/app/hook',
    body: 'stop=yes',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
  })
  t.equal(stop.status, 204, 'the plugin answered from the body')
})

t.test('the route’s other requests are not read: their body streams through', async (t) => {
  const { seen, upstream, gw } = await setup(t)
  const res = await gw.request({
    method: 'POST',
    path: '/app/other',
    body: '{"x":1}',
    headers: { 'content-type': 'application/json' },
  })
  t.equal(res.status, 200)
  t.same(seen, [{ path: '/app/other', body: undefined, rawBefore: undefined, again: false }])
  t.equal(upstream.last()?.body.toString(), '{"x":1}')
})

t.test('readBody() enforces limits.requestBody and resolves undefined without a body', async (t) => {
  const { seen, gw } = await setup(t)
  const big = await gw.request({
    method: 'POST',
    path: '/app/hook',
    body: `a=${'x'.repeat(2048)}`,
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
  })
  t.equal(big.status, 413)
  t.equal(JSON.parse(big.body.toString()).code, 'GH_REQUEST_BODY_TOO_LARGE')
  const none = await gw.request({ method: 'GET', path: '/app/hook' })
  t.equal(none.status, 200)
  t.same(seen.at(-1), { path: '/app/hook', body: undefined, rawBefore: undefined, again: true })
})
