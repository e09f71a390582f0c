import { relative } from 'node:path'
import type { ConfigIssue, PluginDefinition } from '@gatehousejs/sdk'
import type { GatewayConfig } from '@gatehousejs/sdk/config'
import { FileError, type LoadedFile, loadConfigFile, type Position } from './load.js'
import { PluginResolutionError, resolvePlugins } from './resolve.js'

/** A gateway file read, with its plugins resolved: what `createGateway` needs. */
export interface PreparedFile {
  loaded: LoadedFile
  config: GatewayConfig
  plugins: PluginDefinition[]
  sources: Map<string, string>
}

/** Every problem in a file, each with its place: what `validate` prints and `start` refuses with. */
export class InvalidFileError extends Error {
  readonly file: string
  readonly issues: ConfigIssue[]
  readonly positions: (Position | undefined)[]
  constructor(file: string, issues: ConfigIssue[], positions: (Position | undefined)[]) {
    super(`${file}: ${issues.length} problem${issues.length === 1 ? '' : 's'}`)
    this.name = 'InvalidFileError'
    this.file = file
    this.issues = issues
    this.positions = positions
  }

  /** One line per problem: `file:line:column  /json/pointer  (plugin x)  message`. */
  format(cwd = process.cwd()): string {
    const rel = relative(cwd, this.file)
    const shown = rel && !rel.startsWith('..') ? rel : this.file
    return this.issues
      .map((issue, i) => {
        const at = this.positions[i]
        const where = at ? `${shown}:${at.line}:${at.column}` : shown
        const pointer = issue.pointer ? ` ${issue.pointer}` : ''
        const plugin = issue.plugin ? ` (plugin ${issue.plugin})` : ''
        return `${where}${pointer}${plugin}: ${issue.message}`
      })
      .join('\n')
  }
}

/** Reads and resolves a gateway file; every problem becomes one InvalidFileError. */
export async function prepareFile(path: string, env: NodeJS.ProcessEnv = process.env): Promise<PreparedFile> {
  let loaded: LoadedFile
  try {
    loaded = await loadConfigFile(path, env)
  } catch (err) {
    if (err instanceof FileError) throw new InvalidFileError(err.file, err.issues, err.positions)
    throw err
  }
  try {
    const resolved = await resolvePlugins(loaded.config, loaded.file)
    return { loaded, config: resolved.config, plugins: resolved.plugins, sources: resolved.sources }
  } catch (err) {
    if (err instanceof PluginResolutionError) throw located(loaded, err.issues)
    throw err
  }
}

/** Turns a ConfigError from core into an InvalidFileError with positions in `loaded`. */
export function located(loaded: LoadedFile, issues: readonly ConfigIssue[]): InvalidFileError {
  // Each instance of an auth plugin checks every consumer's credentials: a bad one is one problem.
  const seen = new Set<string>()
  const unique = issues.filter((i) => {
    const key = JSON.stringify([i.pointer, i.plugin, i.message])
    if (seen.has(key)) return false
    seen.add(key)
    return true
  })
  return new InvalidFileError(
    loaded.file,
    unique,
    unique.map((i) => loaded.locate(i.pointer)),
  )
}

/** Runs `fn`; a ConfigError it throws becomes an InvalidFileError located in the file. */
export async function withLocations<T>(loaded: LoadedFile, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn()
  } catch (err) {
    if (isConfigError(err)) throw located(loaded, err.issues)
    throw err
  }
}

/** A ConfigError from any copy of the SDK (a plugin may bring its own). */
export function isConfigError(err: unknown): err is { issues: ConfigIssue[]; message: string } {
  return (
    err instanceof Error && err.name === 'ConfigError' && Array.isArray((err as { issues?: unknown }).issues)
  )
}
