import { startGateway, startRedisSentinel, startUpstream } from '@gatehousejs/sdk/testing'
import { Redis } from 'ioredis'
import t from 'tap'
import rateLimit from '../src/index.js'
import { burst, routeConfig, statuses } from './fixtures/helpers.js'

// `redis: <name>` on a connection with `sentinels` + `name`, against a real Sentinel setup started
// here: a master, a replica and three sentinels. Two gateways share the counters through the master
// the sentinels name; when the master dies, the sentinels promote the replica and the gateways follow.

t.test('sentinel: two gateways share counters through the master; a failover is followed', async (t) => {
  const sentinel = await startRedisSentinel({ t, sentinels: 3 })
  const upstream = await startUpstream({ t })
  const connection = { sentinels: sentinel.sentinels, name: sentinel.name, commandTimeout: '5s' }
  const config = routeConfig(
    upstream.url,
    {
      limits: { hour: 10 },
      namespace: 'shared',
      limitBy: ['header'],
      header: 'x-client',
      redis: 'default',
      store: { onFailure: 'failClosed' },
    },
    connection,
  )
  const a = await startGateway({ t, plugins: [rateLimit], config })
  const b = await startGateway({ t, plugins: [rateLimit], config })
  const req = { path: '/api', headers: { 'x-client': 'before' } }
  const responses = [...(await burst(a, 8, req)), ...(await burst(b, 8, req))]
  t.same(statuses(responses), { 200: 10, 429: 6 }, 'exactly 10 through both gateways')

  const master = new Redis(sentinel.master.url)
  t.teardown(() => master.disconnect())
  t.equal((await master.keys('gatehouse:rl:*')).length, 1, 'the counter is on the master')
  master.disconnect()

  // Failover: the master dies; the sentinels promote the replica (down after 1 s, then an election).
  await sentinel.master.stop()
  let promoted = ''
  for (let i = 0; i < 300 && !promoted.endsWith(`:${sentinel.replica.port}`); i++) {
    promoted = await sentinel.currentMaster().catch(() => '')
    if (!promoted.endsWith(`:${sentinel.replica.port}`)) await new Promise((r) => setTimeout(r, 100))
  }
  t.equal(promoted, `127.0.0.1:${sentinel.replica.port}`, 'the sentinels promoted the replica')

  // Both gateways reconnect to the new master by themselves and share counting again (bounded: 30 s).
  const after = { path: '/api', headers: { 'x-client': 'after' } }
  const replica = new Redis(sentinel.replica.url)
  t.teardown(() => replica.disconnect())
  for (const gw of [a, b]) {
    let shared = false
    for (let i = 0; i < 300 && !shared; i++) {
      const res = await gw.request({ ...after, timeout: 8_000 })
      shared = res.status === 200 || res.status === 429
      if (!shared) await new Promise((r) => setTimeout(r, 100))
    }
    t.ok(shared, 'the gateway counts again after the failover')
  }
  const count = Number(await replica.get((await replica.keys('gatehouse:rl:*after*'))[0] ?? 'none'))
  t.equal(count, 2, 'both gateways counted on the promoted replica')
})
