import type { GatewayConfig } from '@gatehousejs/sdk/config'
import { parseDocument } from 'yaml'
import { InvalidFileError } from '../invalid-file.js'
import { FileError, readConfigText } from '../load.js'
import { diffConfigs, formatDiff, isEmptyDiff } from './diff.js'
import { configKey, FleetError, hashConfig, type Snapshot, sign, verify } from './snapshot.js'
import { FleetStore, type Heartbeat } from './store.js'

export interface StoreCommandOptions {
  store: string
  json?: boolean
  prefix?: string
}

async function openStore(options: StoreCommandOptions): Promise<FleetStore> {
  const store = new FleetStore(options.store, { prefix: options.prefix })
  try {
    await store.connect()
  } catch (err) {
    await store.close()
    throw err
  }
  return store
}

async function withStore<T>(options: StoreCommandOptions, fn: (store: FleetStore) => Promise<T>): Promise<T> {
  const store = await openStore(options)
  try {
    return await fn(store)
  } catch (err) {
    if (err instanceof FleetError || err instanceof InvalidFileError) throw err
    throw store.unreachable(err)
  } finally {
    await store.close()
  }
}

/**
 * The file as written, before `${ENV}` substitution: what a snapshot publishes, so secrets stay
 * references that each node resolves from its own environment.
 */
export function rawConfigOf(text: string, file: string): GatewayConfig {
  const doc = parseDocument(text, { uniqueKeys: true })
  if (doc.errors.length > 0) {
    throw new InvalidFileError(
      file,
      doc.errors.map((e) => ({ pointer: '', message: `syntax: ${e.message.split('\n')[0]}` })),
      doc.errors.map(() => undefined),
    )
  }
  return (doc.toJS() ?? {}) as GatewayConfig
}

/** {@link rawConfigOf} the file at `path`. */
export async function readRawConfig(path: string): Promise<GatewayConfig> {
  const { file, text } = await readConfigText(path).catch((err: unknown) => {
    if (err instanceof FileError) throw new InvalidFileError(err.file, err.issues, err.positions)
    throw err
  })
  return rawConfigOf(text, file)
}

function short(hash: string): string {
  return hash.replace(/^sha256:/, '').slice(0, 12)
}

async function publishConfig(
  store: FleetStore,
  key: string,
  config: GatewayConfig,
  meta: { message: string; rollbackOf?: number },
): Promise<Snapshot> {
  const version = await store.nextVersion()
  const snapshot = sign(
    {
      version,
      hash: hashConfig(config),
      createdAt: new Date().toISOString(),
      message: meta.message,
      ...(meta.rollbackOf !== undefined ? { rollbackOf: meta.rollbackOf } : {}),
      config,
    },
    key,
  )
  await store.publish(snapshot)
  return snapshot
}

/** `gatehouse apply <file> --store URL [--message M] [--dry-run]` */
export async function cmdApply(
  file: string,
  options: StoreCommandOptions & { message?: string; dryRun?: boolean },
  out: Console,
): Promise<number> {
  // Refuse before reading anything from the store: an unsigned snapshot would be refused by every node.
  const key = options.dryRun ? undefined : configKey()
  // Every check `validate` makes and no plugin `init`: the only connection apply opens is the store's.
  // (Loaded here: status, history and rollback do not need core.)
  const { checkFile } = await import('../gateway-file.js')
  const checked = await checkFile(file)
  const config = rawConfigOf(checked.text, checked.loaded.file)
  const hash = hashConfig(config)
  return withStore(options, async (store) => {
    const cur = await store.current()
    const before = cur ? (await store.snapshot(cur.version))?.config : undefined
    const diff = diffConfigs(before, config)
    if (cur && cur.hash === hash) {
      out.log(
        options.json
          ? JSON.stringify({ published: false, unchanged: true, version: cur.version, hash })
          : `${file}: unchanged: v${cur.version} (${short(hash)}) already holds this configuration`,
      )
      return 0
    }
    if (options.dryRun || key === undefined) {
      out.log(
        options.json
          ? JSON.stringify({ published: false, dryRun: true, hash, from: cur ?? null, diff })
          : `${file}: valid; would publish ${short(hash)} over ${cur ? `v${cur.version}` : 'an empty store'} (dry run: nothing written)\n${formatDiff(diff)}`,
      )
      return 0
    }
    const snapshot = await publishConfig(store, key, config, { message: options.message ?? '' })
    out.log(
      options.json
        ? JSON.stringify({ published: true, version: snapshot.version, hash, diff })
        : `${file}: published v${snapshot.version} (${short(hash)}) to ${store.where}\n${isEmptyDiff(diff) ? 'no entity changed (formatting or order only)' : formatDiff(diff)}`,
    )
    return 0
  })
}

