/**
 * Fleet nodes with the admin API (`start --store … --admin`): twenty applies while a bounded, paced load
 * loop runs through three real node processes and one request per node is held in flight across each
 * swap (no request may fail, every node converges on each one),
 * then `GET /fleet` (the fleet table as JSON), a read-only `PUT /config`, and `GET /fleet` while Redis
 * is down. Every wait is bounded; nothing asserts timing (the latency figures are scripts/bench/fleet.mjs's).
 */
import { request, startRedis } from '@gatehousejs/sdk/testing'
import t from 'tap'
import { run as runCli, type Started, tempDir, writeFiles } from './helpers/cli.js'
import {
  fleetConfig,
  holdAcross,
  KEY,
  loadLoop,
  stampOf,
  startFleetNode,
  startHoldingUpstream,
  waitFor,
} from './helpers/fleet.js'
import { installPackage } from './helpers/plugins.js'

const run = (args: string[], options: Parameters<typeof runCli>[1] = {}) =>
  runCli(args, { timeout: 120_000, ...options })

const TOKEN = 'a-fleet-admin-token-of-some-length'
const APPLIES = 20
/** The upstream read timeout: the requests held across a swap wait for a whole apply (a bound, not a timing assertion). */
const HELD = '10m'

interface FleetBody {
  self: { node: string; applied?: { version: number; hash: string }; state: string }
  store: { where: string; reachable: boolean; error?: string }
  current: { version: number; hash: string } | null
  nodes:
    | { node: string; applied?: { version: number; hash: string }; effective: string; url?: string }[]
    | null
}

