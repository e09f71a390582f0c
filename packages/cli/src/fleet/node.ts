import { hostname } from 'node:os'
import { join } from 'node:path'
import { type AdminServer, createGateway, type Gateway, startAdmin } from '@gatehousejs/core'
import type { ConfigIssue, PluginDefinition } from '@gatehousejs/sdk'
import type { GatewayConfig } from '@gatehousejs/sdk/config'
import type { RedisClient } from '@gatehousejs/sdk/redis'
import { parseConfigText } from '../load.js'
import { withRequestLog } from '../logs.js'
import { resolvePlugins } from '../resolve.js'
import type { StartOptions } from '../start.js'
import { SnapshotCache } from './cache.js'
import { type FleetView, fleetView } from './commands.js'
import { configKey, FleetError, type Snapshot, type SnapshotSummary, summaryOf, verify } from './snapshot.js'
import { FleetStore, type Heartbeat } from './store.js'

export interface FleetStartOptions
  extends Omit<StartOptions, 'file' | 'watch' | 'debounce' | 'onAdminApplied'> {
  /** The configuration store (`--store`: a redis://, redis-sentinel:// or redis-cluster:// string). */
  store: string
  /** Where the last applied snapshot is kept (`--cache-dir`). */
  cacheDir: string
  /** This node's id in heartbeats (`--node-id`); default `<host>-<pid>`. */
  nodeId?: string
  /** Milliseconds between version checks and heartbeats (`--poll`). Default 2000. */
  interval?: number
  /** The Gatehouse version reported in heartbeats. */
  gatehouseVersion: string
  prefix?: string
}

/** What a node knows about itself: the body of its heartbeat and of `GET /fleet`'s `self`. */
export interface FleetNodeState {
  heartbeat(): Heartbeat
  /** The store as seen from this node (`reachable` or the last error). */
  store(): { where: string; reachable: boolean; error?: string }
}

/** The body of the admin API's `GET /fleet` on a fleet node. */
export interface FleetAdminView {
  /** This node's own heartbeat, as it would write it now. */
  self: Heartbeat
  /** The store as this node sees it. */
  store: { where: string; reachable: boolean; error?: string }
  /** The version every node should serve; null when the store is empty or unreachable. */
  current: FleetView['current']
  /** Every live heartbeat with its effective state (as `gatehouse status`); null when the store is unreachable. */
  nodes: FleetView['nodes'] | null
}

export interface RunningFleetNode {
  gateway: Gateway
  url: string
  /** The admin API (`--admin`): read-only config, plus `GET /fleet`. */
  admin: AdminServer | undefined
  fleet: FleetNodeState & { redis: FleetStore }
  /** Checks the store now (what the stream and the periodic check do). */
  sync(reason: string): Promise<void>
  close(): Promise<void>
}

/** A snapshot turned into what createGateway/reload need, on this node (its env, its plugins). */
interface PreparedSnapshot {
  snapshot: Snapshot
  config: GatewayConfig
  plugins: PluginDefinition[]
  file: string
  /** JSON pointers whose values came from this node's environment (redacted by `GET /config`). */
  substituted: ReadonlySet<string>
}

function issuesText(issues: readonly ConfigIssue[]): string {
  return issues
    .map((i) => `${i.pointer || '/'}${i.plugin ? ` (plugin ${i.plugin})` : ''}: ${i.message}`)
    .join('; ')
}

/** Any error as one line, with every config issue when it has them. */
function reasonOf(err: unknown): string {
  const issues = (err as { issues?: unknown }).issues
  if (Array.isArray(issues) && issues.length > 0) return issuesText(issues as ConfigIssue[])
  return (err as Error)?.message ?? String(err)
}

/**
 * Checks a snapshot on this node before anything changes: its signature and hash, then `${ENV}`
 * substitution from this node's environment and plugin resolution from this node's working
 * directory (and next to the CLI, and NODE_PATH). Plugin configs are checked by createGateway/reload.
 */
async function prepareSnapshot(snapshot: Snapshot, key: string, logger: StartOptions['logger']) {
  verify(snapshot, key)
  // Plugin packages resolve as for a file in the working directory; the name is for messages.
  const file = join(process.cwd(), `fleet-snapshot-v${snapshot.version}.json`)
  const loaded = parseConfigText(JSON.stringify(snapshot.config), file)
  const resolved = await resolvePlugins(loaded.config, file)
  const withLog = withRequestLog(logger, resolved.config, resolved.plugins)
  return {
    snapshot,
    config: withLog.config,
    plugins: withLog.plugins,
    file,
    substituted: loaded.substituted,
  } satisfies PreparedSnapshot
}

/**
 * `gatehouse start --store`: boots from the store's current snapshot, or from the cached one when
 * the store is unreachable (or its current snapshot cannot be applied here), then follows the store:
 * a stream for promptness plus a periodic version check for certainty.
 */
