import cluster, { type Worker } from 'node:cluster'
import { watch } from 'node:fs'
import { availableParallelism } from 'node:os'
import { basename, dirname, resolve } from 'node:path'
import { type StatusServer, startStatusServer } from '@gatehousejs/core'
import type { PluginDefinition } from '@gatehousejs/sdk'
import { prepareFile } from './gateway-file.js'
import { type RunningGateway, type StartOptions, startFromFile } from './start.js'
import { primaryStatusSource, type StatusMessage, storeChecks } from './status.js'

/** `name@version, …` (or `none`): the plugin code a process imported, for the log. */
export function pluginList(plugins: ReadonlyArray<{ name: string; version: string }>): string {
  return plugins.map((p) => `${p.name}@${p.version}`).join(', ') || 'none'
}

/** Messages between the primary and its workers. */
type Message =
  | { type: 'ready'; url: string; admin?: string; plugins: Array<{ name: string; version: string }> }
  | { type: 'failed'; message: string }
  | { type: 'reload'; reason: string }
  | { type: 'apply'; body: string; contentType: string | undefined }
  /** A worker's server has closed; it leaves once the primary answers `bye` (see `leaveCluster`). */
  | { type: 'closed' }
  | { type: 'bye' }
  | StatusMessage

/** V8 flags that set how many threads its garbage collector uses (`-` and `_` are the same to V8). */
const GC_THREAD_FLAG =
  /(?:^|\s)--(?:no-)?(?:single-threaded-gc|single-threaded|parallel-scavenge|parallel-marking|parallel-compaction|parallel-pointer-update|concurrent-marking|concurrent-sweeping|concurrent-array-buffer-sweeping)(?=[\s=]|$)/

/**
 * The flags workers start with: the primary's own, plus V8's `--single-threaded-gc` when there are at
 * least as many workers as CPUs the primary may run on. V8 otherwise collects with helper threads
 * (parallel scavenges, concurrent marking and sweeping) that can only take CPU time from the other
 * workers: at 64 KiB per response, a gateway on one core spent 9–12% less CPU per response with its
 * collector on its own thread (docs/benchmarks.md). A GC threading flag the operator gave (on the
 * command line or in `NODE_OPTIONS`) is left as it is.
 */
export function workerExecArgv(
  count: number,
  execArgv: readonly string[] = process.execArgv,
  nodeOptions: string = process.env.NODE_OPTIONS ?? '',
  cpus: number = availableParallelism(),
): string[] {
  const given = `${execArgv.join(' ')} ${nodeOptions}`.replaceAll('_', '-')
  if (count < cpus || GC_THREAD_FLAG.test(given)) return [...execArgv]
  return [...execArgv, '--single-threaded-gc']
}

const RESTART_WINDOW_MS = 30_000
const MAX_RESTARTS_IN_WINDOW = 10

export interface PrimaryReady {
  url: string
  admin: string | undefined
  /** The status listener the primary serves for all its workers (`--status`). */
  status: string | undefined
}

export interface PrimaryHandle {
  /** Resolves once every worker listens, with the gateway's address. */
  ready: Promise<PrimaryReady>
  /** Resolves with the exit code once the primary has stopped its workers. */
  done: Promise<number>
}

/**
 * Runs `count` worker processes (node:cluster) that share the port. The primary watches the file and
 * forwards SIGHUP, so every worker reloads the same file; a worker that dies is replaced (unless they
 * keep dying: more than 10 restarts in 30 s stops the gateway with exit code 1). SIGTERM/SIGINT stop
 * the workers gracefully (each drains its requests) and then the primary.
 *
 * Before the workers start, and again on each reload, the primary runs the `primary()` hook of every
 * plugin the file uses (once per plugin), so a plugin whose workers coordinate through the primary
 * (prometheus's `workers: "aggregate"`) works with no code of the operator's.
 */
