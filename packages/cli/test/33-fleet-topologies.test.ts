/**
 * The fleet on real multi-process Redis topologies started by the SDK test kit: a 3-master Cluster
 * (`redis-cluster://`) and a master, a replica and three sentinels (`redis-sentinel://`). On each,
 * `gatehouse apply` publishes, real `gatehouse start --store` nodes converge and serve the new version,
 * and `gatehouse status` lists them; on Sentinel the master is killed by its PID and the next apply
 * still converges on the promoted replica. Every process is stopped by PID at teardown; every wait is
 * bounded; nothing asserts timing.
 */
import { request, startRedisCluster, startRedisSentinel, startUpstream } from '@gatehousejs/sdk/testing'
import { Cluster } from 'ioredis'
import t, { type Test } from 'tap'
import { run as runCli, type Started, start, tempDir, writeFiles } from './helpers/cli.js'
import { fleetConfig, KEY, stampOf, startFleetNode, waitFor } from './helpers/fleet.js'
import { installPackage } from './helpers/plugins.js'

/** The CLI, with a bound that allows for a loaded machine (a bound, not a timing assertion). */
const run = (args: string[], options: Parameters<typeof runCli>[1] = {}) =>
  runCli(args, { timeout: 120_000, ...options })

const hosts = (urls: string[]) => urls.map((u) => new URL(u).host).join(',')

interface StatusView {
  store: string
  current: { version: number } | null
  nodes: { node: string; applied?: { version: number }; effective: string }[]
}

/** One fleet (an installation with the stamp plugin, two nodes) on the store `store`. */
async function fleetOn(t: Test, store: string) {
  const upstream = await startUpstream({ t })
  const dir = tempDir(t, 'gatehouse-fleet-topology-')
  installPackage(dir, 'gatehouse-plugin-stamp', 'stamp')
  const env = { GATEHOUSE_CONFIG_KEY: KEY }
  let n = 0
  const nodes: Record<string, Started> = {}
  return {
    nodes,
    /** A gateway from a file (no fleet) whose `/status/ready` requires the store (`--require-store`). */
    async requiring(): Promise<Started> {
      const file = writeFiles(dir, { 'plain.yaml': fleetConfig(upstream.url, 'plain') })
      const args = [file, '--port', '0', '--host', '127.0.0.1', '--status', '0', '--require-store', store]
      return start(t, args, { cwd: dir, timeout: 120_000 })
    },
    apply(value: string) {
      const file = writeFiles(dir, { [`v${++n}.yaml`]: fleetConfig(upstream.url, value) })
      return run(['apply', file, '--store', store], { cwd: dir, env })
    },
    cli: (args: string[]) => run([...args, '--store', store], { cwd: dir, env }),
    async status(): Promise<StatusView> {
      const r = await run(['status', '--store', store, '--json'], { cwd: dir })
      if (r.code !== 0) throw new Error(r.stderr)
      return JSON.parse(r.stdout)
    },
    async startNodes(...ids: string[]) {
      for (const id of ids) nodes[id] = await startFleetNode(t, { store, id, cacheRoot: dir, cwd: dir, env })
    },
    async allServe(value: string) {
      for (const [id, node] of Object.entries(nodes))
        await waitFor(`${id} to serve ${value}`, async () => (await stampOf(node.url)) === value, 90_000)
    },
  }
}

/** Waits until `status` lists `count` nodes, all in sync on `version`, and returns that view. */
async function inSync(fleet: Awaited<ReturnType<typeof fleetOn>>, count: number, version: number) {
  return waitFor(
    `${count} nodes in sync on v${version}`,
    async () => {
      const s = await fleet.status()
      return (
        s.nodes.length === count &&
        s.nodes.every((x) => x.effective === 'in-sync' && x.applied?.version === version) &&
        s
      )
    },
    90_000,
  )
}

/** v1 applied, nodes a and b started on it, v2 applied: both serve it and report it. */
async function twoApplies(t: Test, fleet: Awaited<ReturnType<typeof fleetOn>>) {
  const first = await fleet.apply('v1')
  t.equal(first.code, 0, first.stderr)
  await fleet.startNodes('a', 'b')
  await fleet.allServe('v1')
  const second = await fleet.apply('v2')
  t.equal(second.code, 0, second.stderr)
  await fleet.allServe('v2')
  return { first, view: await inSync(fleet, 2, 2) }
}

t.test(
  'a --store that is none of the forms exits 2 and lists them; --workers is refused on any form',
  async (t) => {
    const cases: [string[], RegExp][] = [
      [['status', '--store', 'memcached://127.0.0.1:1'], /is not a Redis store/],
      [['status', '--store', 'redis-sentinel://127.0.0.1:1,127.0.0.1:2'], /names no master/],
      [['history', '--store', 'redis://127.0.0.1:1,127.0.0.1:2'], /lists several hosts/],
      [['status', '--store', 'redis-cluster://127.0.0.1:1/3'], /Redis Cluster has only database 0/],
      [['status', '--store', 'redis-sentinel://127.0.0.1:1/m?db=2'], /unknown parameter "db"/],
    ]
    for (const [args, why] of cases) {
      const r = await run(args)
      t.equal(r.code, 2, args.join(' '))
      t.match(r.stderr, why)
      t.match(
        r.stderr,
        /redis-sentinel:\/\/\[user:password@\]host:port\[,host:port…\]\/<master>/,
        'the forms are listed',
      )
    }
    const leaked = await run(['status', '--store', 'redis-sentinel://u:hunter2-secret@127.0.0.1:1'])
    t.equal(leaked.code, 2)
    t.notMatch(leaked.stderr, /hunter2-secret/, 'never the password')
    for (const store of [
      'redis-cluster://127.0.0.1:1,127.0.0.1:2',
      'redis-sentinel://127.0.0.1:1/mymaster',
    ]) {
      const r = await run(['start', '--store', store, '--workers', '2'], {
        env: { GATEHOUSE_CONFIG_KEY: KEY },
      })
      t.equal(r.code, 2)
      t.match(r.stderr, /--workers cannot be combined with --store: a fleet node is one process/)
    }
  },
)

