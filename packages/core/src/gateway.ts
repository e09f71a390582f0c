import type http from 'node:http'
import { setTimeout as sleep } from 'node:timers/promises'
import type tls from 'node:tls'
import type { GatewayConfig } from '@gatehousejs/sdk/config'
import { Generations, groupsOf } from './config/generation.js'
import { Loader } from './config/loader.js'
import { instanceSummaries, routeSummaries } from './config/summaries.js'
import type { Gateway, GatewayOptions, ListenOptions, ReloadOptions } from './gateway-types.js'
import { createLogger } from './logger.js'
import type { Runtime } from './model.js'
import { createDispatch, type Inject } from './request/dispatch.js'
import { requestIdFor } from './request/forwarding.js'
import { handleRequest } from './request/lifecycle.js'
import { armBodyCollection } from './server/body-gc.js'
import { Certificates } from './server/certificates.js'
import { armHeapKeeping } from './server/heap-trim.js'
import { createApp } from './server/http.js'
import { Listener } from './server/listener.js'
import { Guard, serverLimits } from './server/protect.js'
import { ShutdownSignals } from './server/signals.js'
import { type StatusServer, startStatusServer } from './server/status.js'
import { baseDirOf, tlsForReload, tlsForStart } from './server/tls.js'
import type { Tunnels } from './server/upgrade.js'
import { GatewayStatus } from './server/worker-status.js'
import { mirrorStats } from './upstream/mirror.js'
import { Pools } from './upstream/pools.js'

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
  // The parts (docs/architecture.md): config/ loads a generation (`Loader`) and swaps it in
  // (`Generations`); request/ serves it (`createApp` routes every request to the lifecycle); server/
  // holds the edge (`Listener`, `Guard`, `Certificates`, `ShutdownSignals`, `GatewayStatus`). What is
  // left here is the order in which they start and stop.
  const logger = createLogger(options.logger)
  // Plugins read target health through env.upstreams (a metrics plugin at scrape time), and call
  // through the gateway itself through env.dispatch (aggregation): both exist by the time one is called.
  let inject: Inject | undefined
  const loader = new Loader(options.plugins, {
    logger,
    upstreams: () => gateway.upstreams(),
    dispatch: createDispatch(() => inject),
  })
  const tlsState = tlsForStart(config, baseDirOf(options.file))
  const http2 = config.http2 === true
  const first = await loader.load(config, options.file, undefined)

  // The running state every request reads, and the parts that change it.
  const guard = new Guard(serverLimits(first.config.server, options), logger)
  const rt: Runtime = {
    current: first,
    pools: new Pools(logger),
    closing: false,
    refusing: false,
    logger,
    guard,
  }
  const status = new GatewayStatus(() => rt.current, options.status)
  const drainTimeout = options.drainTimeout ?? 30_000
  const generations = new Generations(rt, drainTimeout, logger)

  // The edge: the server with every request routed to the lifecycle, its listener and certificates.
  const tunnels: Tunnels = new Set()
  const app = createApp({
    rt,
    logger,
    tlsState,
    http2,
    maxHeaderSize: options.maxHeaderSize ?? 16 * 1024,
    tunnels,
    onRequest: () => {
      status.served++
    },
  })
  await app.ready()
  inject = lifecycleInjector(rt)
  const listener = new Listener(app, rt, {
    tls: tlsState !== undefined,
    http2,
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
  const drainDelay = options.drainDelay ?? 0
  const signals = new ShutdownSignals(() => gateway.shutdown(), logger, drainDelay)
  let url: string | undefined
  let statusServer: StatusServer | undefined

  async function listen(opts: ListenOptions = {}): Promise<string> {
    // Once per process: after enough upstream reads, freed socket buffers stay in the heap instead of
    // faulting back in (heap-trim.ts), and every few MiB of upstream body read, V8 collects its young
    // generation, where proxied socket buffers die (body-gc.ts). Each throws before listening on a bad
    // GATEHOUSE_HEAP_KEEP_AFTER or GATEHOUSE_BODY_GC_EVERY.
    armHeapKeeping()
    armBodyCollection()
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
  }

  function reload(next: GatewayConfig, reloadOptions: ReloadOptions = {}): Promise<void> {
    return loader.serially(async () => {
      if (rt.closing) throw new Error('the gateway is closing')
      const nextFile = reloadOptions.file ?? options.file
      const nextTls = tlsForReload(next, tlsState !== undefined, http2, baseDirOf(nextFile))
      const gen = await loader.load(next, nextFile, rt.current, reloadOptions.plugins)
      generations.replace(gen)
      guard.update(serverLimits(gen.config.server, options), app.server as http.Server)
      if (nextTls !== undefined) certificates?.use(nextTls)
      logger.info({ generation: gen.id, routes: gen.routes.length }, 'configuration reloaded')
    })
  }

  const close = once(async function closeGateway() {
    // From now on every HTTP/1.x response carries `connection: close`.
    rt.closing = true
    status.draining()
    signals.remove()
    certificates?.stop()
    guard.stop()
    await listener.close()
    await generations.closeAll()
    status.state = 'closed'
    // Last: a probe sees 503 (draining) until the process is gone, never a refused connection early.
    await statusServer?.close()
    logger.info('gateway closed')
  })

  const shutdown = once(async function shutdownGateway() {
    status.draining()
    if (drainDelay > 0 && url !== undefined && !rt.closing) {
      logger.info({ drainDelay }, 'draining: readiness answers 503; still serving until the delay ends')
      await sleep(drainDelay, undefined, { ref: false })
    }
    await close()
  })

  const gateway: Gateway = {
    listen,
    reload,
    shutdown,
    close,
    async reloadCertificates() {
      certificates?.reload()
    },
    status: () => status.status(),
    readiness: () => status.readiness(),
    get statusUrl() {
      return statusServer?.url
    },
    get config() {
      return rt.current.config
    },
    routes: () => routeSummaries(rt.current),
    plugins: () => instanceSummaries(rt.current),
    upstreams: () => [...groupsOf(rt.current)].map((group) => group.snapshot()),
    mirrors: () => mirrorStats(rt.current.mirrors),
    onHealthChange: (onChange) => generations.onHealthChange(onChange),
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

/**
 * A dispatched call enters the lifecycle directly (request/dispatch.ts collects its answer), with its
 * caller's request id or, like a client request, one of its own.
 */
function lifecycleInjector(rt: Runtime): Inject {
  return function injectRequest(raw, res, requestId, send) {
    const gen = rt.current
    const id = requestId ?? requestIdFor(raw, gen.requestId.header, gen.requestId.trustIncoming, gen.trust)
    return handleRequest(rt, { raw, res, requestId: id, reply: res, sender: send })
  }
}

/** Runs `fn` on the first call; every later call returns what the first returned (the same promise). */
function once<T>(fn: () => T): () => T {
  let first: { value: T } | undefined
  return () => {
    first ??= { value: fn() }
    return first.value
  }
}