export function runPrimary(options: StartOptions, count: number, log: (msg: string) => void): PrimaryHandle {
  const file = resolve(options.file)
  let stopping = false
  const restarts: number[] = []
  const workers = new Set<Worker>()
  let resolveReady!: (v: PrimaryReady) => void
  let rejectReady!: (err: Error) => void
  const ready = new Promise<PrimaryReady>((res, rej) => {
    resolveReady = res
    rejectReady = rej
  })
  ready.catch(() => {})
  let readyCount = 0
  let first: PrimaryReady | undefined
  // One status listener for the whole process group: a load balancer probes one address per node.
  const stores = options.status ? storeChecks(options.requireStores ?? []) : undefined
  const statusSource = primaryStatusSource({
    workers: () => workers,
    stopping: () => stopping,
    stores: stores?.checks ?? [],
  })
  let statusServer: StatusServer | undefined
  const statusStarted = options.status
    ? startStatusServer(statusSource, options.status).then((s) => {
        statusServer = s
        return s.url
      })
    : Promise.resolve(undefined)
  statusStarted.catch((err: Error) => {
    exitCode = 3
    rejectReady(new Error(`gatehouse: cannot listen (status): ${err.message}`))
    void stop()
  })
  let resolveDone!: (code: number) => void
  const done = new Promise<number>((res) => {
    resolveDone = res
  })
  let exitCode = 0

  function broadcast(msg: Message, except?: Worker) {
    for (const w of workers) if (w !== except && w.isConnected()) w.send(msg)
  }

  /** Workers being replaced by a code reload: their exit is expected, not a crash to make up for. */
  const retiring = new Set<Worker>()
  /** Per worker started by a code reload: settles once it serves (true) or could not start (false). */
  const replacements = new Map<Worker, (ok: boolean) => void>()

  function fork(): Worker {
    const worker = cluster.fork({ GATEHOUSE_WORKER: '1' })
    workers.add(worker)
    // A message to a worker whose channel has just closed (it is exiting) fails with EPIPE, emitted
    // here; unhandled, it would end the primary and every other worker with it.
    worker.on('error', (err) => log(`worker ${worker.process.pid}: ${err.message}`))
    worker.on('message', (msg: Message) => {
      if (msg.type === 'ready') {
        log(`worker ${worker.process.pid} serving; plugins: ${pluginList(msg.plugins)}`)
        const replacing = replacements.get(worker)
        if (replacing) return replacing(true)
        if (!first) first = { url: msg.url, admin: msg.admin, status: undefined }
        readyCount++
        if (readyCount === count) {
          const firstReady = first
          statusStarted.then(
            (status) => resolveReady({ ...firstReady, status }),
            () => {},
          )
        }
      } else if (msg.type === 'failed') {
        const replacing = replacements.get(worker)
        if (replacing) {
          log(`code reload: the new worker could not start; the running workers stay:\n${msg.message}`)
          return replacing(false)
        }
        // A worker could not start (an invalid file, a port in use): the gateway cannot start.
        exitCode = 1
        rejectReady(new Error(msg.message))
        void stop()
      } else if (msg.type === 'apply') {
        broadcast(msg, worker)
      } else if (msg.type === 'status-answer') {
        statusSource.onMessage(worker, msg)
      } else if (msg.type === 'closed') {
        // Sent after the worker's own `close` of the shared handle, so every connection handed to it
        // before that close reached this process is already on the channel ahead of this answer.
        if (worker.isConnected()) worker.send({ type: 'bye' })
      }
    })
    worker.on('exit', (code, signal) => {
      workers.delete(worker)
      replacements.get(worker)?.(false)
      if (stopping) {
        if (workers.size === 0) finish()
        return
      }
      if (retiring.delete(worker) || replacements.has(worker)) return
      const now = Date.now()
      restarts.push(now)
      while (restarts.length > 0 && (restarts[0] as number) < now - RESTART_WINDOW_MS) restarts.shift()
      if (restarts.length > MAX_RESTARTS_IN_WINDOW) {
        log(`workers keep dying (${restarts.length} restarts in 30 s); stopping`)
        exitCode = 1
        void stop()
        return
      }
      log(`worker ${worker.process.pid} exited (${signal ?? code}); starting a new one`)
      fork()
    })
    return worker
  }

  /**
   * A code reload: each worker in turn is replaced by a new process, which imports the plugin code
   * afresh; the old one is told to shut down (readiness, drain delay, drain) only once the new one
   * serves, so the port always has a worker that takes connections. A new worker that cannot start
   * (a plugin that no longer loads) stops the reload and the running workers stay.
   */
  let rolling: Promise<void> | undefined
  let rollAgain = false
  function codeReload(reason: string): void {
    if (rolling) {
      rollAgain = true
      return
    }
    rolling = (async () => {
      log(`code reload (${reason}): replacing ${workers.size} worker(s) one at a time`)
      for (const old of [...workers]) {
        if (stopping) return
        if (retiring.has(old) || !workers.has(old)) continue
        const fresh = fork()
        const ok = await new Promise<boolean>((resolve) => replacements.set(fresh, resolve))
        replacements.delete(fresh)
        if (!ok) {
          // Its exit is expected: not a crash to make up for with yet another worker on the same code.
          if (!fresh.isDead()) {
            retiring.add(fresh)
            fresh.process.kill('SIGKILL')
          }
          return
        }
        retiring.add(old)
        const gone = new Promise((resolve) => old.once('exit', resolve))
        old.process.kill('SIGTERM')
        await gone
      }
      log('code reload done: every worker runs the code on disk now')
    })().finally(() => {
      rolling = undefined
      if (rollAgain && !stopping) {
        rollAgain = false
        codeReload('asked again during the last one')
      }
    })
  }

  const primaries = pluginPrimaries(log)
  /** Runs the hooks of the file's plugins, then `next`. A file that does not load is the workers' to report. */
  function withPrimaries(next: () => void): void {
    prepareFile(file)
      .then(
        (prepared) => primaries.run(prepared.plugins),
        () => {},
      )
      .finally(() => {
        if (!stopping) next()
      })
  }

  let timer: NodeJS.Timeout | undefined
  const watcher =
    options.watch === false
      ? undefined
      : watch(dirname(file), (_e, name) => {
          if (name !== null && name !== basename(file)) return
          clearTimeout(timer)
          timer = setTimeout(
            () => withPrimaries(() => broadcast({ type: 'reload', reason: 'file changed' })),
            options.debounce ?? 300,
          )
        })
  const onHup = () => withPrimaries(() => broadcast({ type: 'reload', reason: 'SIGHUP' }))
  const onStop = () => void stop()
  const onCode = () => withPrimaries(() => codeReload('SIGUSR2'))
  process.on('SIGUSR2', onCode)
  process.on('SIGHUP', onHup)
  process.on('SIGTERM', onStop)
  process.on('SIGINT', onStop)

  function finish() {
    watcher?.close()
    clearTimeout(timer)
    process.off('SIGHUP', onHup)
    process.off('SIGTERM', onStop)
    process.off('SIGINT', onStop)
    process.off('SIGUSR2', onCode)
    Promise.allSettled([
      primaries.close(),
      stores?.close(),
      statusStarted.then(() => statusServer?.close()),
    ]).finally(() => resolveDone(exitCode))
  }

  async function stop() {
    if (stopping) return
    stopping = true
    if (workers.size === 0) return finish()
    for (const w of workers) w.process.kill('SIGTERM')
  }

  const cpus = availableParallelism()
  const execArgv = workerExecArgv(count, process.execArgv, process.env.NODE_OPTIONS ?? '', cpus)
  if (execArgv.length > process.execArgv.length)
    log(
      `${count} worker${count === 1 ? '' : 's'} on ${cpus} CPU(s): each collects garbage on its own thread (--single-threaded-gc)`,
    )
  cluster.setupPrimary({ exec: process.argv[1] as string, args: process.argv.slice(2), execArgv })
  withPrimaries(() => {
    for (let i = 0; i < count; i++) fork()
  })
  return { ready, done }
}

