import { validateConfig } from '@gatehousejs/core'
import type { ConfigIssue, PluginDefinition } from '@gatehousejs/sdk'
import type { GatewayConfig } from '@gatehousejs/sdk/config'
import { InvalidFileError } from './invalid-file.js'
import { FileError, type LoadedFile, loadConfigFile, parseConfigText, readConfigText } from './load.js'
import { collectPlugins, PluginResolutionError, resolvePlugins } from './resolve.js'

export { InvalidFileError } from './invalid-file.js'

/** A gateway file read, with its plugins resolved: what `createGateway` needs. */
export interface PreparedFile {
  loaded: LoadedFile
  config: GatewayConfig
  plugins: PluginDefinition[]
  sources: Map<string, string>
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

/** A file {@link checkFile} found valid. */
export interface CheckedFile extends PreparedFile {
  /** The file as written, before `${ENV}` substitution (what `apply` publishes), read once. */
  text: string
  /** Routes and enabled plugin instances it declares. */
  routes: number
  instances: number
}

/**
 * Every check `gatehouse validate` makes, in one pass and with no side effect (no plugin `init`, so
 * no socket, timer or file watcher): the file, plugin resolution, schema, references and every
 * instance's config with its plugin's `validate`. `online` also runs the plugins' `check` (I/O).
 * Throws one InvalidFileError with every problem, in the order they appear in the file.
 */
export async function checkFile(
  path: string,
  options: { online?: boolean; env?: NodeJS.ProcessEnv } = {},
): Promise<CheckedFile> {
  let loaded: LoadedFile
  let text: string
  try {
    const read = await readConfigText(path)
    text = read.text
    loaded = parseConfigText(text, read.file, options.env)
  } catch (err) {
    if (err instanceof FileError) throw new InvalidFileError(err.file, err.issues, err.positions)
    throw err
  }
  const resolved = await collectPlugins(loaded.config, loaded.file)
  const result = await validateConfig(resolved.config, {
    plugins: resolved.plugins,
    file: loaded.file,
    online: options.online === true,
  })
  // A plugin that could not be resolved is reported once, by the resolver, with what to install.
  const unresolved = new Set(resolved.issues.map((i) => i.pointer))
  const issues = [
    ...resolved.issues,
    ...result.issues.filter((i) => !unresolved.has(i.pointer)).map(({ file: _f, ...i }) => i),
  ]
  if (issues.length > 0) throw byPosition(located(loaded, issues))
  return {
    loaded,
    config: resolved.config,
    plugins: resolved.plugins,
    sources: resolved.sources,
    text,
    routes: result.routes,
    instances: result.instances,
  }
}

/** The problems in the order they appear in the file (those without a place last). */
function byPosition(err: InvalidFileError): InvalidFileError {
  const order = err.issues
    .map((issue, i) => ({ issue, at: err.positions[i] }))
    .sort(
      (a, b) =>
        (a.at?.line ?? Number.POSITIVE_INFINITY) - (b.at?.line ?? Number.POSITIVE_INFINITY) ||
        (a.at?.column ?? 0) - (b.at?.column ?? 0),
    )
  return new InvalidFileError(
    err.file,
    order.map((o) => o.issue),
    order.map((o) => o.at),
  )
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