t.test('a Redis Cluster (3 masters) holds the fleet', async (t) => {
  const cluster = await startRedisCluster({ t, masters: 3 })
  const store = `redis-cluster://${hosts(cluster.nodes)}`
  const fleet = await fleetOn(t, store)

  const { first, view } = await twoApplies(t, fleet)
  t.match(first.stdout, /published v1 .* to redis-cluster:\/\/127\.0\.0\.1:\d+,/)
  t.same(
    view.nodes.map((x) => x.node),
    ['a', 'b'],
    'status lists both nodes (heartbeats found by a SCAN of every master)',
  )
  const table = await fleet.cli(['status'])
  t.equal(table.code, 0, table.stderr)
  t.match(table.stdout, /^redis-cluster:\/\/\S+: current v2 \([0-9a-f]{12}\), 2 nodes\n/)

  const history = await fleet.cli(['history', '--json'])
  t.same(
    JSON.parse(history.stdout).history.map((h: { version: number }) => h.version),
    [1, 2],
  )
  const back = await fleet.cli(['rollback', '1'])
  t.equal(back.code, 0, back.stderr)
  await fleet.allServe('v1')
  await inSync(fleet, 2, 3)

  // Every key of the configuration plane carries one hash tag, so they all live on one master.
  const client = new Cluster(cluster.nodes.map((u) => ({ host: '127.0.0.1', port: Number(new URL(u).port) })))
  t.teardown(() => client.disconnect())
  await new Promise((resolve) => client.once('ready', resolve))
  const perMaster = await Promise.all(
    client.nodes('master').map(async (m) => {
      const keys: string[] = []
      let cursor = '0'
      do {
        const [next, batch] = await m.scan(cursor, 'COUNT', 500)
        cursor = next
        keys.push(...batch)
      } while (cursor !== '0')
      return keys
    }),
  )
  const holding = perMaster.filter((keys) => keys.length > 0)
  t.equal(holding.length, 1, 'one master holds the fleet')
  t.ok(
    holding[0]?.every((k) => k.startsWith('{gatehouse:fleet}:')),
    `every key is tagged: ${holding[0]?.join(', ')}`,
  )
  t.ok(holding[0]?.includes('{gatehouse:fleet}:events'), 'the stream is there too')
})

t.test('Redis Sentinel holds the fleet, through a failover', async (t) => {
  const sentinel = await startRedisSentinel({ t, sentinels: 3 })
  const store = `redis-sentinel://${hosts(sentinel.sentinels)}/${sentinel.name}`
  const fleet = await fleetOn(t, store)

  const { view } = await twoApplies(t, fleet)
  t.same(
    view.nodes.map((x) => x.node),
    ['a', 'b'],
  )
  t.match(view.store, /^redis-sentinel:\/\/127\.0\.0\.1:\d+,127\.0\.0\.1:\d+,127\.0\.0\.1:\d+\/mymaster$/)
  const plain = await fleet.requiring()
  const ready = () => request(plain.status as string, { path: '/status/ready' })
  const before = await waitFor('ready with the Sentinel store', async () => {
    const r = await ready()
    return r.status === 200 && r
  })
  t.same(before.json(), { ready: true, reasons: [] }, '--require-store takes the Sentinel form')

  // The master dies (SIGKILL by its PID); the sentinels promote the replica.
  await sentinel.master.stop()
  await waitFor(
    'the sentinels to promote the replica',
    async () => (await sentinel.currentMaster()) === `127.0.0.1:${sentinel.replica.port}`,
    60_000,
  )
  for (const [id, node] of Object.entries(fleet.nodes))
    t.equal(await stampOf(node.url), 'v2', `${id} kept serving through the failover`)
  // The promoted replica may still be switching roles: an operator's retry, bounded.
  const third = await waitFor(
    'apply to succeed on the new master',
    async () => {
      const r = await fleet.apply('v3')
      return r.code === 0 && r
    },
    60_000,
  )
  // An attempt that failed mid-way may have taken a version number: versions only grow.
  const version = Number(/(?:published |unchanged: )v(\d+)/.exec(third.stdout)?.[1])
  t.ok(version >= 3, `published v${version}: the version counter survived the failover (replicated)`)
  await fleet.allServe('v3')
  const after = await inSync(fleet, 2, version)
  t.equal(after.current?.version, version)
  const again = await waitFor('ready again on the new master', async () => {
    const r = await ready()
    return r.status === 200 && r
  })
  t.equal(again.json().ready, true, 'the required store follows the failover')
})
