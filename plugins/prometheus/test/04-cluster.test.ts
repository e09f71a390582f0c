import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { fileURLToPath } from 'node:url'
import { request, startUpstream, withoutTapHook } from '@gatehousejs/sdk/testing'
import t from 'tap'
import { metricsOf } from './helpers/scrape.js'

// Under node:cluster (a primary and two workers sharing the port), a scrape of either worker, or of
// the primary, returns the requests of all workers.

const fixture = fileURLToPath(new URL('./fixtures/cluster-gateway.ts', import.meta.url))
const REQUESTS = 20

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

async function startCluster(upstreamUrl: string) {
  const child: ChildProcess = spawn(...withoutTapHook(process.execPath, [...process.execArgv, fixture]), {
    env: { ...process.env, UPSTREAM_URL: upstreamUrl },
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  let out = ''
  const info = await new Promise<{ url: string; primaryMetrics: string; workers: number[] }>(
    (resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`cluster did not start: ${out}`)), 60_000)
      child.stdout!.on('data', (chunk: Buffer) => {
        out += chunk
        const line = out.split('\n').find((l) => l.startsWith('{'))
        if (line) {
          clearTimeout(timer)
          resolve(JSON.parse(line))
        }
      })
      child.on('exit', (code) => reject(new Error(`cluster exited with ${code}: ${out}`)))
    },
  )
  return { child, ...info }
}

t.test('aggregated metrics across two workers, from any worker and from the primary', async (t) => {
  const upstream = await startUpstream({ t })
  const cluster = await startCluster(upstream.url)
  t.teardown(() => {
    if (alive(cluster.child.pid!)) process.kill(cluster.child.pid!, 'SIGKILL')
    for (const pid of cluster.workers) if (alive(pid)) process.kill(pid, 'SIGKILL')
  })
  t.equal(cluster.workers.length, 2)

  // New connections each time (the test kit uses no agent), so the primary spreads them round-robin.
  const served = new Set<string>()
  for (let i = 0; i < REQUESTS; i++) {
    const res = await request(cluster.url, { path: `/api/${i}` })
    t.equal(res.status, 200)
    served.add(String(res.headers['x-worker-pid']))
  }
  t.same([...served].sort(), cluster.workers.map(String).sort(), 'both workers served requests')
  t.equal(upstream.requests.length, REQUESTS)

  const name = 'gatehouse_http_requests_total'
  const scrapedBy = new Set<string>()
  let last = 0
  // log handlers run just after each response; allow them a moment, bounded.
  for (let i = 0; i < 40 && (scrapedBy.size < 2 || last !== REQUESTS); i++) {
    const res = await request(cluster.url, { path: '/metrics' })
    t.equal(res.status, 200)
    last = metricsOf(res.text).total(name, { route: 'api', status: '200' })
    if (last === REQUESTS) scrapedBy.add(String(res.headers['x-worker-pid']))
  }
  t.equal(last, REQUESTS, 'a scrape counts every worker’s requests')
  t.equal(scrapedBy.size, 2, 'each worker, when scraped, answers with the total')

  const primary = await fetch(cluster.primaryMetrics)
  const m = metricsOf(await primary.text())
  t.equal(m.total(name, { route: 'api', status: '200' }), REQUESTS, 'the primary’s own endpoint too')
  t.equal(m.family('gatehouse_request_duration_seconds')?.type, 'histogram')
  t.equal(m.total('gatehouse_request_duration_seconds', { route: 'api' }), REQUESTS, 'histograms summed')

  // Stopped by PID: the primary stops its workers, then exits.
  process.kill(cluster.child.pid!, 'SIGTERM')
  const [code] = await once(cluster.child, 'exit')
  t.equal(code, 0)
  t.notOk(cluster.workers.some(alive), 'no worker left running')
})
