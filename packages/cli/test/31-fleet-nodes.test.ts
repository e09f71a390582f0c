/**
 * Fleet nodes (`gatehouse start --store`) against a real redis-server, each a real gateway process:
 * convergence under load, refused snapshots, a missing plugin, a Redis outage and restart, and a node
 * cut off by a TCP relay while the stream is trimmed. Every wait is bounded; nothing asserts timing.
 */
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { startRedis } from '@gatehousejs/sdk/testing'
import t from 'tap'
import { run as runCli, type Started, tempDir, writeFiles } from './helpers/cli.js'
import {
  fleetConfig,
  holdAcross,
  KEY,
  loadLoop,
  redisClient,
  stampOf,
  startFleetNode,
  startHoldingUpstream,
  startRelay,
  waitFor,
} from './helpers/fleet.js'
import { installPackage } from './helpers/plugins.js'

/** The CLI, with a bound that allows for a loaded machine (a bound, not a timing assertion). */
const run = (args: string[], options: Parameters<typeof runCli>[1] = {}) =>
  runCli(args, { timeout: 120_000, ...options })

const PREFIX = '{gatehouse:fleet}:'
/** The upstream read timeout: the requests held across a swap wait for a whole apply (a bound, not a timing assertion). */
const HELD = '10m'

interface NodeView {
  node: string
  applied?: { version: number; hash: string }
  state: string
  effective: string
  lastError?: string
}

