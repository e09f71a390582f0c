import type { GatewayConfig } from '@gatehousejs/sdk/config'
import { canonicalJson } from './snapshot.js'

export interface EntityDiff {
  added: string[]
  removed: string[]
  changed: string[]
}

/** What changes between two configurations, by entity; `settings` are the other top-level keys. */
export interface ConfigDiff {
  services: EntityDiff
  routes: EntityDiff
  plugins: EntityDiff
  consumers: EntityDiff
  settings: EntityDiff
}

type Entities = Record<keyof ConfigDiff, Map<string, string>>

interface PluginLike {
  name: string
  id?: string
  service?: string
  route?: string
  consumer?: string
}

function pluginKey(p: PluginLike, scope: string): string {
  const bound = [
    p.service && `service ${p.service}`,
    p.route && `route ${p.route}`,
    p.consumer && `consumer ${p.consumer}`,
  ].filter(Boolean)
  const where = scope || (bound.length ? bound.join(', ') : 'global')
  return `${p.name}${p.id ? ` #${p.id}` : ''} (${where})`
}

/** Flattens a config into entities keyed by a readable identity, each with its canonical JSON. */
function entitiesOf(config: GatewayConfig | undefined): Entities {
  const out: Entities = {
    services: new Map(),
    routes: new Map(),
    plugins: new Map(),
    consumers: new Map(),
    settings: new Map(),
  }
  if (!config) return out
  const addPlugins = (list: PluginLike[] | undefined, scope: string) => {
    for (const p of list ?? []) out.plugins.set(pluginKey(p, scope), canonicalJson(p))
  }
  for (const [key, value] of Object.entries(config)) {
    if (!['services', 'plugins', 'consumers'].includes(key)) out.settings.set(key, canonicalJson(value))
  }
  addPlugins(config.plugins as PluginLike[] | undefined, '')
  for (const s of config.services ?? []) {
    const { routes, plugins, ...own } = s
    out.services.set(s.name, canonicalJson(own))
    addPlugins(plugins as PluginLike[] | undefined, `service ${s.name}`)
    routes?.forEach((r, i) => {
      const { plugins: rp, ...rown } = r
      const name = r.name ?? `${s.name}.${i}`
      out.routes.set(name, canonicalJson({ ...rown, service: s.name }))
      addPlugins(rp as PluginLike[] | undefined, `route ${name}`)
    })
  }
  for (const c of config.consumers ?? []) {
    const { plugins, ...own } = c
    const id = c.id ?? c.username ?? '?'
    out.consumers.set(id, canonicalJson(own))
    addPlugins(plugins as PluginLike[] | undefined, `consumer ${id}`)
  }
  return out
}

export function diffConfigs(from: GatewayConfig | undefined, to: GatewayConfig): ConfigDiff {
  const a = entitiesOf(from)
  const b = entitiesOf(to)
  const diff = {} as ConfigDiff
  for (const kind of Object.keys(a) as (keyof ConfigDiff)[]) {
    const d: EntityDiff = { added: [], removed: [], changed: [] }
    for (const [k, v] of b[kind]) {
      if (!a[kind].has(k)) d.added.push(k)
      else if (a[kind].get(k) !== v) d.changed.push(k)
    }
    for (const k of a[kind].keys()) if (!b[kind].has(k)) d.removed.push(k)
    diff[kind] = d
  }
  return diff
}

export function isEmptyDiff(diff: ConfigDiff): boolean {
  return Object.values(diff).every((d) => d.added.length + d.removed.length + d.changed.length === 0)
}

const SINGULAR: Record<keyof ConfigDiff, string> = {
  services: 'service',
  routes: 'route',
  plugins: 'plugin',
  consumers: 'consumer',
  settings: 'setting',
}

/** One line per change: `+ service users`, `- route users.0`, `~ plugin rate-limit (global)`. */
export function formatDiff(diff: ConfigDiff): string {
  const lines: string[] = []
  for (const kind of Object.keys(diff) as (keyof ConfigDiff)[]) {
    const d = diff[kind]
    for (const k of d.added) lines.push(`+ ${SINGULAR[kind]} ${k}`)
    for (const k of d.removed) lines.push(`- ${SINGULAR[kind]} ${k}`)
    for (const k of d.changed) lines.push(`~ ${SINGULAR[kind]} ${k}`)
  }
  return lines.length ? lines.join('\n') : 'no changes'
}
