import { startGateway, startUpstream } from '@gatehouse/sdk/testing'
import t from 'tap'

t.test('proxies a request to the route’s service', async (t) => {
  const upstream = await startUpstream({ t })
  const gw = await startGateway({
    t,
    config: { services: [{ name: 'echo', url: upstream.url, routes: [{ paths: ['/echo'] }] }] },
  })
  const res = await gw.request({ path: '/echo/hello?x=1' })
  t.equal(res.status, 200)
  t.equal(upstream.last()?.url, '/hello?x=1')
  t.match(res.headers['x-request-id'], /^[0-9a-f-]{36}$/)
})
