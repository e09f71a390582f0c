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
import { Redis } from 'ioredis'

/** `--status [host:]port`: where the status listener listens (nothing secret: no token, any host). */
export interface StatusListen {
  host: string
  port: number
}

/**
 * Stores the operator marks as required (`--require-store redis://…`): `/status/ready` answers 503
 * while one of them does not answer a PING. One client per URL, reconnecting in the background; a
 * check never queues a command behind a dead connection.
 */
export function storeChecks(urls: readonly string[]): { checks: StoreCheck[]; close(): Promise<void> } {
  const clients: Redis[] = []
  const checks = urls.map((url): StoreCheck => {
    const client = new Redis(url, {
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      connectTimeout: 1000,
      retryStrategy: () => 1000,
    })
    let lastError = 'not connected'
    client.on('error', (err: Error) => {
      lastError = err.message
    })
    client.connect().catch(() => {})
    clients.push(client)
    const parsed = new URL(url)
    return {
      // Never the password: only where the store is.
      name: `${parsed.protocol.replace(':', '')} ${parsed.host}`,
      async check() {
        if (client.status !== 'ready') throw new Error(lastError)
        await client.ping()
      },
    }
  })
  return {
    checks,
    async close() {
      for (const c of clients) c.disconnect()
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
