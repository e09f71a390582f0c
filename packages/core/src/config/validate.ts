import { createHash } from 'node:crypto'
import { dirname, resolve } from 'node:path'
import {
  type ConfigIssue,
  type ConsumerRecord,
  PLUGIN_API_VERSION,
  type PluginCheckEnv,
  type PluginDefinition,
  type PluginScope,
} from '@gatehousejs/sdk'
import {
  type GatewayConfig,
  GatewayConfigSchema,
  type NestedPluginConfig,
  type PoolConfig,
  pluginKeyProblems,
  type RedisConnectionConfig,
  type RedisConnectionInput,
  redisConnectionIssues,
  stableJson,
  type TlsConfig,
} from '@gatehousejs/sdk/config'
import type { CompiledRoute, CompiledService, Generation, MirrorRule } from '../model.js'
import { loadTls } from '../server/tls.js'
import { compileMirrors } from '../upstream/mirror.js'
import type { PoolLimits } from '../upstream/pools.js'
import { validateWith } from './ajv.js'
import { didYouMean } from './hints.js'
import { compileTrust, type TrustFn } from './trust.js'
import { compileSplits, compileUpstream } from './upstreams.js'

/**
 * Step 1 of a load (docs/architecture.md, "The generation model"): the whole configuration checked
 * and normalised, with no side effect. Nothing here opens a socket, starts a timer, watches a file or
 * calls a plugin's `init`: `gatehouse validate` runs this step alone.
 */
export interface Plan {
  /** The validated copy, defaults filled in, durations in milliseconds, sizes in bytes. */
  config: GatewayConfig
  services: Map<string, CompiledService>
  routes: RouteDraft[]
  mirrors: Map<string, MirrorRule[]>
  consumers: ConsumerRecord[]
  /** The enabled plugin instances, each with its definition and validated config: what step 2 builds. */
  planned: PlannedInstance[]
  trust: TrustFn
  /** The top-level `redis` section, validated, for `env.redis`; `key` changes when the section does. */
  redis: { connections: Readonly<Record<string, RedisConnectionConfig>>; key: string }
  /** Every problem found; the plan is usable only when this is empty. */
  issues: ConfigIssue[]
}

/** A route before its chains are compiled (step 4), with the declaration it came from. */
export interface RouteDraft {
  pointer: string
  route: Omit<CompiledRoute, 'chain' | 'consumerChains'>
  input: RouteInput
}

export type RouteInput = NonNullable<NonNullable<GatewayConfig['services']>[number]['routes']>[number]

/** A plugin instance as declared: its place, scope and (once checked) definition and config. */
export interface PlannedInstance {
  decl: NestedPluginConfig
  scope: PluginScope
  pointer: string
  def: PluginDefinition
  config: Record<string, unknown>
  /** Identity across reloads: same plugin, version, scope, consumers and config reuse the instance. */
  reuseKey: string
}

export interface PlanOptions {
  plugins: ReadonlyMap<string, PluginDefinition>
  /** The running generation: a balanced service keeps its targets' health state across a reload. */
  previous?: Generation | undefined
  /**
   * Append "did you mean" to messages about unknown names (plugins, routes, services, consumers).
   * `validateConfig` does; a load keeps its messages as they were (callers match them exactly).
   */
  hints?: boolean
}

const DEFAULT_TIMEOUTS = { connect: 10_000, read: 60_000 }
/** Envoy's default `max_pending_requests` per cluster. */
const DEFAULT_POOL_QUEUE = 1024
const EMPTY_CONFIG_SCHEMA = { type: 'object', additionalProperties: false, properties: {} }
/** Printable text (and tabs/spaces): what an HTTP header value may hold (RFC 9110 §5.5). */
const IDENTITY_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/

/**
 * Validates `input` (a copy of it: the caller's object is not touched). The schema is checked first;
 * references, consumers and plugin instances are checked even when the schema found problems, so one
 * run reports everything. A problem the schema already reported at a pointer is not repeated there.
 */
