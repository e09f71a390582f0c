import { watch } from 'node:fs'
import { basename, dirname } from 'node:path'
import { type AdminServer, createGateway, type Gateway, startAdmin } from '@gatehousejs/core'
import type { ConfigIssue, PluginDefinition } from '@gatehousejs/sdk'
import type { GatewayConfig } from '@gatehousejs/sdk/config'
import { InvalidFileError, isConfigError, prepareFile, withLocations } from './gateway-file.js'
import { FileError, type LoadedFile, type Position, parseConfigText } from './load.js'
import { type LogFormat, withRequestLog } from './logs.js'
import { PluginResolutionError, resolvePlugins } from './resolve.js'
import { type StatusListen, storeChecks } from './status.js'

export interface AdminListen {
  port: number
  host: string
  token: string
  allowRemote: boolean
}

export interface StartOptions {
  /** `json` (default) or `pretty`: see logs.ts. */
  logFormat?: LogFormat
  /** The logger to use (the CLI builds one for pretty logs); core's JSON logger otherwise. */
  logger?: import('pino').Logger
  /** The status listener (`--status`); with `--workers`, the primary serves it for every worker. */
  status?: StatusListen
  /** Redis URLs that must answer for `/status/ready` to be 200 (`--require-store`). */
  requireStores?: readonly string[]
  /** Milliseconds to keep serving after SIGTERM turned readiness to 503 (`--drain-delay`). Default 0. */
  drainDelay?: number
  file: string
  port: number
  host: string
  /** Reload when the file changes. Default true. */
  watch?: boolean
  /** Milliseconds of quiet after a change before reloading. Default 300. */
  debounce?: number
  admin?: AdminListen
  /** Handle SIGTERM/SIGINT (close gracefully) and SIGHUP (reload). Default true. */
  handleSignals?: boolean
  /** Called with each applied admin config, so a worker can tell its siblings. */
  onAdminApplied?: (body: Buffer, contentType: string | undefined) => void
}

export interface RunningGateway {
  gateway: Gateway
  url: string
  admin: AdminServer | undefined
  /** Re-reads the file and applies it; resolves to false (and logs why) when it is invalid. */
  reloadFromFile(reason: string): Promise<boolean>
  /** Applies a config body the admin API of a sibling worker accepted. */
  applyBody(body: Buffer, contentType: string | undefined): Promise<boolean>
  close(): Promise<void>
}

/**
 * Starts a gateway from a file: validates it (an InvalidFileError lists every problem), listens,
 * then reloads it on change and on SIGHUP: validate first, swap atomically, and keep serving the
 * old config (logging why) when the new one is invalid.
 */
