import type http from 'node:http'
import type tls from 'node:tls'
import { ConfigError, type PluginDefinition } from '@gatehousejs/sdk'
import type { GatewayConfig } from '@gatehousejs/sdk/config'
import type { Logger } from 'pino'
import { Generations, groupsOf } from './config/generation.js'
import { Loader } from './config/loader.js'
import { instanceSummaries, routeSummaries } from './config/summaries.js'
import { createLogger, type LoggerOption } from './logger.js'
import type { MirrorStats, PluginInstanceSummary, RouteSummary, Runtime } from './model.js'
import { createDispatch, type Inject } from './request/dispatch.js'
import { requestIdFor } from './request/forwarding.js'
import { handleRequest } from './request/lifecycle.js'
import { Certificates } from './server/certificates.js'
import { createApp } from './server/http.js'
import { Listener } from './server/listener.js'
import { Guard, serverLimits } from './server/protect.js'
import { ShutdownSignals } from './server/signals.js'
import {
  type Readiness,
  type StatusOptions,
  type StatusServer,
  startStatusServer,
  type WorkerStatus,
} from './server/status.js'
import { baseDirOf, loadTls, type TlsState, tlsForReload } from './server/tls.js'
import type { Tunnels } from './server/upgrade.js'
import { GatewayStatus } from './server/worker-status.js'
import type { HealthEvent, UpstreamSnapshot } from './upstream/health.js'
import { mirrorStats } from './upstream/mirror.js'
import { Pools } from './upstream/pools.js'

export interface GatewayOptions {
  /** Plugin definitions the configuration may name. */
  plugins?: PluginDefinition[]
  /** `false` silences logs; pino options or a pino logger otherwise. Default: info to stdout. */
  logger?: LoggerOption
  /** The file the configuration came from, named in config errors. */
  file?: string
  /** Largest request head in bytes; beyond it the client gets 431. Default 16 KiB. */
  maxHeaderSize?: number
  /*
   * The server limits below are defaults for the configuration's `server` section, which wins
   * (docs/reliability.md). Times in ms, 0 turns a limit off.
   */
  /** How long an idle client connection is kept open (ms). Default 72 s (above common LB idle timeouts). */
  keepAliveTimeout?: number
  /** Longest time to receive a whole request, body included (ms); 408 beyond it. Default 300 s. */
  requestTimeout?: number
  /** Longest time to receive the request head (ms); 408 beyond it (slowloris). Default 60 s. */
  headersTimeout?: number
  /** Requests per client connection; the last is answered with `Connection: close`. Default 0 (no limit). */
  maxRequestsPerConnection?: number
  /** Open client connections; requests on one beyond get 503 GH_GATEWAY_CONNECTION_LIMIT. Default 10000. */
  maxConnections?: number
  /** Requests in flight at once; beyond, 503 GH_GATEWAY_CONCURRENCY_LIMIT. Default 0 (no limit). */
  maxInflight?: number
  /** Event-loop lag (ms) beyond which new requests get 503 GH_GATEWAY_OVERLOADED. Default 0 (off). */
  maxEventLoopDelay?: number
  /** On close and reload, how long in-flight requests may take to finish (ms). Default 30 s. */
  drainTimeout?: number
  /** Close gracefully on SIGTERM/SIGINT once listening. Default true. */
  handleSignals?: boolean
  /**
   * On SIGTERM/SIGINT (and `shutdown()`), how long to keep serving after readiness turns 503, so a
   * load balancer stops sending new connections before the gateway stops accepting them (ms). Default 0.
   */
  drainDelay?: number
  /**
   * Once `close()` has stopped accepting, how long a request may still arrive on a keep-alive
   * connection opened before and be served (with `connection: close`). After it, idle connections are
   * closed and a request still arriving on an old connection gets 503 `GH_GATEWAY_CLOSING` (ms).
   * Bounded by `drainTimeout`. Default 2 s.
   */
  closeGrace?: number
  /**
   * Starts a status listener with the proxy (`/status`, `/status/ready`, `/status/live`): no
   * authentication, read-only, nothing secret. Off by default. See docs/operating.md.
   */
  status?: StatusOptions
}

export interface ListenOptions {
  port?: number
  /** Default `localhost`; use `0.0.0.0` or `::` to serve other machines. */
  host?: string
  /**
   * Log the "gateway listening" line at info (default), or at debug when a caller prints its own (the
   * CLI prints one line with the admin and status addresses too).
   */
  log?: boolean
}