export async function startFromStore(options: FleetStartOptions): Promise<RunningFleetNode> {
  const key = configKey()
  const interval = options.interval ?? 2000
  const nodeId = options.nodeId ?? `${hostname()}-${process.pid}`
  const store = new FleetStore(options.store, { prefix: options.prefix })
  const cache = new SnapshotCache(options.cacheDir)
  const log = options.logger

  let applied: SnapshotSummary | undefined
  let state: Heartbeat['state'] = 'applying'
  let lastError: string | undefined
  let storeError: string | undefined
  /** The current pointer that failed here: not retried until the store points elsewhere. */
  let failedFor: { version: number; hash: string } | undefined

  // Boot: the store's current snapshot, else the cache.
  let first: PreparedSnapshot | undefined
  const why: string[] = []
  try {
    await store.connect()
    const cur = await store.current()
    if (!cur) why.push(`the store ${store.where} has no snapshot yet (run gatehouse apply)`)
    else {
      const snap = await store.snapshot(cur.version)
      if (!snap) why.push(`the store's current snapshot v${cur.version} is missing`)
      else {
        try {
          first = await prepareSnapshot(snap, key, log)
        } catch (err) {
          failedFor = cur
          lastError = `snapshot v${cur.version} cannot be applied here: ${reasonOf(err)}`
          why.push(lastError)
        }
      }
    }
  } catch (err) {
    storeError = reasonOf(store.unreachable(err))
    why.push(storeError)
  }
  let fromCache = false
  if (!first) {
    let cached: Snapshot | undefined
    try {
      cached = await cache.read()
    } catch (err) {
      why.push(`the cached snapshot ${cache.file} cannot be read: ${reasonOf(err)}`)
    }
    if (!cached) why.push(`no cached snapshot at ${cache.file}`)
    else {
      try {
        first = await prepareSnapshot(cached, key, log)
        fromCache = true
      } catch (err) {
        why.push(`the cached snapshot v${cached.version} cannot be applied: ${reasonOf(err)}`)
      }
    }
  }
  if (!first) {
    await store.close()
    throw new FleetError('GH_FLEET_NO_SNAPSHOT', `no configuration to start from: ${why.join('; ')}`)
  }

  let gateway: Gateway
  try {
    gateway = await createGateway(first.config, {
      plugins: first.plugins,
      file: first.file,
      logger: log,
      handleSignals: options.handleSignals !== false,
      drainDelay: options.drainDelay,
      // `/status` names the node and the snapshot it serves (the heartbeat's public part).
      status: options.status && {
        ...options.status,
        fleet: () => ({
          node: nodeId,
          applied: applied && { version: applied.version, hash: applied.hash },
          state,
        }),
      },
    })
  } catch (err) {
    await store.close()
    throw new FleetError(
      'GH_FLEET_NO_SNAPSHOT',
      `snapshot v${first.snapshot.version}${fromCache ? ' (cached)' : ''} cannot be applied: ${reasonOf(err)}`,
    )
  }
  let url: string
  try {
    url = await gateway.listen({ port: options.port, host: options.host, log: false })
  } catch (err) {
    await gateway.close()
    await store.close()
    throw err
  }
  const glog = gateway.logger
  applied = summaryOf(first.snapshot)
  let substituted = first.substituted
  // Booted from the cache: serving, but not known to be current until the store answers.
  state = failedFor ? 'failed' : fromCache ? 'stale' : 'in-sync'
  if (fromCache) {
    glog.warn({ version: applied.version, why }, 'fleet: booted from the cached snapshot')
  } else {
    await cache.write(first.snapshot).catch((err) => glog.error({ err }, 'fleet: cannot write the cache'))
  }
  glog.info({ node: nodeId, version: applied.version, hash: applied.hash }, 'fleet: serving snapshot')

  function heartbeat(): Heartbeat {
    return {
      node: nodeId,
      host: hostname(),
      pid: process.pid,
      gatehouse: options.gatehouseVersion,
      url,
      applied: applied && { version: applied.version, hash: applied.hash },
      state,
      lastError,
      at: new Date().toISOString(),
      interval,
    }
  }
  async function beat(): Promise<void> {
    try {
      await store.heartbeat(heartbeat(), Math.max(10, Math.ceil((interval * 3) / 1000)))
    } catch {
      // The next version check reports the store as unreachable.
    }
  }

  async function syncOnce(reason: string): Promise<void> {
    let cur: { version: number; hash: string } | undefined
    try {
      cur = await store.current()
      if (storeError) glog.info({ store: store.where }, 'fleet: the store answers again')
      storeError = undefined
    } catch (err) {
      const msg = reasonOf(store.unreachable(err))
      if (!storeError) glog.warn({ err: msg }, 'fleet: store unreachable; serving the last good snapshot')
      storeError = msg
      return
    }
    if (!cur) {
      // An empty store (e.g. Redis restarted without persistence): keep serving; nothing to follow.
      if (state === 'stale') state = 'in-sync'
      return
    }
    if (applied && cur.version === applied.version && cur.hash === applied.hash) {
      if (state !== 'failed') state = 'in-sync'
      return
    }
    if (failedFor && cur.version === failedFor.version && cur.hash === failedFor.hash) return
    state = 'applying'
    void beat()
    try {
      const snap = await store.snapshot(cur.version)
      if (!snap) throw new Error(`snapshot v${cur.version} is missing from the store`)
      const next = await prepareSnapshot(snap, key, log)
      await gateway.reload(next.config, { file: next.file, plugins: next.plugins })
      applied = summaryOf(snap)
      substituted = next.substituted
      state = 'in-sync'
      lastError = undefined
      failedFor = undefined
      glog.info({ version: applied.version, hash: applied.hash, reason }, 'fleet: snapshot applied')
      await cache.write(snap).catch((err) => glog.error({ err }, 'fleet: cannot write the cache'))
    } catch (err) {
      state = 'failed'
      failedFor = cur
      lastError = `snapshot v${cur.version} refused: ${reasonOf(err)}`
      glog.error(
        { version: cur.version, code: (err as { code?: string }).code, err: lastError },
        'fleet: snapshot refused; still serving the last good one',
      )
    }
    await beat()
  }

  // One sync at a time; a trigger during a sync runs one more after it.
  let running: Promise<void> | undefined
  let again: string | undefined
  function sync(reason: string): Promise<void> {
    if (running) {
      again = reason
      return running
    }
    running = (async () => {
      try {
        await syncOnce(reason)
        while (again !== undefined && !closed) {
          const r = again
          again = undefined
          await syncOnce(r)
        }
      } finally {
        running = undefined
      }
    })()
    return running
  }

  let closed = false
  // The stream, on its own connection (XREAD BLOCK holds it): prompt, but never relied upon.
  const reader: RedisClient = store.connection.duplicate()
  async function follow(): Promise<void> {
    let lastId = '$'
    while (!closed) {
      try {
        const res = (await reader.xread('BLOCK', 5000, 'STREAMS', store.key('events'), lastId)) as
          | [string, [string, string[]][]][]
          | null
        if (res) {
          const entries = res[0]?.[1] ?? []
          const last = entries[entries.length - 1]
          if (last) lastId = last[0]
          await sync('stream event')
        }
      } catch {
        if (closed) break
        await new Promise((r) => setTimeout(r, interval).unref())
      }
    }
  }
  void follow()
  const poller = setInterval(() => {
    void sync('version check').then(beat)
  }, interval)
  poller.unref()
  void sync('boot').then(beat)

  async function stop(): Promise<void> {
    if (closed) return
    closed = true
    clearInterval(poller)
    reader.disconnect()
    await store.removeNode(nodeId).catch(() => {})
    await store.close()
  }
  gateway.server.once('close', () => void stop())

  const self: FleetNodeState = {
    heartbeat,
    store: () => ({ where: store.where, reachable: storeError === undefined, error: storeError }),
  }

  /** `GET /fleet`: this node, and the fleet as the store has it (one read; no store, no table). */
  async function fleetAdminView(): Promise<FleetAdminView> {
    try {
      const view = await fleetView(store)
      return { self: heartbeat(), store: self.store(), current: view.current, nodes: view.nodes }
    } catch (err) {
      const error = reasonOf(store.unreachable(err))
      return {
        self: heartbeat(),
        store: { where: store.where, reachable: false, error },
        current: null,
        nodes: null,
      }
    }
  }

  let admin: AdminServer | undefined
  if (options.admin) {
    try {
      admin = await startAdmin(gateway, {
        token: options.admin.token,
        port: options.admin.port,
        host: options.admin.host,
        allowRemote: options.admin.allowRemote,
        redact: () => substituted,
        configManagedBy: `This node follows the fleet store ${store.where}: change its configuration with gatehouse apply`,
        endpoints: [
          {
            method: 'GET',
            path: '/fleet',
            description: 'the fleet: this node, the current version and every live heartbeat',
            handler: async () => ({ body: await fleetAdminView() }),
          },
        ],
      })
    } catch (err) {
      await stop()
      await gateway.close()
      throw err
    }
    // SIGTERM closes the gateway (core handles the signal): the admin listener goes with it.
    gateway.server.once('close', () => void admin?.close())
  }

  return {
    gateway,
    url,
    admin,
    fleet: { ...self, redis: store },
    sync,
    async close() {
      await stop()
      await admin?.close()
      await gateway.close()
    },
  }
}