t.test('fleet nodes with the admin API', async (t) => {
  const redis = await startRedis({ t })
  const upstream = await startHoldingUpstream(t)
  const dir = tempDir(t, 'gatehouse-fleet-admin-')
  installPackage(dir, 'gatehouse-plugin-stamp', 'stamp')
  const env = { GATEHOUSE_CONFIG_KEY: KEY, GATEHOUSE_ADMIN_TOKEN: TOKEN }
  let n = 0
  async function apply(value: string) {
    const file = writeFiles(dir, {
      [`v${++n}.yaml`]: fleetConfig(upstream.url, value, { readTimeout: HELD }),
    })
    return run(['apply', file, '--store', redis.url], { cwd: dir, env })
  }
  const nodes: Record<string, Started> = {}
  for (const id of ['a', 'b', 'c']) {
    if (id === 'a') t.equal((await apply('v1')).code, 0, 'the first snapshot is published')
    nodes[id] = await startFleetNode(t, { store: redis.url, id, cacheRoot: dir, cwd: dir, env, admin: true })
  }
  const urls = Object.values(nodes).map((s) => s.url)
  async function allServe(value: string) {
    for (const [id, node] of Object.entries(nodes)) {
      await waitFor(`${id} to serve ${value}`, async () => (await stampOf(node.url)) === value)
    }
  }
  const auth = { authorization: `Bearer ${TOKEN}` }
  async function fleetOf(id: string): Promise<{ status: number; body: FleetBody & { code?: string } }> {
    const res = await request((nodes[id] as Started).admin as string, { path: '/fleet', headers: auth })
    return { status: res.status, body: res.json() }
  }
  for (const [id, node] of Object.entries(nodes)) t.ok(node.admin, `${id} prints its admin address`)
  await allServe('v1')

  await t.test(
    `${APPLIES} applies while traffic runs through three nodes: all converge, none fails`,
    async (t) => {
      const load = loadLoop(urls, { maxRequests: 100_000, maxMs: 1_200_000 })
      // Per apply, one request held in flight on each node across its swap: each must be answered
      // (by the version it started on), whatever the pace of the load.
      const crossed: string[][] = []
      try {
        for (let i = 2; i <= APPLIES + 1; i++) {
          const held = await holdAcross(upstream, urls)
          const r = await apply(`v${i}`)
          t.equal(r.code, 0, r.stderr)
          crossed.push(await held.releaseAsServed(`v${i}`))
        }
        await load.reached(`v${APPLIES + 1}`)
      } finally {
        await load.stop()
      }
      t.ok(load.count > 0, `${load.count} requests sent`)
      t.same(load.failures, [], 'no request failed')
      const versions = Array.from({ length: APPLIES + 1 }, (_, i) => `v${i + 1}`)
      t.same(
        crossed,
        versions.slice(0, -1).map((v) => urls.map(() => v)),
        'every request in flight across a swap was answered, on the version it started on',
      )
      t.same(
        urls.map((url) => [...(load.seen.get(url) ?? [])].sort()),
        urls.map(() => [...versions].sort()),
        'the load ran through every node on every version',
      )
    },
  )

  await t.test('GET /fleet shows every node, the current version and this node', async (t) => {
    const none = await request(nodes.a?.admin as string, { path: '/fleet' })
    t.equal(none.status, 401)
    t.equal(none.json().code, 'GH_ADMIN_UNAUTHORIZED', 'the admin token is required')
    const last = APPLIES + 1
    const { status, body } = await waitFor('every node in sync in GET /fleet', async () => {
      const f = await fleetOf('b')
      return f.body.nodes?.length === 3 && f.body.nodes.every((x) => x.effective === 'in-sync') && f
    })
    t.equal(status, 200)
    t.equal(body.self.node, 'b', 'self is the node asked')
    t.equal(body.self.applied?.version, last)
    t.equal(body.store.reachable, true)
    t.match(body.store.where, /^redis:\/\/127\.0\.0\.1:\d+$/)
    t.equal(body.current?.version, last)
    t.same(
      body.nodes?.map((x) => [x.node, x.applied?.version, x.effective]),
      [
        ['a', last, 'in-sync'],
        ['b', last, 'in-sync'],
        ['c', last, 'in-sync'],
      ],
    )
    t.same(
      body.nodes?.map((x) => x.url),
      urls,
      'each heartbeat says where its node serves',
    )
    // The same table as `gatehouse status --json`.
    const st = await run(['status', '--store', redis.url, '--json'], { cwd: dir })
    t.equal(st.code, 0, st.stderr)
    t.same(
      JSON.parse(st.stdout).nodes.map((x: { node: string; applied: { hash: string } }) => [
        x.node,
        x.applied.hash,
      ]),
      body.nodes?.map((x) => [x.node, x.applied?.hash]),
    )
  })

  await t.test('PUT /config is refused: the store manages the configuration', async (t) => {
    const res = await request(nodes.a?.admin as string, {
      method: 'PUT',
      path: '/config',
      headers: { ...auth, 'content-type': 'application/yaml' },
      body: fleetConfig(upstream.url, 'from-admin'),
    })
    t.equal(res.status, 409)
    t.equal(res.json().code, 'GH_ADMIN_CONFIG_MANAGED')
    t.match(
      res.json().message,
      /follows the fleet store redis:\/\/127\.0\.0\.1:\d+: change its configuration with gatehouse apply/,
    )
    t.equal(
      await stampOf(nodes.a?.url as string),
      `v${APPLIES + 1}`,
      'the node still serves the store version',
    )
    const config = await request(nodes.a?.admin as string, { path: '/config', headers: auth })
    t.equal(config.status, 200)
    t.equal(
      config.json().plugins[0].config.value,
      `v${APPLIES + 1}`,
      'GET /config shows the applied snapshot',
    )
  })

  await t.test(
    'Redis down: GET /fleet still answers with this node and says the store is unreachable',
    async (t) => {
      await redis.stop()
      const { status, body } = await waitFor('a to see the store down', async () => {
        const f = await fleetOf('a')
        return f.body.store.reachable === false && f
      })
      t.equal(status, 200)
      t.match(body.store.error, /GH_FLEET_STORE_UNREACHABLE|is unreachable/)
      t.equal(body.current, null)
      t.equal(body.nodes, null, 'no fleet table without the store')
      t.equal(body.self.applied?.version, APPLIES + 1, 'this node still serves its last version')
      t.equal(await stampOf(nodes.a?.url as string), `v${APPLIES + 1}`)
      await redis.start()
    },
  )
})

t.test('start --store refuses --workers with a clear error', async (t) => {
  const r = await run(['start', '--store', 'redis://127.0.0.1:1', '--workers', '2'], {
    env: { GATEHOUSE_CONFIG_KEY: KEY },
  })
  t.equal(r.code, 2)
  t.match(r.stderr, /--workers cannot be combined with --store/)
})