/** `gatehouse diff <file> --store URL [--json]` */
export async function cmdDiff(file: string, options: StoreCommandOptions, out: Console): Promise<number> {
  const config = await readRawConfig(file)
  return withStore(options, async (store) => {
    const cur = await store.current()
    const before = cur ? (await store.snapshot(cur.version))?.config : undefined
    const diff = diffConfigs(before, config)
    if (options.json) out.log(JSON.stringify({ from: cur ?? null, hash: hashConfig(config), diff }, null, 2))
    else out.log(`${file} against ${cur ? `v${cur.version}` : 'an empty store'}:\n${formatDiff(diff)}`)
    return 0
  })
}

/** `gatehouse rollback <version> --store URL`: republishes an old snapshot's config as a new version. */
export async function cmdRollback(
  target: string,
  options: StoreCommandOptions & { message?: string },
  out: Console,
): Promise<number> {
  const key = configKey()
  const version = Number(target.replace(/^v/, ''))
  if (!Number.isInteger(version) || version < 1) {
    throw new FleetError(
      'GH_FLEET_VERSION_UNKNOWN',
      `rollback takes a version number (e.g. 3 or v3), not "${target}"`,
    )
  }
  return withStore(options, async (store) => {
    const old = await store.snapshot(version)
    if (!old) {
      throw new FleetError(
        'GH_FLEET_VERSION_UNKNOWN',
        `no snapshot v${version} in ${store.where} (gatehouse history lists the versions)`,
      )
    }
    // Never re-sign what was tampered with.
    verify(old, key)
    const snapshot = await publishConfig(store, key, old.config, {
      message: options.message ?? `rollback to v${version}`,
      rollbackOf: version,
    })
    out.log(
      options.json
        ? JSON.stringify({
            published: true,
            version: snapshot.version,
            hash: snapshot.hash,
            rollbackOf: version,
          })
        : `published v${snapshot.version} (${short(snapshot.hash)}): the configuration of v${version}`,
    )
    return 0
  })
}

/** `gatehouse history --store URL [--json]` */
export async function cmdHistory(options: StoreCommandOptions, out: Console): Promise<number> {
  return withStore(options, async (store) => {
    const [history, cur] = await Promise.all([store.history(), store.current()])
    if (options.json) {
      out.log(JSON.stringify({ current: cur ?? null, history }, null, 2))
      return 0
    }
    if (history.length === 0) {
      out.log(`${store.where}: no snapshot published yet`)
      return 0
    }
    const rows = history.map((h) => [
      `${cur?.version === h.version ? '*' : ' '}v${h.version}`,
      short(h.hash),
      h.createdAt,
      h.rollbackOf !== undefined
        ? `rollback of v${h.rollbackOf}${h.message ? `: ${h.message}` : ''}`
        : h.message,
    ])
    out.log(table(['VERSION', 'HASH', 'PUBLISHED', 'MESSAGE'], rows))
    return 0
  })
}

/** A node's state as the fleet sees it: its own, or `stale` when its heartbeat is late or it is behind. */
export function effectiveState(
  beat: Heartbeat,
  current: { version: number; hash: string } | undefined,
  now = Date.now(),
): Heartbeat['state'] {
  if (now - Date.parse(beat.at) > 3 * beat.interval) return 'stale'
  if (beat.state === 'in-sync' && current && beat.applied?.hash !== current.hash) return 'stale'
  return beat.state
}

export interface FleetView {
  store: string
  current: { version: number; hash: string } | null
  nodes: (Heartbeat & { effective: Heartbeat['state'] })[]
}

export async function fleetView(store: FleetStore): Promise<FleetView> {
  const [cur, nodes] = await Promise.all([store.current(), store.nodes()])
  return {
    store: store.where,
    current: cur ?? null,
    nodes: nodes.map((n) => ({ ...n, effective: effectiveState(n, cur) })),
  }
}

/** `gatehouse status --store URL [--json]` */
export async function cmdStatus(options: StoreCommandOptions, out: Console): Promise<number> {
  return withStore(options, async (store) => {
    const view = await fleetView(store)
    if (options.json) {
      out.log(JSON.stringify(view, null, 2))
      return 0
    }
    const head = `${view.store}: current ${view.current ? `v${view.current.version} (${short(view.current.hash)})` : 'none'}, ${view.nodes.length} node${view.nodes.length === 1 ? '' : 's'}`
    const rows = view.nodes.map((n) => [
      n.node,
      n.host,
      String(n.pid),
      n.gatehouse,
      n.applied ? `v${n.applied.version}` : '-',
      n.applied ? short(n.applied.hash) : '-',
      n.effective,
      `${Math.max(0, Math.round((Date.now() - Date.parse(n.at)) / 1000))}s`,
      n.lastError ?? '',
    ])
    out.log(
      rows.length
        ? `${head}\n${table(['NODE', 'HOST', 'PID', 'GATEHOUSE', 'VERSION', 'HASH', 'STATE', 'SEEN', 'LAST ERROR'], rows)}`
        : head,
    )
    return 0
  })
}

function table(head: string[], rows: string[][]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)))
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd()
  return [line(head), ...rows.map(line)].join('\n')
}
