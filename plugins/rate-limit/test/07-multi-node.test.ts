import { type ChildProcess, spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import {
  request,
  startRedis,
  startUpstream,
  type TestResponse,
  withoutTapHook,
} from '@gatehousejs/sdk/testing'
import { Redis } from 'ioredis'
import t, { type Test } from 'tap'
import { awayFromBoundary, statuses } from './fixtures/helpers.js'

// Several gateway PROCESSES sharing one real Redis: the limit holds in total, each node falls back per
// its policy when Redis dies, and shared counting resumes when it returns.

const SCRIPT = fileURLToPath(new URL('./fixtures/gateway-process.ts', import.meta.url))
// The child runs TypeScript the way this test does: with every loader tap started us with (tap's
// TypeScript plugin, or tsx under `npm test`; withoutTapHook leaves out the coverage hook). Node 22.18+
// strips types itself but does not map `../src/index.js` to its `.ts` source: the loader must come too.
const LOADER = process.execArgv

interface Node {
  url: string
  pid: number
}

async function startNode(t: Test, env: Record<string, string>): Promise<Node> {
  const { NODE_OPTIONS: _ignored, ...parentEnv } = process.env
  const child: ChildProcess = spawn(...withoutTapHook(process.execPath, [...LOADER, SCRIPT]), {
    // Transpile only: the test run already type-checks these files; the child just needs to start.
    env: { ...parentEnv, TS_NODE_TRANSPILE_ONLY: '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const pid = child.pid as number
  t.teardown(
    () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve()
        child.once('exit', () => resolve())
        process.kill(pid, 'SIGTERM')
        setTimeout(() => child.exitCode === null && process.kill(pid, 'SIGKILL'), 5_000).unref()
      }),
  )
  let stderr = ''
  child.stderr?.on('data', (d) => {
    stderr += d
  })
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`gateway process did not start: ${stderr}`)), 60_000)
    let out = ''
    child.stdout?.on('data', (d) => {
      out += d
      const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out)
      if (m) {
        clearTimeout(timer)
        resolve(m[1]!)
      }
    })
    child.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`gateway process exited (${code}): ${stderr}`))
    })
  })
  return { url, pid }
}

/** `n` requests at once as client `id`, spread over the nodes in turn. */
function spread(nodes: readonly Node[], n: number, id: string): Promise<TestResponse[]> {
  return Promise.all(
    Array.from({ length: n }, (_, i) =>
      request(nodes[i % nodes.length]!.url, { path: '/api', headers: { 'x-client': id } }),
    ),
  )
}

async function cluster(t: Test, onFailure: string) {
  const redis = await startRedis({ t })
  const upstream = await startUpstream({ t })
  const env = { UPSTREAM_URL: upstream.url, REDIS_URL: redis.url, LIMIT: '10', ON_FAILURE: onFailure }
  const nodes = await Promise.all([startNode(t, env), startNode(t, env)])
  const inspect = new Redis(redis.url, { maxRetriesPerRequest: 0, retryStrategy: () => 100 })
  inspect.on('error', () => {})
  t.teardown(() => inspect.disconnect())
  return { redis, upstream, nodes, inspect }
}

/** After a restart: probes every node until each counts in Redis again (bounded: 10 s). */
async function untilShared(nodes: readonly Node[], inspect: Redis): Promise<void> {
  for (const [i, node] of nodes.entries()) {
    const id = `probe-${i}`
    let keys: string[] = []
    for (let n = 0; n < 100 && keys.length === 0; n++) {
      await request(node.url, { path: '/api', headers: { 'x-client': id } })
      keys = await inspect.keys(`*${id}*`).catch(() => [])
      if (keys.length === 0) await new Promise((r) => setTimeout(r, 100))
    }
    if (keys.length === 0) throw new Error(`node ${i} did not reconnect to redis`)
  }
}

t.test(
  'two processes, one Redis: exactly `limit` pass in total; down → each node alone; back → shared',
  async (t) => {
    const { redis, upstream, nodes, inspect } = await cluster(t, 'failOpen')
    await awayFromBoundary(3_600_000, 20_000)

    const shared = await spread(nodes, 40, 'alice')
    t.same(statuses(shared), { 200: 10, 429: 30 }, '40 requests over two nodes, limit 10: exactly 10 pass')
    t.equal(upstream.requests.length, 10)

    await redis.stop()
    const alone = await spread(nodes, 40, 'bob')
    t.same(
      statuses(alone),
      { 200: 20, 429: 20 },
      'fail open: each node enforces the limit on its own (10 each)',
    )

    await redis.start()
    await untilShared(nodes, inspect)
    const again = await spread(nodes, 40, 'carol')
    t.same(statuses(again), { 200: 10, 429: 30 }, 'shared counting is back: 10 in total')
  },
)

t.test('two processes with failClosed: Redis down → 503 GH_STORE_UNAVAILABLE on every node', async (t) => {
  const { redis, upstream, nodes, inspect } = await cluster(t, 'failClosed')
  await awayFromBoundary(3_600_000, 20_000)
  t.same(statuses(await spread(nodes, 20, 'dave')), { 200: 10, 429: 10 })

  await redis.stop()
  const before = upstream.requests.length
  const down = await spread(nodes, 10, 'erin')
  t.same(statuses(down), { 503: 10 })
  t.same(new Set(down.map((r) => r.json().code)), new Set(['GH_STORE_UNAVAILABLE']))
  t.equal(upstream.requests.length, before, 'nothing reached the upstream')

  await redis.start()
  await untilShared(nodes, inspect)
  t.same(statuses(await spread(nodes, 20, 'frank')), { 200: 10, 429: 10 })
})