export function planGeneration(input: GatewayConfig, opts: PlanOptions): Plan {
  const config = structuredClone(input ?? {}) as GatewayConfig
  const schemaIssues = validateWith(GatewayConfigSchema, config, '')
  const plan: Plan = {
    config,
    services: new Map(),
    routes: [],
    mirrors: new Map(),
    consumers: [],
    planned: [],
    trust: () => false,
    redis: { connections: {}, key: '' },
    issues: [],
  }
  if (config === null || typeof config !== 'object' || Array.isArray(config)) {
    plan.issues = schemaIssues
    return plan
  }
  unshareInstanceConfigs(config)
  const issues: ConfigIssue[] = []
  try {
    plan.redis = compileRedisSection(config.redis, issues)
    checkServices(config, plan, opts, issues)
    const consumerIndex = checkConsumers(config, plan, issues)
    checkInstances(config, plan, opts, consumerIndex, issues)
    try {
      plan.trust = compileTrust(config.trustProxy)
    } catch (err) {
      issues.push({ pointer: '/trustProxy', message: (err as Error).message })
    }
  } catch (err) {
    // Only a shape the schema refused can make a check throw: those problems are reported already.
    if (schemaIssues.length === 0) throw err
  }
  const reported = new Set(schemaIssues.map((i) => i.pointer))
  plan.issues = [...schemaIssues, ...issues.filter((i) => !reported.has(i.pointer))]
  return plan
}

function list<T>(value: T[] | undefined): T[] {
  return Array.isArray(value) ? value.filter((v) => v !== null && typeof v === 'object') : []
}

function checkServices(config: GatewayConfig, plan: Plan, opts: PlanOptions, issues: ConfigIssue[]): void {
  const defaults = {
    connect: (config.timeouts?.connect as number | undefined) ?? DEFAULT_TIMEOUTS.connect,
    read: (config.timeouts?.read as number | undefined) ?? DEFAULT_TIMEOUTS.read,
    total: (config.timeouts?.total as number | undefined) ?? 0,
  }
  const services = plan.services
  const routeNames = new Set<string>()
  list(config.services).forEach((svc, si) => {
    const pointer = `/services/${si}`
    if (services.has(svc.name))
      issues.push({ pointer: `${pointer}/name`, message: `duplicate service name "${svc.name}"` })
    const timeouts = {
      connect: (svc.timeouts?.connect as number | undefined) ?? defaults.connect,
      read: (svc.timeouts?.read as number | undefined) ?? defaults.read,
      total: (svc.timeouts?.total as number | undefined) ?? defaults.total,
    }
    const routes = list(svc.routes)
    const hasTotal = timeouts.total > 0 || routes.some((r) => (r.timeouts?.total as number) > 0)
    const upstream = compileUpstream(
      svc,
      pointer,
      issues,
      opts.previous?.services.get(svc.name)?.group,
      hasTotal,
    )
    const compiled: CompiledService = {
      name: svc.name,
      origin: upstream.origin,
      basePath: upstream.basePath,
      timeouts,
      info: Object.freeze({ name: svc.name, url: upstream.infoUrl }),
      group: upstream.group,
      retry: upstream.retry,
      hashKey: upstream.hashKey,
      split: undefined,
      pool: compilePool(svc.pool, timeouts.connect, `${pointer}/pool`, issues),
    }
    services.set(svc.name, compiled)
    routes.forEach((route, ri) => {
      const rp = `${pointer}/routes/${ri}`
      const name = route.name ?? `${svc.name}.${ri}`
      if (routeNames.has(name))
        issues.push({ pointer: `${rp}/name`, message: `duplicate route name "${name}"` })
      routeNames.add(name)
      const paths = (Array.isArray(route.paths) ? route.paths : ['/']).filter((p) => typeof p === 'string')
      const paramSets = paths.map((p, pi) => {
        const names = [...p.matchAll(/\/:([^/]*)/g)].map((m) => m[1]!)
        for (const n of names) {
          if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(n)) {
            issues.push({ pointer: `${rp}/paths/${pi}`, message: `":${n}" is not a valid parameter name` })
          }
        }
        if (new Set(names).size !== names.length) {
          issues.push({ pointer: `${rp}/paths/${pi}`, message: 'a parameter name appears twice' })
        }
        return new Set(names)
      })
      let rewrite: CompiledRoute['rewrite']
      if (typeof route.rewrite === 'string') {
        const used = [...route.rewrite.matchAll(/:([A-Za-z_][A-Za-z0-9_]*)/g)].map((m) => m[1]!)
        for (const u of used) {
          if (!paramSets.every((s) => s.has(u))) {
            issues.push({
              pointer: `${rp}/rewrite`,
              message: `":${u}" is not a parameter of every path of this route`,
            })
          }
        }
        rewrite = compileRewrite(route.rewrite)
      }
      plan.routes.push({
        pointer: rp,
        input: route,
        route: {
          name,
          service: compiled,
          info: Object.freeze({
            name,
            service: svc.name,
            paths: Object.freeze([...paths]),
            methods: route.methods ? Object.freeze([...route.methods]) : undefined,
            hosts: route.hosts ? Object.freeze([...route.hosts]) : undefined,
          }),
          stripPath: route.stripPath ?? true,
          rewrite,
          preserveHost: route.preserveHost ?? false,
          escapedSlashes: route.escapedSlashes ?? svc.escapedSlashes ?? config.escapedSlashes ?? 'reject',
          timeouts: {
            connect: (route.timeouts?.connect as number | undefined) ?? timeouts.connect,
            read: (route.timeouts?.read as number | undefined) ?? timeouts.read,
            total: (route.timeouts?.total as number | undefined) ?? timeouts.total,
          },
          maxInflight: route.maxInflight ?? 0,
          inflight: 0,
        },
      })
    })
  })
  compileSplits(list(config.services), services, issues)
  plan.mirrors = compileMirrors(list(config.services), services, issues)
}

