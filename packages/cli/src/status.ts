import type { Worker } from 'node:cluster'
import {
  checkStores,
  type Readiness,
  type StatusBody,
  type StatusSource,
  type StoreCheck,
  statusBody,
  type WorkerStatus,
} from '@gatehousejs/core'
import type { RedisConnection } from '@gatehousejs/sdk/redis'
import { openStore, storeLabel } from './store-uri.js'

/** `--status [host:]port`: where the status listener listens (nothing secret: no token, any host). */
export interface StatusListen {
  host: string
  port: number
}

/**
 * Stores the operator marks as required (`--require-store`, any `--store` form: standalone, Sentinel,
 * Cluster): `/status/ready` answers 503 while one of them does not answer a PING. Each is a connection
 * of the SDK's shared Redis client, with its outage policy: reconnecting in the background, and a check
 * never queues a command behind a dead connection.
 */
export function storeChecks(stores: readonly string[]): { checks: StoreCheck[]; close(): Promise<void> } {
  const connections: RedisConnection[] = []
  const checks = stores.map((store, i): StoreCheck => {
    const { connection, lastError } = openStore(
      store,
      `require-store-${i}`,
      { connectTimeout: 1000, commandTimeout: 1000 },
      { purpose: 'a required store', whileDown: '/status/ready answers 503' },
    )
    connections.push(connection)
    return {
      // Never the password: only where the store is.
      name: storeLabel(store),
      async check() {
        if (!connection.available) throw new Error(lastError() ?? 'not connected')
        try {
          await connection.run((c) => c.ping())
        } catch (err) {
          const cause = (err as { cause?: unknown }).cause
          throw cause instanceof Error ? cause : err
        }
      },
    }
  })
  return {
    checks,
    async close() {
      await Promise.all(connections.map((c) => c.release()))
    },
  }
}

/** Messages for the status listener of a `--workers` primary. */
export type StatusMessage =
  | { type: 'status-query'; id: number }
  | { type: 'status-answer'; id: number; status: WorkerStatus }

/**
 * The primary's view for its status listener: it asks every worker over IPC (each answer bounded by
 * `timeout`) and adds what only it knows: whether it is stopping, and the required stores.
 */
export function primaryStatusSource(options: {
  workers: () => Iterable<Worker>
  stopping: () => boolean
  stores: readonly StoreCheck[]
  timeout?: number
}): StatusSource & { onMessage(worker: Worker, msg: StatusMessage): void } {
  const startedAt = performance.now()
  const timeout = options.timeout ?? 1000
  let nextId = 0
  const waiting = new Map<number, (status: WorkerStatus) => void>()

  function ask(worker: Worker): Promise<WorkerStatus | undefined> {
    if (!worker.isConnected()) return Promise.resolve(undefined)
    const id = ++nextId
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        waiting.delete(id)
        resolve(undefined)
      }, timeout)
      waiting.set(id, (status) => {
        clearTimeout(timer)
        waiting.delete(id)
        resolve(status)
      })
      try {
        worker.send({ type: 'status-query', id } satisfies StatusMessage)
      } catch {
        clearTimeout(timer)
        waiting.delete(id)
        resolve(undefined)
      }
    })
  }

  async function collect(): Promise<WorkerStatus[]> {
    const answers = await Promise.all([...options.workers()].map(ask))
    return answers.filter((a): a is WorkerStatus => a !== undefined).sort((a, b) => a.pid - b.pid)
  }

  function judge(workers: WorkerStatus[], storeReasons: string[]): Readiness {
    const reasons: string[] = []
    if (options.stopping()) reasons.push('draining: the gateway is shutting down')
    else if (!workers.some((w) => w.state === 'ready')) reasons.push('no worker is serving yet')
    reasons.push(...storeReasons)
    return { ready: reasons.length === 0, reasons }
  }

  return {
    async status(): Promise<StatusBody> {
      const [workers, storeReasons] = await Promise.all([collect(), checkStores(options.stores, timeout)])
      const uptime = Math.round((performance.now() - startedAt) / 100) / 10
      return statusBody(workers, judge(workers, storeReasons).ready, uptime)
    },
    async ready(): Promise<Readiness> {
      // Draining is known here: answer at once, without waiting for workers that are closing.
      if (options.stopping()) return judge([], [])
      const [workers, storeReasons] = await Promise.all([collect(), checkStores(options.stores, timeout)])
      return judge(workers, storeReasons)
    },
    onMessage(_worker, msg) {
      if (msg.type === 'status-answer') waiting.get(msg.id)?.(msg.status)
    },
  }
}
