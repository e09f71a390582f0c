import { createHash } from 'node:crypto'
import type { ConfigIssue, PluginCheckEnv, PluginDefinition } from '@gatehousejs/sdk'
import type { GatewayConfig } from '@gatehousejs/sdk/config'
import { PLUGIN_API_VERSION, pluginKeyProblems, stableJson } from '@gatehousejs/sdk/host'
import { validateWith } from './ajv.js'
import { didYouMean } from './hints.js'
import { list, type Plan, type PlannedInstance, type PlanOptions } from './plan.js'
import { declarations } from './references.js'

/**
 * Plugin instances, checked into the plan (step 1): a registered definition for the plugin API this
 * gateway speaks, `before`/`after` names, the config against the plugin's schema, one instance per
 * scope for a plugin that does not stack, unique ids; then the plugin's own `validate` (and, online,
 * `check`), whose problems are located under the instance.
 */

const EMPTY_CONFIG_SCHEMA = { type: 'object', additionalProperties: false, properties: {} }

/** The plugin definitions by name; two different definitions under one name is a problem. */
export function pluginRegistry(defs: readonly PluginDefinition[] | undefined): {
  registry: Map<string, PluginDefinition>
  issues: ConfigIssue[]
} {
  const registry = new Map<string, PluginDefinition>()
  const issues: ConfigIssue[] = []
  for (const def of defs ?? []) {
    if (registry.has(def.name) && registry.get(def.name) !== def)
      issues.push({
        pointer: '',
        plugin: def.name,
        message: `two plugin definitions are named "${def.name}"`,
      })
    registry.set(def.name, def)
  }
  return { registry, issues }
}

/** Checks every enabled plugin declaration into `plan.planned`. */
export function checkInstances(
  config: GatewayConfig,
  plan: Plan,
  opts: PlanOptions,
  consumerIndex: Map<string, string>,
  issues: ConfigIssue[],
): void {
  // Instances see every consumer's credentials at `init`: a change to consumers re-creates them on reload.
  const consumersKey = createHash('sha256')
    .update(stableJson(plan.consumers.map(({ pointer: _p, ...rest }) => rest)))
    .digest('base64url')
  const seenScopes = new Map<string, string>()
  const ids = new Set<string>()
  const checkedDefs = new Set<PluginDefinition>()
  const known = [...opts.plugins.keys()].sort()
  const hint: typeof didYouMean = opts.hints ? didYouMean : () => ''
  for (const d of declarations(config, plan, consumerIndex, issues, hint)) {
    if (d.decl.enabled === false || typeof d.decl.name !== 'string') continue
    const def = opts.plugins.get(d.decl.name)
    if (!def) {
      issues.push({
        pointer: `${d.pointer}/name`,
        plugin: d.decl.name,
        message: `unknown plugin "${d.decl.name}"; registered plugins: ${known.length ? known.join(', ') : '(none)'}${hint(d.decl.name, known)}`,
      })
      continue
    }
    if (Math.floor(def.apiVersion) !== PLUGIN_API_VERSION) {
      issues.push({
        pointer: `${d.pointer}/name`,
        plugin: def.name,
        message: `plugin "${def.name}" was built for plugin API ${def.apiVersion}; this gateway speaks ${PLUGIN_API_VERSION}`,
      })
      continue
    }
    // A definition written in plain JavaScript (no types) may carry a misspelled key: refuse it by name.
    if (!checkedDefs.has(def)) {
      checkedDefs.add(def)
      for (const message of pluginKeyProblems(def, 'definition'))
        issues.push({
          pointer: `${d.pointer}/name`,
          plugin: def.name,
          message: `plugin definition: ${message}`,
        })
    }
    for (const key of ['before', 'after'] as const) {
      d.decl[key]?.forEach((n, i) => {
        if (!opts.plugins.has(n)) {
          issues.push({
            pointer: `${d.pointer}/${key}/${i}`,
            plugin: def.name,
            message: `unknown plugin "${n}"${hint(n, known)}`,
          })
        }
      })
    }
    const pluginConfig = (d.decl.config ?? {}) as Record<string, unknown>
    issues.push(
      ...validateWith(def.schema ?? EMPTY_CONFIG_SCHEMA, pluginConfig, `${d.pointer}/config`, def.name),
    )
    const scopeKey = `${def.name}|${d.scope.service ?? ''}|${d.scope.route ?? ''}|${d.scope.consumer ?? ''}`
    if (!def.stacking) {
      const first = seenScopes.get(scopeKey)
      if (first) {
        issues.push({
          pointer: d.pointer,
          plugin: def.name,
          message: `plugin "${def.name}" is already configured at ${first} with the same scope (it does not stack)`,
        })
      }
      seenScopes.set(scopeKey, d.pointer)
    }
    if (d.decl.id !== undefined) {
      if (ids.has(d.decl.id))
        issues.push({
          pointer: `${d.pointer}/id`,
          plugin: def.name,
          message: `duplicate instance id "${d.decl.id}"`,
        })
      ids.add(d.decl.id)
    }
    plan.planned.push({
      ...d,
      def,
      config: pluginConfig,
      // A changed `redis` section re-initialises the instances (they may hold one of its connections).
      reuseKey: `${def.name}@${def.version}|${scopeKey}|${consumersKey}|${stableJson(pluginConfig)}|${plan.redis.key}`,
    })
  }
}