/** A service's `pool`: the queue bounds only mean something once `connections` caps the pool. */
function compilePool(
  pool: PoolConfig | undefined,
  connectTimeout: number,
  pointer: string,
  issues: ConfigIssue[],
): PoolLimits | undefined {
  if (pool === undefined) return undefined
  if (pool.connections === undefined) {
    if (pool.queue !== undefined || pool.queueTimeout !== undefined)
      issues.push({
        pointer,
        message: '`queue` and `queueTimeout` need `connections` (the pool is unlimited without it)',
      })
    return undefined
  }
  const queue = pool.queue ?? DEFAULT_POOL_QUEUE
  // As HAProxy's `timeout queue` falls back to `timeout connect`: waiting for a connection is connecting.
  const queueTimeout = (pool.queueTimeout as number | undefined) ?? connectTimeout
  return {
    connections: pool.connections,
    queue,
    queueTimeout,
    key: `${pool.connections}|${queue}|${queueTimeout}`,
  }
}

/** Checks consumers into `plan.consumers`; returns the index from id and username to id. */
function checkConsumers(config: GatewayConfig, plan: Plan, issues: ConfigIssue[]): Map<string, string> {
  const consumerIndex = new Map<string, string>()
  list(config.consumers).forEach((c, ci) => {
    const pointer = `/consumers/${ci}`
    const id = c.id ?? c.username
    if (!id) {
      issues.push({ pointer, message: 'a consumer needs an "id" or a "username"' })
      return
    }
    for (const key of new Set([id, c.username].filter(Boolean) as string[])) {
      if (consumerIndex.has(key)) {
        const field = c.id === key ? 'id' : 'username'
        issues.push({ pointer: `${pointer}/${field}`, message: `duplicate consumer id or username "${key}"` })
      }
      consumerIndex.set(key, id)
    }
    // These are sent upstream as X-Consumer-* headers: refuse what cannot be a header value now.
    const groups = Array.isArray(c.groups) ? c.groups : []
    const headerValues: [string, unknown][] = [
      ['username', c.username],
      ['customId', c.customId],
      ...groups.map((g, gi): [string, unknown] => [`groups/${gi}`, g]),
    ]
    for (const [field, value] of headerValues) {
      if (typeof value === 'string' && !IDENTITY_VALUE.test(value))
        issues.push({
          pointer: `${pointer}/${field}`,
          message: 'must be printable Latin-1 text (it is sent upstream in an X-Consumer-* header)',
        })
    }
    groups.forEach((g, gi) => {
      if (typeof g === 'string' && g.includes(','))
        issues.push({
          pointer: `${pointer}/groups/${gi}`,
          message: 'a group name cannot contain "," (X-Consumer-Groups is a comma-separated list)',
        })
    })
    plan.consumers.push(
      Object.freeze({
        id,
        username: c.username,
        customId: c.customId,
        groups: Object.freeze([...groups]),
        credentials: Object.freeze(c.credentials ?? {}),
        pointer,
      }),
    )
  })
  return consumerIndex
}

