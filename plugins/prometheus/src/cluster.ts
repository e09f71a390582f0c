import cluster from 'node:cluster'
import { AggregatorRegistry, type Registry } from 'prom-client'

/**
 * Metrics under node:cluster (`--workers`). Every worker keeps its own counters; a scrape lands on
 * any one worker (they share the port). With `workers: "aggregate"`, that worker asks the primary,
 * which asks every worker for its metrics (prom-client's AggregatorRegistry: counters and histograms
 * summed) and sends the total back. The primary must call {@link setupClusterMetrics} once.
 */

const AGGREGATE_REQ = 'gatehouse:prometheus:aggregate-req'
const AGGREGATE_RES = 'gatehouse:prometheus:aggregate-res'

interface AggregateRequest {
  type: typeof AGGREGATE_REQ
  id: number
}
interface AggregateResponse {
  type: typeof AGGREGATE_RES
  id: number
  metrics?: string
  error?: string
}

/** The registries of this process's live instances, reported to the primary when it asks. */
const live = new Set<Registry>()
let workerListening = false
let nextId = 0
const pending = new Map<number, (res: AggregateResponse) => void>()

/** Adds an instance's registry to what this worker reports; returns the function that removes it. */
export function shareRegistry(registry: Registry): () => void {
  if (!cluster.isWorker) return noop
  if (!workerListening) {
    workerListening = true
    // Constructing one installs prom-client's worker listener that answers the primary's requests.
    new AggregatorRegistry()
    process.on('message', onWorkerMessage)
  }
  live.add(registry)
  AggregatorRegistry.setRegistries([...live])
  return () => {
    live.delete(registry)
    AggregatorRegistry.setRegistries([...live])
  }
}

function onWorkerMessage(message: unknown): void {
  const m = message as AggregateResponse
  if (m?.type !== AGGREGATE_RES) return
  pending.get(m.id)?.(m)
  pending.delete(m.id)
}

/** In a worker: the metrics of every worker, summed by the primary. Rejects after `timeout` ms. */
export function aggregatedMetrics(timeout: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const id = nextId++
    const timer = setTimeout(() => {
      pending.delete(id)
      reject(new Error('the primary did not answer (is setupClusterMetrics() running in it?)'))
    }, timeout)
    timer.unref()
    pending.set(id, (res) => {
      clearTimeout(timer)
      if (res.error !== undefined) reject(new Error(res.error))
      else resolve(res.metrics ?? '')
    })
    process.send?.({ type: AGGREGATE_REQ, id } satisfies AggregateRequest)
  })
}

export interface ClusterMetrics {
  /** Every worker's metrics, aggregated: for a scrape endpoint on the primary itself. */
  metrics(): Promise<string>
  readonly contentType: string
  /** Stops answering workers. */
  close(): void
}

/**
 * Call once in the cluster primary (before or after forking). Workers' scrapes are then answered
 * with the metrics of all workers; `metrics()` gives the same text to a server of your own.
 *
 * @example
 * if (cluster.isPrimary) {
 *   const metrics = setupClusterMetrics()
 *   for (let i = 0; i < 4; i++) cluster.fork()
 * }
 */
export function setupClusterMetrics(): ClusterMetrics {
  if (!cluster.isPrimary) throw new Error('setupClusterMetrics() must be called in the cluster primary')
  const aggregator = new AggregatorRegistry()
  function onMessage(worker: import('node:cluster').Worker, message: unknown): void {
    const m = message as AggregateRequest
    if (m?.type !== AGGREGATE_REQ) return
    aggregator.clusterMetrics().then(
      (metrics) => reply(worker, { type: AGGREGATE_RES, id: m.id, metrics }),
      (err: Error) => reply(worker, { type: AGGREGATE_RES, id: m.id, error: err.message }),
    )
  }
  cluster.on('message', onMessage)
  return {
    metrics: () => aggregator.clusterMetrics(),
    contentType: aggregator.contentType,
    close: () => {
      cluster.off('message', onMessage)
    },
  }
}

function reply(worker: import('node:cluster').Worker, res: AggregateResponse): void {
  if (worker.isConnected()) worker.send(res)
}

function noop(): void {}