/** The plugins' `primary()` hooks: each runs once per process; what they return runs at the end. */
function pluginPrimaries(log: (msg: string) => void) {
  const started = new Set<string>()
  const closers: Array<() => unknown> = []
  return {
    async run(plugins: readonly PluginDefinition[]): Promise<void> {
      for (const plugin of plugins) {
        if (typeof plugin.primary !== 'function' || started.has(plugin.name)) continue
        started.add(plugin.name)
        try {
          const close = await plugin.primary()
          if (typeof close === 'function') closers.push(close)
        } catch (err) {
          log(`plugin ${plugin.name}: its primary() hook failed: ${(err as Error).message}`)
        }
      }
    },
    async close(): Promise<void> {
      for (const close of closers.splice(0)) {
        try {
          await close()
        } catch (err) {
          log(`a plugin's primary() cleanup failed: ${(err as Error).message}`)
        }
      }
    },
  }
}

/** Inside a worker: start the gateway, report to the primary, and follow its reload messages. */
export async function runWorker(options: StartOptions): Promise<void> {
  let running: RunningGateway
  const send = (msg: Message) => process.send?.(msg)
  try {
    running = await startFromFile({
      ...options,
      // The primary watches the file and forwards SIGHUP; a worker only listens to it.
      watch: false,
      onAdminApplied: (body, contentType) =>
        send({ type: 'apply', body: body.toString('base64'), contentType }),
    })
  } catch (err) {
    const message = (err as { format?: () => string }).format?.() ?? (err as Error).message
    send({ type: 'failed', message })
    process.exitCode = 1
    // Let the message reach the primary before exiting.
    setTimeout(() => process.exit(1), 50)
    return
  }
  process.on('message', (msg: Message) => {
    if (msg.type === 'status-query')
      send({ type: 'status-answer', id: msg.id, status: running.gateway.status() })
    else if (msg.type === 'reload') void running.reloadFromFile(msg.reason)
    else if (msg.type === 'apply') void running.applyBody(Buffer.from(msg.body, 'base64'), msg.contentType)
  })
  // The gateway closes itself on SIGTERM (handleSignals); then the process may exit.
  running.gateway.server.once('close', () => leaveCluster(send))
  send({
    type: 'ready',
    url: running.url,
    admin: running.admin?.url,
    plugins: running.gateway.status().plugins,
  })
}