interface Decl {
  decl: NestedPluginConfig
  scope: PluginScope
  pointer: string
}

/** Every plugin declaration with its scope; references to services, routes and consumers checked. */
function declarations(
  config: GatewayConfig,
  plan: Plan,
  consumerIndex: Map<string, string>,
  issues: ConfigIssue[],
  hint: typeof didYouMean,
): Decl[] {
  const decls: Decl[] = []
  const routeService = new Map(plan.routes.map((r) => [r.route.name, r.route.service.name]))
  const routeNames = [...routeService.keys()]
  const serviceNames = [...plan.services.keys()]
  list(config.plugins).forEach((p, i) => {
    const pointer = `/plugins/${i}`
    const scope: { service?: string; route?: string; consumer?: string } = {}
    if (p.route !== undefined) {
      const svc = routeService.get(p.route)
      if (!svc)
        issues.push({
          pointer: `${pointer}/route`,
          plugin: p.name,
          message: `no route named "${p.route}"${hint(p.route, routeNames)}`,
        })
      else if (p.service !== undefined && p.service !== svc) {
        issues.push({
          pointer: `${pointer}/service`,
          plugin: p.name,
          message: `route "${p.route}" is not a route of service "${p.service}"`,
        })
      }
      scope.route = p.route
      if (svc) scope.service = svc
    } else if (p.service !== undefined) {
      if (!plan.services.has(p.service))
        issues.push({
          pointer: `${pointer}/service`,
          plugin: p.name,
          message: `no service named "${p.service}"${hint(p.service, serviceNames)}`,
        })
      scope.service = p.service
    }
    if (p.consumer !== undefined) {
      const id = consumerIndex.get(p.consumer)
      if (!id)
        issues.push({
          pointer: `${pointer}/consumer`,
          plugin: p.name,
          message: `no consumer with id or username "${p.consumer}"${hint(p.consumer, [...consumerIndex.keys()])}`,
        })
      scope.consumer = id ?? p.consumer
    }
    const { service: _s, route: _r, consumer: _c, ...decl } = p
    decls.push({ decl, scope, pointer })
  })
  list(config.services).forEach((svc, si) => {
    list(svc.plugins).forEach((p, i) => {
      decls.push({ decl: p, scope: { service: svc.name }, pointer: `/services/${si}/plugins/${i}` })
    })
  })
  for (const { route, pointer, input } of plan.routes) {
    list(input.plugins).forEach((p, i) => {
      decls.push({
        decl: p,
        scope: { service: route.service.name, route: route.name },
        pointer: `${pointer}/plugins/${i}`,
      })
    })
  }
  list(config.consumers).forEach((c, ci) => {
    const id = c.id ?? c.username
    list(c.plugins).forEach((p, i) => {
      decls.push({ decl: p, scope: { consumer: id }, pointer: `/consumers/${ci}/plugins/${i}` })
    })
  })
  return decls
}

