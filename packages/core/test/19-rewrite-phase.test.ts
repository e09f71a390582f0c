import { definePlugin } from '@gatehousejs/sdk'
import { startGateway, startUpstream } from '@gatehousejs/sdk/testing'
import t from 'tap'

// A global rewrite handler runs before routing: what it changes (method, path, query, headers,
// even the Host) decides the route, and is what the upstream receives.
const rewriter = definePlugin({
  name: 'rewriter',
  version: '1.0.0',
  priority: 100_000,
  init() {
    return {
      rewrite(ctx) {
        if (ctx.request.headers['x-move'] !== 'yes') return
        // Replacing the whole headers object, not just mutating it, must work too.
        ctx.request.headers = { ...ctx.request.headers, host: 'b.example', 'x-added': 'by-rewrite' }
        delete ctx.request.headers['x-move']
        ctx.request.path = `/v2${ctx.request.path}`
        ctx.request.querystring = 'q=2'
        ctx.request.method = 'PUT'
      },
    }
  },
})

t.test('rewrite changes decide the route and reach the upstream', async (t) => {
  const a = await startUpstream({ t })
  const b = await startUpstream({ t })
  const gw = await startGateway({
    t,
    plugins: [rewriter],
    config: {
      services: [
        { name: 'a', url: a.url, routes: [{ hosts: ['a.example'], paths: ['/'] }] },
        { name: 'b', url: b.url, routes: [{ hosts: ['b.example'], paths: ['/v2'], methods: ['PUT'] }] },
      ],
      plugins: [{ name: 'rewriter' }],
    },
  })

  const plain = await gw.request({ path: '/items?q=1', headers: { host: 'a.example' } })
  t.equal(plain.status, 200, 'untouched requests route as they came')
  t.equal(a.last()?.url, '/items?q=1')

  const moved = await gw.request({ path: '/items?q=1', headers: { host: 'a.example', 'x-move': 'yes' } })
  t.equal(moved.status, 200, 'the rewritten Host, path and method select the other route')
  t.equal(a.requests.length, 1, 'service a got nothing more')
  const got = b.last()
  t.equal(got?.method, 'PUT')
  t.equal(got?.url, '/items?q=2', 'the new path (prefix stripped) and query')
  t.equal(got?.headers['x-added'], 'by-rewrite', 'headers from the replaced object are sent')
  t.notOk(got?.headers['x-move'], 'a header the handler deleted is not sent')
  t.equal(got?.headers['x-forwarded-host'], 'b.example', 'the forwarded host is the rewritten one')
})