export interface ReloadOptions {
  /** The file the configuration came from, named in config errors. */
  file?: string
  /** Plugin definitions to add to (or replace in) the registry, e.g. a package the new file names. */
  plugins?: PluginDefinition[]
}

export interface Gateway {
  /** Starts serving; resolves to the address, e.g. `http://127.0.0.1:8080`. */
  listen(options?: ListenOptions): Promise<string>
  /**
   * Validates and builds `config` off to the side, then swaps it in atomically. In-flight requests
   * finish on the old configuration; replaced plugin instances get `close` once they drain. An invalid
   * configuration throws a ConfigError and the running one stays.
   */
  reload(config: GatewayConfig, options?: ReloadOptions): Promise<void>
  /**
   * Reads the TLS certificates of the running configuration again (their files may have been
   * renewed) and serves new handshakes with them. A file that cannot be read or a key that does not
   * match throws a ConfigError and the certificates in use stay.
   */
  reloadCertificates(): Promise<void>
  /** Stops accepting, lets in-flight requests finish, closes plugins and upstream pools. */
  close(): Promise<void>
  /**
   * What SIGTERM does: readiness turns 503 at once, the gateway keeps serving for `drainDelay`, then
   * `close()` (stop accepting, drain). Calling it again returns the same promise.
   */
  shutdown(): Promise<void>
  /** This process's state for the status listener: version-free, nothing secret. */
  status(): WorkerStatus
  /** 200-or-503 material: ready only when listening, not draining, and every required store answers. */
  readiness(): Promise<Readiness>
  /** The status listener's address, when the `status` option started one. */
  readonly statusUrl: string | undefined
  /** The running configuration, validated and with defaults filled in. */
  readonly config: GatewayConfig
  /** The route table in declaration order, with each route's compiled plugin chain. */
  routes(): RouteSummary[]
  /** The running plugin instances: id, plugin, scope, and the admin endpoints each offers. */
  plugins(): PluginInstanceSummary[]
  /**
   * Balanced services (those with `targets`, health checks, retries or a total timeout) and the
   * health of each target, now. Cheap enough to poll (docs/upstreams.md).
   */
  upstreams(): UpstreamSnapshot[]
  /**
   * Each traffic mirroring rule of the running configuration and its counters (copies sent, failed,
   * skipped for their body size, dropped for too many in flight) since that configuration was loaded.
   */
  mirrors(): MirrorStats[]
  /** Calls `listener` on every target state change; returns the function that unsubscribes. */
  onHealthChange(listener: (event: HealthEvent) => void): () => void
  /** The Node server: `http.Server`, `https.Server` with `tls`, `http2.Http2SecureServer` with `http2`. */
  readonly server: http.Server
  readonly logger: Logger
  /** The address once listening. */
  readonly url: string | undefined
}

/**
 * Creates a gateway from a configuration. Validates it (throwing a ConfigError that names every
 * problem by JSON pointer) and initialises its plugins; call `listen()` to serve.
 *
 * @example
 * const gateway = await createGateway({
 *   services: [{ name: 'users', url: 'http://127.0.0.1:3001', routes: [{ paths: ['/users'] }] }],
 * })
 * await gateway.listen({ port: 8080 })
 */
