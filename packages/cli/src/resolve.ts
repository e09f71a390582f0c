import { existsSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, isAbsolute, join, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import {
  type ConfigIssue,
  type GatewayConfig,
  PLUGIN_API_VERSION,
  type PluginDefinition,
} from '@gatehousejs/sdk'

/** Where a plugin reference in the file is, and what it says. */
interface Reference {
  pointer: string
  name: string
}

/** The plugins Gatehouse publishes: a bare name resolves to `@gatehousejs/plugin-<name>` first. */
export const BUNDLED_PREFIX = '@gatehousejs/plugin-'

/** Whether a reference is a path to a local plugin file rather than a package. */
export function isPathReference(name: string): boolean {
  return name.startsWith('./') || name.startsWith('../') || isAbsolute(name)
}

/** The packages a reference may name, in the order they are tried. */
export function candidatesFor(name: string): string[] {
  if (name.startsWith('@')) return [name]
  if (name.startsWith('gatehouse-plugin-')) return [name]
  return [`${BUNDLED_PREFIX}${name}`, `gatehouse-plugin-${name}`, name]
}

function collectReferences(config: GatewayConfig): Reference[] {
  const refs: Reference[] = []
  const add = (list: { name: string }[] | undefined, base: string) => {
    list?.forEach((p, i) => {
      if (p && typeof p.name === 'string') refs.push({ pointer: `${base}/${i}/name`, name: p.name })
    })
  }
  add(config.plugins, '/plugins')
  config.services?.forEach((s, i) => {
    add(s.plugins, `/services/${i}/plugins`)
    s.routes?.forEach((r, j) => {
      add(r.plugins, `/services/${i}/routes/${j}/plugins`)
    })
  })
  config.consumers?.forEach((c, i) => {
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
 * Loads every plugin the file names. A bare name tries `@gatehousejs/plugin-<name>`, then
 * `gatehouse-plugin-<name>`, then `<name>`, installed next to the file (its directory's node_modules,
 * searched upwards) and then next to the CLI itself; a scoped or `gatehouse-plugin-` name is the
 * package itself; `./x.js` is a file relative to the config file. Every failure is reported at once.
 */
export async function resolvePlugins(
  config: GatewayConfig,
  configFile: string,
  builtins: readonly PluginDefinition[] = [],
): Promise<ResolvedPlugins> {
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
  if (issues.length > 0) throw new PluginResolutionError(issues)

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
    const install = ref.name.startsWith('@') || ref.name.startsWith('gatehouse-plugin-') ? ref.name : tried[0]
    issues.push({
      pointer: ref.pointer,
      plugin: ref.name,
      message: `plugin "${ref.name}" is not installed (tried ${tried.join(', ')} from ${baseDir}); install it next to the file: npm install ${install}`,
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

  return { plugins: uniqueDefinitions(byRef), config: renamed(config, byRef), sources }
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
    for (const p of list ?? []) {
      const def = byRef.get(p.name)
      if (def) p.name = def.name
      if (p.before) p.before = p.before.map((n) => byRef.get(n)?.name ?? n)
      if (p.after) p.after = p.after.map((n) => byRef.get(n)?.name ?? n)
    }
  }
  fix(copy.plugins)
  for (const s of copy.services ?? []) {
    fix(s.plugins)
    for (const r of s.routes ?? []) fix(r.plugins)
  }
  for (const c of copy.consumers ?? []) fix(c.plugins)
  return copy
}
