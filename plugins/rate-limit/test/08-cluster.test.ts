import { startGateway, startRedisCluster, startUpstream } from '@gatehousejs/sdk/testing'
import { Redis } from 'ioredis'
import t from 'tap'
import rateLimit from '../src/index.js'
import { burst, routeConfig, statuses } from './fixtures/helpers.js'

// `redis: <name>` on a connection with `nodes`, against a real 3-master Redis Cluster started here
// (three redis-server processes joined with `redis-cli --cluster create`). The client speaks the
// cluster protocol, so the script's keys must share a slot, which the `{hash tag}` guarantees; two
// gateways on the same cluster share the counters exactly.

t.test('cluster: two gateways count exactly through a 3-master cluster, keys in one slot', async (t) => {
  const cluster = await startRedisCluster({ t, masters: 3 })
  const upstream = await startUpstream({ t })
  // failClosed and a long timeout: a slow reply on a loaded machine must show as a 503, never be
  // counted locally (which would hide a counting error).
  const connection = { nodes: cluster.nodes, commandTimeout: '5s' }
  const config = routeConfig(
    upstream.url,
    {
      limits: { hour: 10, day: 100 },
      namespace: 'shared',
      redis: 'default',
      store: { onFailure: 'failClosed' },
    },
    connection,
  )
  const a = await startGateway({ t, plugins: [rateLimit], config })
  const b = await startGateway({ t, plugins: [rateLimit], config })
  const responses = [...(await burst(a, 15)), ...(await burst(b, 15))]
  t.same(statuses(responses), { 200: 10, 429: 20 }, 'no 503: every call went to the cluster; 10 in all')
  t.equal(upstream.requests.length, 10)

  const masters = cluster.nodes.map((url) => new Redis(url))
  t.teardown(() => {
    for (const m of masters) m.disconnect()
  })
  const keys: string[] = []
  for (const m of masters) keys.push(...(await m.keys('gatehouse:rl:*')))
  t.equal(keys.length, 2, 'one key per window, across the masters')
  const slots = await Promise.all(keys.map((k) => masters[0]!.cluster('KEYSLOT', k)))
  t.equal(slots[0], slots[1], 'both windows of the key are in one hash slot')

  for (const m of masters) m.disconnect()
  await Promise.all(cluster.processes.map((p) => p.stop()))
  const down = await a.request({ path: '/api', timeout: 8_000 })
  t.equal(down.status, 503, 'the cluster gone: failClosed answers, without hanging')
  t.equal(down.json().code, 'GH_STORE_UNAVAILABLE')
})
