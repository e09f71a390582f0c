import { existsSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { delimiter, dirname, isAbsolute, join, resolve } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import type { ConfigIssue, PluginDefinition } from '@gatehousejs/sdk'
import type { GatewayConfig } from '@gatehousejs/sdk/config'
import { PLUGIN_API_VERSION } from '@gatehousejs/sdk/host'
import { FIRST_PARTY_PLUGINS, FIRST_PARTY_PREFIX, nearestFirstParty } from './first-party.js'

/** Where a plugin reference in the file is, and what it says. */
interface Reference {
  pointer: string
  name: string
}

/** The plugins Gatehouse publishes: a bare name resolves to `@gatehousejs/plugin-<name>` first. */
export const BUNDLED_PREFIX = FIRST_PARTY_PREFIX

/** Whether a reference is a path to a local plugin file rather than a package. */
export function isPathReference(name: string): boolean {
  return name.startsWith('./') || name.startsWith('../') || isAbsolute(name)
}

/**
 * The packages a reference may name, in the order they are tried (docs/cli.md, "Plugins by name"):
 * a scoped or `gatehouse-plugin-` name is that package; a short name `x` is
 * `@gatehousejs/plugin-x` (first-party: only Gatehouse can publish in its scope, so a third-party
 * package cannot shadow it), then `gatehouse-plugin-x`, then a package called `x`.
 */
export function candidatesFor(name: string): string[] {
  if (name.startsWith('@')) return [name]
  if (name.startsWith('gatehouse-plugin-')) return [name]
  return [`${FIRST_PARTY_PREFIX}${name}`, `gatehouse-plugin-${name}`, name]
}

/**
 * What to install for a name that resolved to nothing: `@gatehousejs/plugin-<name>` only for a
 * plugin Gatehouse publishes; for any other name the third-party forms, and the first-party plugin
 * it is a near miss of, if any.
 */
export function installHint(name: string): string {
  const short = name.startsWith(FIRST_PARTY_PREFIX) ? name.slice(FIRST_PARTY_PREFIX.length) : undefined
  if (short !== undefined || (!name.startsWith('@') && !name.startsWith('gatehouse-plugin-'))) {
    const bare = short ?? name
    if (FIRST_PARTY_PLUGINS.includes(bare)) return `install it: npm install ${FIRST_PARTY_PREFIX}${bare}`
    const near = nearestFirstParty(bare)
    const meant = near ? ` Did you mean "${near}" (npm install ${FIRST_PARTY_PREFIX}${near})?` : ''
    if (short !== undefined) return `Gatehouse publishes no plugin called "${bare}".${meant}`
    return `"${bare}" is not a Gatehouse plugin: a third-party plugin is published as gatehouse-plugin-${bare} or @<scope>/gatehouse-plugin-${bare}; install the one you mean.${meant}`
  }
  const tail = name.slice(name.lastIndexOf('gatehouse-plugin-') + 'gatehouse-plugin-'.length)
  const near = name.includes('gatehouse-plugin-') ? nearestFirstParty(tail) : undefined
  const first = near ? ` (the first-party "${near}" is npm install ${FIRST_PARTY_PREFIX}${near})` : ''
  return `install it: npm install ${name}${first}`
}

/** Node also resolves from the folders in NODE_PATH: name them when it is set. */
function nodePath(): string {
  const dirs = (process.env.NODE_PATH ?? '').split(delimiter).filter(Boolean)
  return dirs.length > 0 ? ` and in NODE_PATH (${dirs.join(', ')})` : ''
}

/** The CLI package's folder: plugins installed next to the CLI are found from here. */
const CLI_DIR = fileURLToPath(new URL('..', import.meta.url))

/** An array in the file, or none: `validate` reads a file whose shape the schema may yet refuse. */
function arr<T>(value: T[] | undefined): T[] {
  return Array.isArray(value) ? value.filter((v) => v !== null && typeof v === 'object') : []
}

function collectReferences(config: GatewayConfig): Reference[] {
  const refs: Reference[] = []
  const add = (list: { name: string }[] | undefined, base: string) => {
    arr(list).forEach((p, i) => {
      if (typeof p.name === 'string') refs.push({ pointer: `${base}/${i}/name`, name: p.name })
    })
  }
  add(config.plugins, '/plugins')
  arr(config.services).forEach((s, i) => {
    add(s.plugins, `/services/${i}/plugins`)
    arr(s.routes).forEach((r, j) => {
      add(r.plugins, `/services/${i}/routes/${j}/plugins`)
    })
  })
  arr(config.consumers).forEach((c, i) => {
    add(c.plugins, `/consumers/${i}/plugins`)
  })
  return refs
}

function definitionOf(mod: unknown): PluginDefinition | undefined {
  const isDef = (v: unknown): v is PluginDefinition =>
    typeof v === 'object' && v !== null && typeof (v as PluginDefinition).init === 'function'
  const m = mod as { default?: unknown; plugin?: unknown }
  if (isDef(m.default)) return m.default
  if (isDef((m.default as { default?: unknown } | undefined)?.default))
    return (m.default as { default: PluginDefinition }).default
  if (isDef(m.plugin)) return m.plugin
  if (isDef(mod)) return mod
  return undefined
}

export interface ResolvedPlugins {
  /** The definitions to give createGateway. */
  plugins: PluginDefinition[]
  /** The config with every reference replaced by the plugin's registered name. */
  config: GatewayConfig
  /** Where each definition came from (a package name and version, or a file). */
  sources: Map<string, string>
}

export class PluginResolutionError extends Error {
  readonly issues: ConfigIssue[]
  constructor(issues: ConfigIssue[]) {
    super(issues.map((i) => `${i.pointer}: ${i.message}`).join('\n'))
    this.name = 'PluginResolutionError'
    this.issues = issues
  }
}

/**
 * Loads every plugin the file names. Each candidate package (candidatesFor) is looked for next to
 * the file (its directory's node_modules, searched upwards as Node does) and then next to the CLI
 * (the CLI package's own resolution: where `npm install -g` or a project put the CLI, first-party
 * plugins installed beside it are found); `./x.js` is a file relative to the config file. Every
 * failure is reported at once.
 */
export async function resolvePlugins(
  config: GatewayConfig,
  configFile: string,
  builtins: readonly PluginDefinition[] = [],
): Promise<ResolvedPlugins> {
  const resolved = await collectPlugins(config, configFile, builtins)
  if (resolved.issues.length > 0) throw new PluginResolutionError(resolved.issues)
  return resolved
}

/**
 * As {@link resolvePlugins}, but a reference that cannot be resolved is an issue in the result
 * rather than a thrown error, so `validate` can go on and report the rest of the file as well.
 */
export async function collectPlugins(
  config: GatewayConfig,
  configFile: string,
  builtins: readonly PluginDefinition[] = [],
): Promise<ResolvedPlugins & { issues: ConfigIssue[] }> {
  const baseDir = dirname(resolve(configFile))
  const fromConfig = createRequire(join(baseDir, 'gatehouse.config.js'))
  const fromCli = createRequire(import.meta.url)
  const byRef = new Map<string, PluginDefinition>()
  const sources = new Map<string, string>()
  const issues: ConfigIssue[] = []
  for (const def of builtins) byRef.set(def.name, def)

  for (const ref of collectReferences(config)) {
    if (byRef.has(ref.name)) continue
    const found = await load(ref)
    if (!found) continue
    const { def, source } = found
    if (def.apiVersion !== PLUGIN_API_VERSION) {
      issues.push({
        pointer: ref.pointer,
        plugin: ref.name,
        message: `${source} was built for plugin API v${String(def.apiVersion)}, but this Gatehouse speaks v${PLUGIN_API_VERSION}: install a version of it built for @gatehousejs/sdk ${PLUGIN_API_VERSION}.x`,
      })
      continue
    }
    byRef.set(ref.name, def)
    sources.set(def.name, source)
  }

  async function load(ref: Reference): Promise<{ def: PluginDefinition; source: string } | undefined> {
    if (isPathReference(ref.name)) {
      const file = resolve(baseDir, ref.name)
      if (!existsSync(file)) {
        issues.push({ pointer: ref.pointer, plugin: ref.name, message: `no plugin file at ${file}` })
        return undefined
      }
      return importDefinition(ref, file, file)
    }
    const tried: string[] = []
    for (const pkg of candidatesFor(ref.name)) {
      tried.push(pkg)
      for (const req of [fromConfig, fromCli]) {
        let entry: string
        try {
          entry = req.resolve(pkg)
        } catch (err) {
          const code = (err as NodeJS.ErrnoException).code
          if (code === 'MODULE_NOT_FOUND' || code === 'ERR_PACKAGE_PATH_NOT_EXPORTED') continue
          issues.push({
            pointer: ref.pointer,
            plugin: ref.name,
            message: `cannot load ${pkg}: ${String(err)}`,
          })
          return undefined
        }
        return importDefinition(ref, entry, `${pkg}@${versionOf(entry, pkg)}`)
      }
    }
    issues.push({
      pointer: ref.pointer,
      plugin: ref.name,
      message: `plugin "${ref.name}" is not installed: looked for ${tried.join(', ')} in the node_modules folders next to the file (from ${baseDir} upwards) and next to the CLI (from ${CLI_DIR} upwards)${nodePath()}; ${installHint(ref.name)}`,
    })
    return undefined
  }

  async function importDefinition(
    ref: Reference,
    entry: string,
    source: string,
  ): Promise<{ def: PluginDefinition; source: string } | undefined> {
    let mod: unknown
    try {
      mod = await import(pathToFileURL(entry).href)
    } catch (err) {
      issues.push({
        pointer: ref.pointer,
        plugin: ref.name,
        message: `${source} failed to load: ${(err as Error).message}`,
      })
      return undefined
    }
    const def = definitionOf(mod)
    if (!def) {
      issues.push({
        pointer: ref.pointer,
        plugin: ref.name,
        message: `${source} does not export a plugin definition (export default definePlugin({...}))`,
      })
      return undefined
    }
    return { def, source }
  }

  return { plugins: uniqueDefinitions(byRef), config: renamed(config, byRef), sources, issues }
}

/** The version in the package.json above `entry` whose name is `pkg` (its exports may hide package.json). */
function versionOf(entry: string, pkg: string): string {
  let dir = dirname(entry)
  for (let i = 0; i < 20; i++) {
    const file = join(dir, 'package.json')
    if (existsSync(file)) {
      try {
        const manifest = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version?: string }
        if (manifest.name === pkg) return manifest.version ?? '?'
      } catch {
        return '?'
      }
    }
    const up = dirname(dir)
    if (up === dir) break
    dir = up
  }
  return '?'
}

function uniqueDefinitions(byRef: Map<string, PluginDefinition>): PluginDefinition[] {
  return [...new Set(byRef.values())]
}

/** A copy of the config where each plugin reference (and before/after) is the registered name. */
function renamed(config: GatewayConfig, byRef: Map<string, PluginDefinition>): GatewayConfig {
  const copy = structuredClone(config)
  const fix = (list: { name: string; before?: string[]; after?: string[] }[] | undefined) => {
    for (const p of arr(list)) {
      const def = byRef.get(p.name)
      if (def) p.name = def.name
      if (Array.isArray(p.before)) p.before = p.before.map((n) => byRef.get(n)?.name ?? n)
      if (Array.isArray(p.after)) p.after = p.after.map((n) => byRef.get(n)?.name ?? n)
    }
  }
  fix(copy.plugins)
  for (const s of arr(copy.services)) {
    fix(s.plugins)
    for (const r of arr(s.routes)) fix(r.plugins)
  }
  for (const c of arr(copy.consumers)) fix(c.plugins)
  return copy
}