export async function createGateway(config: GatewayConfig, options: GatewayOptions = {}): Promise<Gateway> {
  const logger = createLogger(options.logger)
  // Plugins read target health through env.upstreams (a metrics plugin at scrape time), and call
  // through the gateway itself through env.dispatch (aggregation): both exist by the time one is called.
  let inject: Inject | undefined
  const loader = new Loader(options.plugins, {
    logger,
    upstreams: () => gateway.upstreams(),
    dispatch: createDispatch(() => inject),
  })
  // Certificates are read before anything else is built: a bad one fails the load with its pointer.
  const tlsState: TlsState | undefined =
    config.tls === undefined ? undefined : { current: loadTls(config.tls, baseDirOf(options.file)) }
  if (config.http2 === true && tlsState === undefined) {
    throw new ConfigError([
      { pointer: '/http2', message: 'HTTP/2 is served over TLS only (ALPN): configure `tls` too' },
    ])
  }
  const http2Enabled = config.http2 === true
  const tunnels: Tunnels = new Set()
  const first = await loader.load(config, options.file, undefined)
  const pools = new Pools(logger)
  const guard = new Guard(serverLimits(first.config.server, options), logger)
  const rt: Runtime = { current: first, pools, closing: false, refusing: false, logger, guard }
  const status = new GatewayStatus(() => rt.current, options.status)
  const drainTimeout = options.drainTimeout ?? 30_000
  const generations = new Generations(rt, drainTimeout, logger)

  const app = createApp({
    rt,
    logger,
    tlsState,
    http2: http2Enabled,
    maxHeaderSize: options.maxHeaderSize ?? 16 * 1024,
    tunnels,
    onRequest: () => {
      status.served++
    },
  })
  await app.ready()
  // A dispatched call enters the lifecycle directly (request/dispatch.ts collects its answer), with its
  // caller's request id or, like a client request, one of its own.
  inject = (raw, res, requestId, send) => {
    const gen = rt.current
    const id = requestId ?? requestIdFor(raw, gen.requestId.header, gen.requestId.trustIncoming, gen.trust)
    return handleRequest(rt, { raw, res, requestId: id, reply: res, sender: send })
  }

  const listener = new Listener(app, rt, {
    tls: tlsState !== undefined,
    http2: http2Enabled,
    tunnels,
    drainTimeout,
    closeGrace: Math.min(options.closeGrace ?? 2_000, drainTimeout),
  })
  const certificates =
    tlsState &&
    new Certificates(app.server as unknown as tls.Server, tlsState, logger, () => ({
      tls: rt.current.config.tls,
      file: rt.current.file,
    }))
  let url: string | undefined
  let closing: Promise<void> | undefined
  let shuttingDown: Promise<void> | undefined
  let statusServer: StatusServer | undefined
  const drainDelay = options.drainDelay ?? 0
  const signals = new ShutdownSignals(() => gateway.shutdown(), logger, drainDelay)

  const gateway: Gateway = {
    async listen(opts = {}) {
      const address = await listener.listen(opts.port ?? 0, opts.host ?? 'localhost')
      if (options.status !== undefined) {
        try {
          statusServer = await startStatusServer(status.source(), options.status)
        } catch (err) {
          await app.close()
          throw err
        }
      }
      url = address
      status.listening()
      guard.start()
      if (options.handleSignals !== false) signals.add()
      logger[opts.log === false ? 'debug' : 'info'](
        { address, status: statusServer?.url, routes: rt.current.routes.length },
        'gateway listening',
      )
      return address
    },
    shutdown() {
      if (shuttingDown) return shuttingDown
      status.draining()
      shuttingDown = (async () => {
        if (drainDelay > 0 && url !== undefined && !rt.closing) {
          logger.info({ drainDelay }, 'draining: readiness answers 503; still serving until the delay ends')
          await delay(drainDelay)
        }
        await gateway.close()
      })()
      return shuttingDown
    },
    status() {
      return status.status()
    },
    readiness() {
      return status.readiness()
    },
    get statusUrl() {
      return statusServer?.url
    },
    reload(next, reloadOptions = {}) {
      return loader.serially(async () => {
        if (rt.closing) throw new Error('the gateway is closing')
        const nextFile = reloadOptions.file ?? options.file
        const nextTls = tlsForReload(next, tlsState !== undefined, http2Enabled, baseDirOf(nextFile))
        const gen = await loader.load(next, nextFile, rt.current, reloadOptions.plugins)
        generations.replace(gen)
        guard.update(serverLimits(gen.config.server, options), app.server as http.Server)
        if (nextTls !== undefined) certificates?.use(nextTls)
        logger.info({ generation: gen.id, routes: gen.routes.length }, 'configuration reloaded')
      })
    },
    close() {
      if (closing) return closing
      // From now on every HTTP/1.x response carries `connection: close`.
      rt.closing = true
      status.draining()
      closing = (async () => {
        signals.remove()
        certificates?.stop()
        guard.stop()
        await listener.close()
        await generations.closeAll()
        status.state = 'closed'
        // Last: a probe sees 503 (draining) until the process is gone, never a refused connection early.
        await statusServer?.close()
        logger.info('gateway closed')
      })()
      return closing
    },
    async reloadCertificates() {
      certificates?.reload()
    },
    get config() {
      return rt.current.config
    },
    upstreams() {
      return [...groupsOf(rt.current)].map((group) => group.snapshot())
    },
    mirrors() {
      return mirrorStats(rt.current.mirrors)
    },
    onHealthChange(listener) {
      return generations.onHealthChange(listener)
    },
    routes() {
      return routeSummaries(rt.current)
    },
    plugins() {
      return instanceSummaries(rt.current)
    },
    get server() {
      return app.server
    },
    logger,
    get url() {
      return url
    },
  }
  return gateway
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref())
}