/** How long a closed worker waits for the primary's `bye` before it leaves anyway (a primary gone). */
const BYE_TIMEOUT_MS = 5_000

/**
 * Leaves the cluster once no connection can still be on its way to this worker.
 *
 * With round-robin scheduling the primary accepts each connection and sends it to a worker over the
 * IPC channel. Closing the server tells the primary to stop (a `close` message), but connections it
 * sent before it read that message are still in the channel; the worker hands them back (`accepted:
 * false`) and the primary gives them to another worker. A worker that disconnects, or ends, as soon
 * as its server closes drops what is still unread in the channel, and the primary keeps those sockets
 * open with no one to answer them: the client waits until it times out. So the worker asks (`closed`)
 * and leaves on the answer (`bye`): the channel is ordered, so every connection sent before the
 * primary read the `close` has been read and handed back by then.
 *
 * Until then the process must not end either. Core raises SIGTERM (or SIGINT) again once the gateway
 * has closed, to end the process as the signal says (server/signals.ts); from the server's close on,
 * that signal, or any other, is held here and raised again once the worker has left.
 */
function leaveCluster(send: (msg: Message) => void): void {
  let left = false
  let held: NodeJS.Signals | undefined
  let timer: NodeJS.Timeout | undefined
  const raise = () => {
    process.off('SIGTERM', hold)
    process.off('SIGINT', hold)
    process.kill(process.pid, held)
  }
  const hold = (signal: NodeJS.Signals) => {
    held ??= signal
    if (left) raise()
  }
  process.on('SIGTERM', hold)
  process.on('SIGINT', hold)
  const leave = () => {
    if (left) return
    left = true
    clearTimeout(timer)
    process.off('message', onBye)
    if (process.connected) process.disconnect()
    if (held !== undefined) raise()
  }
  const onBye = (msg: Message) => {
    if (msg.type === 'bye') leave()
  }
  if (!process.connected) {
    leave()
    return
  }
  timer = setTimeout(leave, BYE_TIMEOUT_MS)
  process.on('message', onBye)
  send({ type: 'closed' })
}
