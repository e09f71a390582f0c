import type http from 'node:http'
import type { PluginDefinition } from '@gatehousejs/sdk'
import type { GatewayConfig } from '@gatehousejs/sdk/config'
import type { Logger } from 'pino'
import type { LoggerOption } from './logger.js'
import type { MirrorStats, PluginInstanceSummary, RouteSummary } from './model.js'
import type { Readiness, StatusOptions, WorkerStatus } from './server/status.js'
import type { HealthEvent, UpstreamSnapshot } from './upstream/health.js'

// The gateway's public interfaces, types only: the options `createGateway` takes and the `Gateway` it
// returns (gateway.ts builds it). The package root exports each of them as it is here.

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
