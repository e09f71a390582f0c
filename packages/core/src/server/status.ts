import { createHash } from 'node:crypto'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { stableJson } from '@gatehousejs/sdk/host'
import manifest from '../../package.json' with { type: 'json' }

/**
 * The status listener (as Kong's `status_listen`): a separate HTTP listener, off unless asked for, with
 * no authentication, read-only, and nothing secret in it, for load balancers and orchestrators:
 *
 * - `GET /status`: Gatehouse version, uptime, the configuration's generation and hash, requests served,
 *   and per worker process its state and the plugin versions it runs.
 * - `GET /status/ready`: 200 only when a configuration is applied, the proxy listens (and is not
 *   draining), and every store marked as required answers; 503 with the reasons otherwise.
 * - `GET /status/live`: 200 while the process answers at all.
 */
export interface StatusOptions {
  /** Default 0 (a free port; read it from `gateway.statusUrl`). */
  port?: number
  /** Default `127.0.0.1`; `0.0.0.0` or `::` for a load balancer on another machine. */
  host?: string
  /**
   * Stores that must be reachable for `/status/ready` to answer 200 (e.g. the Redis the rate limits
   * count in). Each `check` resolves when the store answers and throws (or times out) when it does not.
   */
  require?: readonly StoreCheck[]
  /** How long one store check may take before it counts as unreachable (ms). Default 1000. */
  checkTimeout?: number
  /** A fleet node's identity and applied snapshot (`gatehouse start --store`), shown under `fleet`. */
  fleet?: () => FleetStatus
}

/** What `/status` says about a fleet node: who it is and which published configuration it serves. */
export interface FleetStatus {
  /** The node id, as `gatehouse status` lists it. */
  node: string
  /** The snapshot applied here (version and hash as published), once there is one. */
  applied?: { version: number; hash: string }
  /** `in-sync`, `applying`, `failed` (the current snapshot cannot be applied here) or `stale`. */
  state: string
}

export interface StoreCheck {
  /** Named in `/status/ready` reasons, e.g. `redis 127.0.0.1:6379`. */
  readonly name: string
  check(): Promise<unknown>
}

/** One gateway process as `/status` shows it. */
export interface WorkerStatus {
  pid: number
  /** `starting` until the proxy listens; `draining` from SIGTERM (or close) on. */
  state: 'starting' | 'ready' | 'draining' | 'closed'
  /** Seconds since the gateway was created. */
  uptime: number
  config: ConfigStatus
  requests: { served: number }
  /** The plugin definitions the running configuration uses, with the version each process imported. */
  plugins: Array<{ name: string; version: string }>
}

export interface ConfigStatus {
  /** Counts configurations applied in this process: 1 at start, +1 per reload. */
  generation: number
  /** `sha256:<hex>` of the running configuration with its secrets redacted: equal files hash equal. */
  hash: string
}

export interface StatusBody {
  status: 'ready' | 'not ready'
  gatehouse: { version: string }
  /** Seconds since this process (the primary, under `--workers`) started serving status. */
  uptime: number
  /** The configuration of the first worker; each worker's own is under `workers`. */
  config: ConfigStatus | undefined
  requests: { served: number }
  workers: WorkerStatus[]
  /** Only on a fleet node. */
  fleet?: FleetStatus
}

export interface Readiness {
  ready: boolean
  /** Why not, one line each: `draining`, `not listening`, `store redis 127.0.0.1:6379 unreachable: …`. */
  reasons: string[]
}

/** What a status listener reports on: one gateway, or the primary's view of its workers. */
export interface StatusSource {
  status(): Promise<StatusBody> | StatusBody
  ready(): Promise<Readiness> | Readiness
}

export interface StatusServer {
  url: string
  server: http.Server
  close(): Promise<void>
}

/** This package's version, from its package.json (only `name` and `version` are bundled). */
export const GATEHOUSE_VERSION: string = manifest.version

/** `sha256:<hex>` of a JSON value with sorted keys, so key order in the file does not matter. */
export function configHash(value: unknown): string {
  return `sha256:${createHash('sha256').update(stableJson(value)).digest('hex')}`
}

/** Runs every required store's check, each bounded by `timeout`; resolves to the reasons it failed. */
export async function checkStores(stores: readonly StoreCheck[], timeout = 1000): Promise<string[]> {
  const results = await Promise.all(
    stores.map(async (store) => {
      let timer: NodeJS.Timeout | undefined
      try {
        await Promise.race([
          store.check(),
          new Promise((_, reject) => {
            timer = setTimeout(() => reject(new Error(`no answer in ${timeout} ms`)), timeout)
          }),
        ])
        return undefined
      } catch (err) {
        return `store ${store.name} unreachable: ${(err as Error).message}`
      } finally {
        clearTimeout(timer)
      }
    }),
  )
  return results.filter((r): r is string => r !== undefined)
}

/** The `/status` body over some worker processes (one, for a gateway without workers). */
export function statusBody(
  workers: WorkerStatus[],
  ready: boolean,
  uptime: number,
  fleet?: FleetStatus,
): StatusBody {
  let served = 0
  for (const w of workers) served += w.requests.served
  return {
    status: ready ? 'ready' : 'not ready',
    gatehouse: { version: GATEHOUSE_VERSION },
    uptime,
    config: workers[0]?.config,
    requests: { served },
    workers,
    ...(fleet === undefined ? {} : { fleet }),
  }
}

function send(res: http.ServerResponse, status: number, body: unknown, head: boolean): void {
  const text = JSON.stringify(body)
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
  })
  res.end(head ? undefined : text)
}

function problem(status: number, code: string, message: string) {
  return { statusCode: status, code, error: http.STATUS_CODES[status] ?? 'Error', message }
}

/** Starts a status listener over `source` (see {@link StatusOptions}). */
export async function startStatusServer(
  source: StatusSource,
  options: Pick<StatusOptions, 'port' | 'host'> = {},
): Promise<StatusServer> {
  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const method = req.method ?? 'GET'
    const path = (req.url ?? '/').split('?')[0]?.replace(/\/+$/, '') || '/'
    const known = path === '/status' || path === '/status/ready' || path === '/status/live'
    if (!known) {
      return send(res, 404, problem(404, 'GH_STATUS_NOT_FOUND', `No status endpoint at ${path}`), false)
    }
    if (method !== 'GET' && method !== 'HEAD') {
      res.setHeader('allow', 'GET, HEAD')
      return send(
        res,
        405,
        problem(405, 'GH_STATUS_METHOD_NOT_ALLOWED', 'The status listener is read-only: use GET'),
        false,
      )
    }
    const head = method === 'HEAD'
    if (path === '/status/live') return send(res, 200, { live: true }, head)
    if (path === '/status/ready') {
      const r = await source.ready()
      return send(res, r.ready ? 200 : 503, r, head)
    }
    return send(res, 200, await source.status(), head)
  }
  const server = http.createServer((req, res) => {
    handle(req, res).catch((err: Error) => {
      if (!res.headersSent) {
        send(res, 500, problem(500, 'GH_GATEWAY_INTERNAL', `status unavailable: ${err.message}`), false)
      } else res.destroy()
    })
  })
  // Probes come often and from few clients: idle connections do not hold a closing process open.
  server.keepAliveTimeout = 5_000
  const host = options.host ?? '127.0.0.1'
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject)
      resolve()
    })
  })
  const address = server.address() as AddressInfo
  const shown = address.family === 'IPv6' ? `[${address.address}]` : address.address
  return {
    url: `http://${shown}:${address.port}`,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      }),
  }
}