t.test('a fleet of nodes follows the store', async (t) => {
  const redis = await startRedis({ t })
  const upstream = await startHoldingUpstream(t)
  const root = tempDir(t, 'gatehouse-fleet-')
  // Two installations: `full` has the stamp and extra plugins, `lean` only stamp.
  const full = join(root, 'full')
  const lean = join(root, 'lean')
  mkdirSync(full)
  mkdirSync(lean)
  for (const dir of [full, lean]) installPackage(dir, 'gatehouse-plugin-stamp', 'stamp')
  installPackage(full, 'gatehouse-plugin-extra', 'extra')
  const env = { GATEHOUSE_CONFIG_KEY: KEY }
  let n = 0
  async function apply(value: string, options: { extra?: boolean; store?: string } = {}) {
    const config = fleetConfig(upstream.url, value, { ...options, readTimeout: HELD })
    const file = writeFiles(full, { [`v${++n}.yaml`]: config })
    return run(['apply', file, '--store', options.store ?? redis.url], { cwd: full, env })
  }
  async function status(): Promise<{ current: { version: number } | null; nodes: NodeView[] }> {
    const r = await run(['status', '--store', redis.url, '--json'], { cwd: full })
    if (r.code !== 0) throw new Error(r.stderr)
    return JSON.parse(r.stdout)
  }
  const nodes: Record<string, Started> = {}
  async function startNode(id: string, cwd: string, store = redis.url) {
    nodes[id] = await startFleetNode(t, { store, id, cacheRoot: root, cwd, env })
    return nodes[id]
  }
  async function allServe(value: string, ids = Object.keys(nodes)) {
    for (const id of ids) {
      await waitFor(
        `${id} to serve ${value}`,
        async () => (await stampOf((nodes[id] as Started).url)) === value,
      )
    }
  }

  // A relay in front of Redis for the node that gets cut off (its own subtest uses it).
  const relay = await startRelay(redis.port)
  t.teardown(() => relay.close())

  const first = await apply('v1')
  t.equal(first.code, 0, first.stderr)
  await startNode('a', full)
  await startNode('b', full)
  await startNode('c', lean)
  await allServe('v1')

  await t.test('three nodes converge on every apply while traffic runs, and no request fails', async (t) => {
    const urls = Object.values(nodes).map((s) => s.url)
    const load = loadLoop(urls, { maxRequests: 60_000, maxMs: 900_000 })
    // Per apply, one request held in flight on each node across its swap: each must be answered (by
    // the version it started on), whatever the pace of the load.
    const crossed: string[][] = []
    for (const value of ['v2', 'v3', 'v4']) {
      const held = await holdAcross(upstream, urls)
      const r = await apply(value)
      t.equal(r.code, 0, r.stderr)
      crossed.push(await held.releaseAsServed(value))
    }
    await load.reached('v4')
    await load.stop()
    t.ok(load.count > 0, `${load.count} requests sent`)
    t.same(load.failures, [], 'no request failed')
    t.same(
      crossed,
      ['v1', 'v2', 'v3'].map((v) => urls.map(() => v)),
      'every request in flight across a swap was answered, on the version it started on',
    )
    t.same(
      urls.map((url) => [...(load.seen.get(url) ?? [])].sort()),
      urls.map(() => ['v1', 'v2', 'v3', 'v4']),
      'the load ran through every node on every version',
    )
    const s = await waitFor('every heartbeat in sync', async () => {
      const s = await status()
      return s.nodes.length === 3 && s.nodes.every((x) => x.effective === 'in-sync') && s
    })
    t.same(
      s.nodes.map((x) => [x.node, x.applied?.version]),
      [
        ['a', 4],
        ['b', 4],
        ['c', 4],
      ],
    )
    const table = await run(['status', '--store', redis.url], { cwd: full })
    t.match(table.stdout, /current v4 \([0-9a-f]{12}\), 3 nodes\nNODE +HOST +PID +GATEHOUSE +VERSION/)
    t.match(table.stdout, /\na +\S+ +\d+ +\S+ +v4 +[0-9a-f]{12} +in-sync/)
  })

  await t.test('a tampered or unsigned snapshot is refused by every node, which keep serving', async (t) => {
    const client = await redisClient(redis.url)
    t.teardown(() => client.disconnect())
    const good = JSON.parse((await client.get(`${PREFIX}snapshot:4`)) as string)
    async function plant(snapshot: Record<string, unknown>) {
      const version = await client.incr(`${PREFIX}version`)
      await client.set(`${PREFIX}snapshot:${version}`, JSON.stringify({ ...snapshot, version }))
      await client.set(`${PREFIX}current`, JSON.stringify({ version, hash: snapshot.hash }))
      return version
    }
    // The attacker changes the config (and its hash), keeping the signature.
    const tamperedConfig = JSON.parse(JSON.stringify(good.config).replace('"v4"', '"evil"'))
    const v5 = await plant({ ...good, config: tamperedConfig })
    let s = await waitFor('every node to refuse v5', async () => {
      const s = await status()
      return s.nodes.every((x) => x.state === 'failed' && x.lastError?.includes(`snapshot v${v5}`)) && s
    })
    for (const x of s.nodes)
      t.match(x.lastError, /has a wrong signature|does not match its hash/, `${x.node} says why`)
    for (const x of s.nodes) t.equal(x.applied?.version, 4, `${x.node} keeps v4`)
    await allServe('v4')

    const { signature: _s, ...unsigned } = good
    const v6 = await plant({ ...unsigned, config: tamperedConfig })
    s = await waitFor('every node to refuse v6', async () => {
      const s = await status()
      return (
        s.nodes.every(
          (x) => x.state === 'failed' && x.lastError?.includes(`snapshot v${v6} is not signed`),
        ) && s
      )
    })
    t.equal(s.nodes.length, 3)
    await allServe('v4')

    const r = await apply('v7')
    t.equal(r.code, 0, r.stderr)
    t.match(r.stdout, /published v7/, 'versions stay monotonic')
    await allServe('v7')
  })

  await t.test(
    'a snapshot needing a plugin one node lacks: it reports failed and keeps serving; rollback converges',
    async (t) => {
      const r = await apply('v8', { extra: true })
      t.equal(r.code, 0, r.stderr)
      await allServe('v8', ['a', 'b'])
      const s = await waitFor('c to fail', async () => {
        const s = await status()
        const c = s.nodes.find((x) => x.node === 'c')
        return c?.state === 'failed' && s
      })
      const c = s.nodes.find((x) => x.node === 'c') as NodeView
      t.match(
        c.lastError,
        /snapshot v8 refused: \/plugins\/1\/name \(plugin extra\): plugin "extra" is not installed/,
      )
      t.equal(c.applied?.version, 7, 'c keeps its last good version')
      t.equal(await stampOf((nodes.c as Started).url), 'v7', 'and serves it')

      const back = await run(['rollback', '7', '--store', redis.url], { cwd: full, env })
      t.equal(back.code, 0, back.stderr)
      await allServe('v7')
      const after = await waitFor('every node in sync on v9', async () => {
        const s = await status()
        return s.nodes.every((x) => x.effective === 'in-sync' && x.applied?.version === 9) && s
      })
      t.equal(after.current?.version, 9)
    },
  )

  await t.test(
    'Redis down: nodes keep serving, apply fails clearly, a restarted node boots from its cache; Redis back: they reconnect',
    async (t) => {
      await redis.stop()
      for (const [id, node] of Object.entries(nodes))
        t.equal(await stampOf(node.url), 'v7', `${id} still serves`)
      const r = await apply('v10')
      t.equal(r.code, 3)
      t.match(
        r.stderr,
        /GH_FLEET_STORE_UNREACHABLE: the configuration store redis:\/\/127\.0\.0\.1:\d+ is unreachable/,
      )
      const st = await run(['status', '--store', redis.url], { cwd: full })
      t.equal(st.code, 3)
      t.match(st.stderr, /GH_FLEET_STORE_UNREACHABLE/)

      await (nodes.a as Started).stop()
      const a = await startNode('a', full)
      // The log (stdout) and the "listening" line (stderr) are two pipes: either may arrive first.
      await waitFor('the boot-from-cache log line', () =>
        /fleet: booted from the cached snapshot/.test(a.output()),
      )
      t.match(a.output(), /fleet: booted from the cached snapshot/)
      t.equal(await stampOf(a.url), 'v7', 'the restarted node serves its cached snapshot')

      // Redis comes back empty (no persistence): nodes reconnect and heartbeat again.
      await redis.start()
      const s = await waitFor('three heartbeats again', async () => {
        const s = await status()
        return s.nodes.length === 3 && s
      })
      t.same(
        s.nodes.map((x) => x.applied?.version),
        [9, 9, 9],
      )
      const next = await apply('v10')
      t.equal(next.code, 0, next.stderr)
      t.match(next.stdout, /published v10/, 'the version counter restarts above what nodes serve')
      await allServe('v10')
    },
  )

  await t.test(
    'a node cut off while two versions are applied and the stream is trimmed catches up',
    async (t) => {
      await startNode('d', lean, relay.url)
      await allServe('v10', ['d'])
      relay.cut()
      t.equal((await apply('v11')).code, 0)
      t.equal((await apply('v12')).code, 0)
      await allServe('v12', ['a', 'b', 'c'])
      const client = await redisClient(redis.url)
      t.teardown(() => client.disconnect())
      await client.xtrim(`${PREFIX}events`, 'MAXLEN', 0)
      t.equal(await client.xlen(`${PREFIX}events`), 0, 'the stream lost every event')
      t.equal(await stampOf((nodes.d as Started).url), 'v10', 'd, cut off, still serves v10')
      relay.restore()
      await allServe('v12', ['d'])
      const s = await waitFor('d in sync', async () => {
        const s = await status()
        const d = s.nodes.find((x) => x.node === 'd')
        return d?.effective === 'in-sync' && d
      })
      t.equal(s.applied?.version, 12)
    },
  )

  await t.test(
    'Redis restarted without persistence after the last apply: nodes converge on the next one',
    async (t) => {
      await redis.stop()
      await redis.start()
      t.equal((await apply('v13')).code, 0)
      await allServe('v13')
    },
  )
})
