import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import net from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startGateway, startUpstream } from '@gatehousejs/sdk/testing'
import { Redis } from 'ioredis'
import t, { type Test } from 'tap'
import rateLimit from '../src/index.js'
import { burst, routeConfig, statuses } from './fixtures/helpers.js'

// `store.redis.cluster` against a real Redis Cluster: one redis-server in cluster mode that owns all
// 16384 slots (the smallest real cluster). The client speaks the cluster protocol (CLUSTER SLOTS,
// hash slots), so the script's keys must share a slot, which the `{hash tag}` guarantees.

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer()
    srv.on('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo
      srv.close(() => resolve(port))
    })
  })
}

async function startClusterNode(t: Test): Promise<{ url: string; kill: () => void }> {
  const port = await freePort()
  const dir = mkdtempSync(join(tmpdir(), 'gh-rl-cluster-'))
  const child: ChildProcess = spawn(
    process.env.REDIS_SERVER ?? 'redis-server',
    [
      ...['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      // A lone node does not know its own address until it meets another: announce it.
      ...['--cluster-enabled', 'yes', '--cluster-announce-ip', '127.0.0.1'],
    ],
    { cwd: dir, stdio: 'ignore' },
  )
  t.teardown(
    () =>
      new Promise<void>((resolve) => {
        const done = () => {
          rmSync(dir, { recursive: true, force: true })
          resolve()
        }
        if (child.exitCode !== null || child.signalCode !== null) return done()
        child.once('exit', done)
        if (child.pid) process.kill(child.pid, 'SIGKILL')
      }),
  )
  const admin = new Redis({ port, host: '127.0.0.1', retryStrategy: (n) => (n > 100 ? null : 50) })
  admin.on('error', () => {}) // refused until the server listens; the client retries
  t.teardown(() => admin.disconnect())
  await admin.call('CLUSTER', 'ADDSLOTSRANGE', '0', '16383')
  for (let i = 0; i < 100; i++) {
    const info = String(await admin.call('CLUSTER', 'INFO'))
    if (info.includes('cluster_state:ok')) {
      return { url: `redis://127.0.0.1:${port}`, kill: () => child.pid && process.kill(child.pid, 'SIGKILL') }
    }
    await new Promise((r) => setTimeout(r, 100))
  }
  throw new Error('the one-node cluster did not reach cluster_state:ok')
}

t.test('cluster store: exact counting across the cluster client, keys in one slot', async (t) => {
  const { url, kill } = await startClusterNode(t)
  const upstream = await startUpstream({ t })
  const gw = await startGateway({
    t,
    plugins: [rateLimit],
    config: routeConfig(upstream.url, {
      limits: { hour: 10, day: 100 },
      store: { type: 'redis', onFailure: 'failClosed', redis: { cluster: [url] } },
    }),
  })
  const responses = await burst(gw, 30)
  t.same(statuses(responses), { 200: 10, 429: 20 }, 'no 503: every call went to the cluster')
  t.equal(upstream.requests.length, 10)

  const inspect = new Redis(url)
  t.teardown(() => inspect.disconnect())
  const keys = await inspect.keys('gatehouse:rl:*')
  t.equal(keys.length, 2)
  const slots = await Promise.all(keys.map((k) => inspect.call('CLUSTER', 'KEYSLOT', k)))
  t.equal(slots[0], slots[1], 'both windows of the key are in one hash slot')

  inspect.disconnect()
  kill()
  const down = await gw.request({ path: '/api', timeout: 5_000 })
  t.equal(down.status, 503, 'the cluster gone: failClosed answers at once')
  t.equal(down.json().code, 'GH_RATE_LIMIT_STORE_DOWN')
})