function checkInstances(
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

export interface ValidateOptions {
  /** The plugin definitions the configuration may name (as `createGateway`'s `plugins`). */
  plugins?: readonly PluginDefinition[]
  /** The file the configuration came from: named in each issue; relative TLS paths are read from its folder. */
  file?: string
  /** Also run each plugin's `check`, which may do I/O (a JWKS URL answers). Default false. */
  online?: boolean
}

/** What {@link validateConfig} found. */
export interface ConfigValidation {
  valid: boolean
  /** Every problem, each with its JSON pointer (and plugin, and file when given). */
  issues: ConfigIssue[]
  /** Routes and enabled plugin instances the configuration declares. */
  routes: number
  instances: number
}

/**
 * Checks a configuration as `createGateway` would, without building anything: no socket, timer,
 * file watcher or network (plugins' `init` is not called; TLS certificate files are read). Reports
 * every problem at once: schema, references, unknown plugins (with "did you mean"), each instance's
 * config and its plugin's `validate`; with `online`, its plugin's `check` too.
 *
 * @example
 * const { valid, issues } = await validateConfig(config, { plugins: [jwt, rateLimit] })
 */
export async function validateConfig(
  config: GatewayConfig,
  options: ValidateOptions = {},
): Promise<ConfigValidation> {
  const issues: ConfigIssue[] = []
  const registry = new Map<string, PluginDefinition>()
  for (const def of options.plugins ?? []) {
    if (registry.has(def.name) && registry.get(def.name) !== def)
      issues.push({
        pointer: '',
        plugin: def.name,
        message: `two plugin definitions are named "${def.name}"`,
      })
    registry.set(def.name, def)
  }
  const plan = planGeneration(config, { plugins: registry, hints: true })
  issues.push(...plan.issues)
  issues.push(...(await runPluginChecks(plan, 'validate')))
  if (options.online) issues.push(...(await runPluginChecks(plan, 'check')))
  const tls = (config as { tls?: unknown } | undefined)?.tls
  if (tls !== null && typeof tls === 'object' && !issues.some((i) => i.pointer.startsWith('/tls'))) {
    try {
      loadTls(
        structuredClone(tls) as TlsConfig,
        options.file === undefined ? process.cwd() : dirname(resolve(options.file)),
      )
    } catch (err) {
      issues.push(...pluginIssues(err, '/tls', '', 'reading certificates').map(({ plugin: _p, ...i }) => i))
    }
  }
  if (config?.http2 === true && tls === undefined)
    issues.push({ pointer: '/http2', message: 'HTTP/2 is served over TLS only (ALPN): configure `tls` too' })
  const located = options.file ? issues.map((i) => ({ ...i, file: i.file ?? options.file })) : issues
  return {
    valid: located.length === 0,
    issues: located,
    routes: plan.routes.length,
    instances: plan.planned.length,
  }
}

function compileRewrite(template: string): (params: Record<string, string>) => string {
  const parts = template.split(/(:[A-Za-z_][A-Za-z0-9_]*)/)
  return function rewritePath(params) {
    let out = ''
    for (const part of parts)
      out += part.startsWith(':') ? encodeURIComponent(params[part.slice(1)] ?? '') : part
    return out
  }
}

/**
 * Plugin defaults are filled into each instance's `config` in place. One object shared by two
 * instances in a config written in code (structuredClone keeps the sharing) would get both plugins'
 * defaults: each later instance gets its own copy first.
 */
function unshareInstanceConfigs(config: GatewayConfig): void {
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

/**
 * The top-level `redis` section (docs/redis.md): what the schema cannot check (one topology per
 * connection, usable URLs), located at `/redis/<name>/<field>`. Plugins open connections by name.
 */
function compileRedisSection(
  section: Record<string, RedisConnectionInput> | undefined,
  issues: ConfigIssue[],
): Plan['redis'] {
  const connections: Record<string, RedisConnectionConfig> = {}
  for (const [name, connection] of Object.entries(section ?? {})) {
    for (const issue of redisConnectionIssues(connection))
      issues.push({
        pointer: `/redis/${name}${issue.field ? `/${issue.field}` : ''}`,
        message: issue.message,
      })
    // Validated: durations are milliseconds and defaults are filled in.
    connections[name] = Object.freeze(structuredClone(connection) as RedisConnectionConfig)
  }
  return { connections: Object.freeze(connections), key: section ? stableJson(section) : '' }
}