export async function startFromFile(options: StartOptions): Promise<RunningGateway> {
  const prepared = await prepareFile(options.file)
  let substituted = prepared.loaded.substituted
  const stores = options.status ? storeChecks(options.requireStores ?? []) : undefined
  let gateway: Gateway
  try {
    const first = withRequestLog(options.logger, prepared.config, prepared.plugins)
    gateway = await withLocations(prepared.loaded, () =>
      createGateway(first.config, {
        plugins: first.plugins,
        file: prepared.loaded.file,
        logger: options.logger,
        handleSignals: options.handleSignals !== false,
        drainDelay: options.drainDelay,
        status: options.status && { ...options.status, require: stores?.checks },
      }),
    )
  } catch (err) {
    await stores?.close()
    throw err
  }
  if (stores) gateway.server.once('close', () => void stores.close())
  const log = gateway.logger
  let url: string
  try {
    // The CLI prints one line with every address (cli.ts): core's own line goes to debug.
    url = await gateway.listen({ port: options.port, host: options.host, log: false })
  } catch (err) {
    await gateway.close()
    throw err
  }

  let reloads = Promise.resolve(true)
  function reloadFromFile(reason: string): Promise<boolean> {
    reloads = reloads.then(async () => {
      try {
        const next = await prepareFile(options.file)
        const withLog = withRequestLog(options.logger, next.config, next.plugins)
        await withLocations(next.loaded, () =>
          gateway.reload(withLog.config, { file: next.loaded.file, plugins: withLog.plugins }),
        )
        substituted = next.loaded.substituted
        log.info({ file: next.loaded.file, reason }, 'configuration file applied')
        return true
      } catch (err) {
        if (err instanceof InvalidFileError) {
          log.error(
            { file: err.file, reason, problems: err.format().split('\n') },
            'configuration file refused; still serving the previous configuration',
          )
        } else {
          log.error({ err, reason }, 'configuration reload failed; still serving the previous configuration')
        }
        return false
      }
    })
    return reloads
  }

  /** An admin `PUT /config` body: YAML or JSON, with ${ENV} and plugin packages resolved like the file. */
  async function parseBody(
    body: Buffer,
    _contentType: string | undefined,
  ): Promise<{ config: GatewayConfig; plugins: PluginDefinition[]; locate: LoadedFile['locate'] }> {
    const loaded = parseConfigText(body.toString('utf8'), options.file)
    let resolved: Awaited<ReturnType<typeof resolvePlugins>>
    try {
      resolved = await resolvePlugins(loaded.config, options.file)
    } catch (err) {
      if (err instanceof PluginResolutionError) throw placed(err.issues, (i) => loaded.locate(i.pointer))
      throw err
    }
    return { ...withRequestLog(options.logger, resolved.config, resolved.plugins), locate: loaded.locate }
  }

  async function applyBody(body: Buffer, contentType: string | undefined): Promise<boolean> {
    try {
      const parsed = await parseBody(body, contentType)
      await gateway.reload(parsed.config, { plugins: parsed.plugins })
      log.info('configuration applied from a sibling worker')
      return true
    } catch (err) {
      log.error(
        { err: isConfigError(err) ? err.message : err },
        'configuration from a sibling worker refused',
      )
      return false
    }
  }

  /** An error whose issues carry their line and column in the admin body (the body is not a file). */
  function placed(
    issues: readonly ConfigIssue[],
    at: (issue: ConfigIssue, n: number) => Position | undefined,
  ): Error & { issues: ConfigIssue[] } {
    const withPlace = issues.map((issue, n) => {
      const { file: _f, ...rest } = issue
      const p = at(issue, n)
      return p ? { ...rest, line: p.line, column: p.column } : rest
    })
    return Object.assign(new Error(issues.map((i) => i.message).join('; ')), { issues: withPlace })
  }

  let admin: AdminServer | undefined
  if (options.admin) {
    let lastBody: { body: Buffer; contentType: string | undefined } | undefined
    try {
      admin = await startAdmin(gateway, {
        token: options.admin.token,
        port: options.admin.port,
        host: options.admin.host,
        allowRemote: options.admin.allowRemote,
        parseConfig: async (body, contentType) => {
          lastBody = { body, contentType }
          try {
            return await parseBody(body, contentType)
          } catch (err) {
            if (err instanceof FileError) throw placed(err.issues, (_i, n) => err.positions[n])
            const issues = (err as { issues?: unknown }).issues
            if (Array.isArray(issues)) throw Object.assign(new Error((err as Error).message), { issues })
            throw err
          }
        },
        redact: () => substituted,
        onApplied: () => {
          if (lastBody) options.onAdminApplied?.(lastBody.body, lastBody.contentType)
        },
      })
    } catch (err) {
      await gateway.close()
      throw err
    }
  }

  let timer: NodeJS.Timeout | undefined
  const watcher =
    options.watch === false
      ? undefined
      : // Editors replace files by renaming, so watch the directory and filter on the name.
        watch(dirname(prepared.loaded.file), (_event, name) => {
          if (name !== null && name !== basename(prepared.loaded.file)) return
          clearTimeout(timer)
          timer = setTimeout(() => void reloadFromFile('file changed'), options.debounce ?? 300)
        })
  watcher?.unref()
  const onHup = () => void reloadFromFile('SIGHUP')
  // Plugin code is imported once per process: only a supervised gateway can run new code.
  const onCode = () =>
    log.warn(
      'a code reload needs a supervised gateway (gatehouse start --supervise or --workers N); restart this one to run new plugin code',
    )
  if (options.handleSignals !== false) {
    process.on('SIGHUP', onHup)
    if (process.env.GATEHOUSE_WORKER !== '1') process.on('SIGUSR2', onCode)
  }

  return {
    gateway,
    url,
    admin,
    reloadFromFile,
    applyBody,
    async close() {
      clearTimeout(timer)
      watcher?.close()
      process.off('SIGHUP', onHup)
      process.off('SIGUSR2', onCode)
      await admin?.close()
      await gateway.close()
    },
  }
}