/** What a plugin's `validate` and `check` receive: the configuration around the instance, no I/O handles. */
export function checkEnvOf(plan: Plan, p: PlannedInstance): PluginCheckEnv {
  return {
    instance: { scope: Object.freeze({ ...p.scope }) },
    consumers: plan.consumers,
    services: Object.freeze([...plan.services.values()].map((s) => s.info)),
    routes: Object.freeze(plan.routes.map((r) => r.route.info)),
    redis: plan.redis.connections,
  }
}

/**
 * Runs each planned instance's `validate` (pure checks the schema cannot express), or with
 * `online` its `check` (which may do I/O, e.g. fetch a JWKS URL). Problems are made absolute as
 * init's ConfigErrors are (see {@link pluginIssues}).
 */
export async function runPluginChecks(plan: Plan, kind: 'validate' | 'check'): Promise<ConfigIssue[]> {
  const issues: ConfigIssue[] = []
  for (const p of plan.planned) {
    const fn = p.def[kind]
    if (typeof fn !== 'function') continue
    // A config its own schema refused is not checked further: the plugin may rely on its shape.
    const own = `${p.pointer}/config`
    if (
      plan.issues.some((i) => i.pointer === p.pointer || i.pointer === own || i.pointer.startsWith(`${own}/`))
    )
      continue
    try {
      const found = await fn.call(p.def, p.config, checkEnvOf(plan, p))
      if (Array.isArray(found) && found.length > 0) issues.push(...pluginIssues(found, p.pointer, p.def.name))
    } catch (err) {
      issues.push(...pluginIssues(err, p.pointer, p.def.name, kind))
    }
  }
  return issues
}

/**
 * What a plugin reports: a ConfigError (or a list of issues) keeps its issues, with pointers under
 * `/config` made absolute with the instance's pointer (others, such as `/consumers/2/credentials/...`,
 * already are); any other error becomes one issue at the instance.
 */
export function pluginIssues(found: unknown, pointer: string, plugin: string, phase = 'init'): ConfigIssue[] {
  const maybe = found as { code?: unknown; issues?: unknown } | null
  const list = Array.isArray(found)
    ? (found as ConfigIssue[])
    : maybe?.code === 'GH_CONFIG_INVALID' && Array.isArray(maybe.issues) && maybe.issues.length > 0
      ? (maybe.issues as ConfigIssue[])
      : undefined
  if (list) {
    return list.map((i) => ({
      ...i,
      pointer: i.pointer === '/config' || i.pointer.startsWith('/config/') ? pointer + i.pointer : i.pointer,
      plugin: i.plugin ?? plugin,
    }))
  }
  return [{ pointer, plugin, message: `${phase} failed: ${(found as Error)?.message ?? String(found)}` }]
}

/**
 * Plugin defaults are filled into each instance's `config` in place. One object shared by two
 * instances in a config written in code (structuredClone keeps the sharing) would get both plugins'
 * defaults: each later instance gets its own copy first.
 */
export function unshareInstanceConfigs(config: GatewayConfig): void {
  const seen = new Set<object>()
  const visit = (entries: { config?: Record<string, unknown> }[] | undefined) => {
    for (const p of list(entries)) {
      if (p.config === undefined || p.config === null || typeof p.config !== 'object') continue
      if (seen.has(p.config)) p.config = structuredClone(p.config)
      seen.add(p.config)
    }
  }
  visit(config.plugins)
  for (const svc of list(config.services)) {
    visit(svc.plugins)
    for (const r of list(svc.routes)) visit(r.plugins)
  }
  for (const c of list(config.consumers)) visit(c.plugins)
}
