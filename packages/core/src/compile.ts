import { createHash } from 'node:crypto'
import {
  ConfigError,
  type ConfigIssue,
  type ConsumerRecord,
  type Dispatch,
  type EscapedSlashesPolicy,
  type GatewayConfig,
  GatewayConfigSchema,
  type InterimResponsesPolicy,
  type NestedPluginConfig,
  PLUGIN_API_VERSION,
  type PluginDefinition,
  type PluginScope,
  type PoolConfig,
  pluginKeyProblems,
  type RouteInfo,
  type ServiceInfo,
  type UpstreamHealth,
} from '@gatehousejs/sdk'
import type { Logger } from 'pino'
import {
  buildChain,
  type Chain,
  compileWhen,
  type Instance,
  rankInstances,
  selectInstances,
  specificityOf,
} from './chain.js'
import type { UpstreamGroup } from './health.js'
import { compileMirrors, type MirrorRule } from './mirror.js'
import type { PoolLimits } from './proxy.js'
import type { RetryPolicy } from './retry.js'
import { Router } from './router.js'
import { compileTrust, type TrustFn } from './trust.js'
import { type CompiledUpstream, compileSplits, compileUpstream, type SplitPolicy } from './upstreams.js'
import { validateWith } from './validate.js'

export interface CompiledService {
  name: string
  origin: string
  basePath: string
  timeouts: { connect: number; read: number; total: number }
  info: ServiceInfo
  /** Targets, balancing and health (docs/upstreams.md); undefined for a plain `url`: the direct path. */
  group: UpstreamGroup | undefined
  retry: RetryPolicy | undefined
  hashKey: CompiledUpstream['hashKey']
  split: SplitPolicy | undefined
  /** Connection pool limits per origin (`pool`); undefined: undici's default, no limit. */
  pool: PoolLimits | undefined
}

export interface CompiledRoute {
  name: string
  service: CompiledService
  info: RouteInfo
  stripPath: boolean
  rewrite: ((params: Record<string, string>) => string) | undefined
  preserveHost: boolean
  /** What `%2F`/`%5C` in this route's paths means (route, else service, else global; docs/security.md). */
  escapedSlashes: EscapedSlashesPolicy
  /** Milliseconds; `total` 0 means none. */
  timeouts: { connect: number; read: number; total: number }
  chain: Chain
  /** Chains for consumers that have consumer-scoped instances on this route. */
  consumerChains: Map<string, Chain>
  /** Requests of this route in flight at once; 0 means no limit (protect.ts). */
  maxInflight: number
  /** Requests of this generation's route now in flight, counted only when `maxInflight` is set. */
  inflight: number
}

/** One compiled configuration. Requests hold the generation they started on until they finish. */
export interface Generation {
  id: number
  config: GatewayConfig
  file: string | undefined
  router: Router<CompiledRoute>
  routes: CompiledRoute[]
  services: Map<string, CompiledService>
  globalChain: Chain
  instances: Instance[]
  consumers: ConsumerRecord[]
  trust: TrustFn
  requestId: { header: string; trustIncoming: boolean; responseHeader: boolean }
  limits: { requestBody: number; responseBody: number }
  /** The global `escapedSlashes` policy: for paths that match no route (routes carry their own). */
  escapedSlashes: EscapedSlashesPolicy
  /** Which clients get the upstream's 1xx responses (interim.ts; docs/security.md). */
  interimResponses: InterimResponsesPolicy
  /** Measure each plugin handler (`needs.pluginTimings` or `serverTiming`); nothing is timed otherwise. */
  timePlugins: boolean
  /** Send the measurements to the client in `Server-Timing`. */
  serverTiming: boolean
  /** Traffic mirroring rules by route name (mirror.ts); empty without any `mirror` in the config. */
  mirrors: Map<string, MirrorRule[]>
  inflight: number
  retired: boolean
  onDrained: (() => void) | undefined
}

export interface CompileOptions {
  plugins: Map<string, PluginDefinition>
  logger: Logger
  previous: Generation | undefined
  file: string | undefined
  id: number
  /** The gateway's target health, handed to plugins as `env.upstreams`. */
  upstreams?: () => readonly UpstreamHealth[]
  /** Requests through the gateway itself, handed to plugins as `env.dispatch`. */
  dispatch?: Dispatch
}

const DEFAULT_TIMEOUTS = { connect: 10_000, read: 60_000 }
/** Envoy's default `max_pending_requests` per cluster. */
const DEFAULT_POOL_QUEUE = 1024

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
const EMPTY_CONFIG_SCHEMA = { type: 'object', additionalProperties: false, properties: {} }

export async function compileGeneration(input: GatewayConfig, opts: CompileOptions): Promise<Generation> {
  const config = structuredClone(input ?? {}) as GatewayConfig
  const fail = (issues: ConfigIssue[]): never => {
    throw new ConfigError(issues, opts.file)
  }
  const schemaIssues = validateWith(GatewayConfigSchema, config, '')
  if (schemaIssues.length > 0) fail(schemaIssues)
  unshareInstanceConfigs(config)

  const issues: ConfigIssue[] = []
  const defaults = {
    connect: config.timeouts?.connect ?? DEFAULT_TIMEOUTS.connect,
    read: config.timeouts?.read ?? DEFAULT_TIMEOUTS.read,
    total: config.timeouts?.total ?? 0,
  } as {
    connect: number
    read: number
    total: number
  }

  // Services and routes
  const services = new Map<string, CompiledService>()
  const routeDecls: Array<{ route: CompiledRouteDraft; pointer: string }> = []
  const routeNames = new Set<string>()
  ;(config.services ?? []).forEach((svc, si) => {
    const pointer = `/services/${si}`
    if (services.has(svc.name))
      issues.push({ pointer: `${pointer}/name`, message: `duplicate service name "${svc.name}"` })
    const timeouts = {
      connect: (svc.timeouts?.connect as number | undefined) ?? defaults.connect,
      read: (svc.timeouts?.read as number | undefined) ?? defaults.read,
      total: (svc.timeouts?.total as number | undefined) ?? defaults.total,
    }
    const hasTotal = timeouts.total > 0 || (svc.routes ?? []).some((r) => (r.timeouts?.total as number) > 0)
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
    ;(svc.routes ?? []).forEach((route, ri) => {
      const rp = `${pointer}/routes/${ri}`
      const name = route.name ?? `${svc.name}.${ri}`
      if (routeNames.has(name))
        issues.push({ pointer: `${rp}/name`, message: `duplicate route name "${name}"` })
      routeNames.add(name)
      const paths = route.paths ?? ['/']
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
      if (route.rewrite !== undefined) {
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
      const routeTimeouts = {
        connect: (route.timeouts?.connect as number | undefined) ?? timeouts.connect,
        read: (route.timeouts?.read as number | undefined) ?? timeouts.read,
        total: (route.timeouts?.total as number | undefined) ?? timeouts.total,
      }
      routeDecls.push({
        pointer: rp,
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
          timeouts: routeTimeouts,
          maxInflight: route.maxInflight ?? 0,
          inflight: 0,
          input: route,
        },
      })
    })
  })

  compileSplits(config.services ?? [], services, issues)
  const mirrors = compileMirrors(config.services ?? [], services, issues)

  // Consumers
  const consumers: ConsumerRecord[] = []
  const consumerIndex = new Map<string, string>()
  ;(config.consumers ?? []).forEach((c, ci) => {
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
    const headerValues: [string, string | undefined][] = [
      ['username', c.username],
      ['customId', c.customId],
      ...(c.groups ?? []).map((g, gi): [string, string] => [`groups/${gi}`, g]),
    ]
    for (const [field, value] of headerValues) {
      if (value !== undefined && !IDENTITY_VALUE.test(value))
        issues.push({
          pointer: `${pointer}/${field}`,
          message: 'must be printable Latin-1 text (it is sent upstream in an X-Consumer-* header)',
        })
    }
    c.groups?.forEach((g, gi) => {
      if (g.includes(','))
        issues.push({
          pointer: `${pointer}/groups/${gi}`,
          message: 'a group name cannot contain "," (X-Consumer-Groups is a comma-separated list)',
        })
    })
    consumers.push(
      Object.freeze({
        id,
        username: c.username,
        customId: c.customId,
        groups: Object.freeze([...(c.groups ?? [])]),
        credentials: Object.freeze(c.credentials ?? {}),
        pointer,
      }),
    )
  })
  // Instances see every consumer's credentials at `init`: a change to consumers re-creates them on reload.
  const consumersKey = createHash('sha256')
    .update(stableJson(consumers.map(({ pointer: _p, ...rest }) => rest)))
    .digest('base64url')

  // Plugin instances: declarations with their scope
  interface Decl {
    decl: NestedPluginConfig
    scope: PluginScope
    pointer: string
  }
  const decls: Decl[] = []
  const routeService = new Map(routeDecls.map((r) => [r.route.name, r.route.service.name]))
  ;(config.plugins ?? []).forEach((p, i) => {
    const pointer = `/plugins/${i}`
    const scope: { service?: string; route?: string; consumer?: string } = {}
    if (p.route !== undefined) {
      const svc = routeService.get(p.route)
      if (!svc)
        issues.push({ pointer: `${pointer}/route`, plugin: p.name, message: `no route named "${p.route}"` })
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
      if (!services.has(p.service))
        issues.push({
          pointer: `${pointer}/service`,
          plugin: p.name,
          message: `no service named "${p.service}"`,
        })
      scope.service = p.service
    }
    if (p.consumer !== undefined) {
      const id = consumerIndex.get(p.consumer)
      if (!id)
        issues.push({
          pointer: `${pointer}/consumer`,
          plugin: p.name,
          message: `no consumer with id or username "${p.consumer}"`,
        })
      scope.consumer = id ?? p.consumer
    }
    const { service: _s, route: _r, consumer: _c, ...decl } = p
    decls.push({ decl, scope, pointer })
  })
  ;(config.services ?? []).forEach((svc, si) => {
    svc.plugins?.forEach((p, i) => {
      decls.push({ decl: p, scope: { service: svc.name }, pointer: `/services/${si}/plugins/${i}` })
    })
  })
  for (const { route, pointer } of routeDecls) {
    route.input.plugins?.forEach((p, i) => {
      decls.push({
        decl: p,
        scope: { service: route.service.name, route: route.name },
        pointer: `${pointer}/plugins/${i}`,
      })
    })
  }
  ;(config.consumers ?? []).forEach((c, ci) => {
    const id = c.id ?? c.username
    c.plugins?.forEach((p, i) => {
      decls.push({ decl: p, scope: { consumer: id }, pointer: `/consumers/${ci}/plugins/${i}` })
    })
  })

  interface Planned extends Decl {
    def: PluginDefinition
    config: Record<string, unknown>
    reuseKey: string
  }
  const planned: Planned[] = []
  const seenScopes = new Map<string, string>()
  const ids = new Set<string>()
  const checkedDefs = new Set<PluginDefinition>()
  for (const d of decls) {
    if (d.decl.enabled === false) continue
    const def = opts.plugins.get(d.decl.name)
    if (!def) {
      const known = [...opts.plugins.keys()].sort()
      issues.push({
        pointer: `${d.pointer}/name`,
        plugin: d.decl.name,
        message: `unknown plugin "${d.decl.name}"; registered plugins: ${known.length ? known.join(', ') : '(none)'}`,
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
            message: `unknown plugin "${n}"`,
          })
        }
      })
    }
    const pluginConfig = (d.decl.config ?? {}) as Record<string, unknown>
    const configIssues = validateWith(
      def.schema ?? EMPTY_CONFIG_SCHEMA,
      pluginConfig,
      `${d.pointer}/config`,
      def.name,
    )
    issues.push(...configIssues)
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
    planned.push({
      ...d,
      def,
      config: pluginConfig,
      reuseKey: `${def.name}@${def.version}|${scopeKey}|${consumersKey}|${stableJson(pluginConfig)}`,
    })
  }
  let trust: TrustFn = () => false
  try {
    trust = compileTrust(config.trustProxy)
  } catch (err) {
    issues.push({ pointer: '/trustProxy', message: (err as Error).message })
  }
  if (issues.length > 0) fail(issues)

  // Initialise instances, reusing those of the running generation that did not change.
  const reusable = new Map<string, Instance[]>()
  for (const inst of opts.previous?.instances ?? []) {
    reusable.set(inst.reuseKey, [...(reusable.get(inst.reuseKey) ?? []), inst])
  }
  const created: Instance[] = []
  const instances: Instance[] = []
  const serviceInfos = Object.freeze([...services.values()].map((s) => s.info))
  const routeInfos = Object.freeze(routeDecls.map((r) => r.route.info))
  for (const p of planned) {
    const id = p.decl.id ?? `${p.def.name}${describeScope(p.scope)}#${instances.length}`
    const old = reusable.get(p.reuseKey)?.shift()
    let handlers = old?.handlers
    if (!handlers) {
      try {
        handlers = await p.def.init(p.config, {
          log: opts.logger.child({ plugin: p.def.name, instance: id }),
          instance: { id, scope: Object.freeze({ ...p.scope }) },
          consumers,
          upstreams: opts.upstreams,
          dispatch: opts.dispatch,
          services: serviceInfos,
          routes: routeInfos,
        })
        if (handlers === null || typeof handlers !== 'object')
          throw new TypeError('init must return an object of handlers')
        // A misspelled phase (`acces`) would otherwise load and never run: an auth check that is not there.
        const problems = pluginKeyProblems(handlers, 'handlers')
        if (problems.length > 0) {
          await closeQuietly(handlers, opts.logger, p.def.name)
          for (const message of problems)
            issues.push({ pointer: p.pointer, plugin: p.def.name, message: `init returned: ${message}` })
          continue
        }
      } catch (err) {
        issues.push(...initIssues(err, p.pointer, p.def.name))
        continue
      }
    }
    const instance: Instance = {
      id,
      def: p.def,
      handlers,
      scope: p.scope,
      specificity: specificityOf(p.scope),
      when: compileWhen(p.decl.when),
      before: p.decl.before ?? [],
      after: p.decl.after ?? [],
      rank: 0,
      pointer: p.pointer,
      reuseKey: p.reuseKey,
    }
    if (!old) created.push(instance)
    instances.push(instance)
  }
  issues.push(...rankInstances(instances))
  if (issues.length > 0) {
    await closeInstances(created, opts.logger)
    fail(issues)
  }
  for (const inst of instances) {
    if (inst.handlers.rewrite && inst.specificity > 0) {
      opts.logger.warn(
        { plugin: inst.def.name, pointer: inst.pointer },
        'the rewrite phase runs before routing, for global instances only: this instance will not run it',
      )
    }
  }

  const consumersWithInstances = [
    ...new Set(instances.map((i) => i.scope.consumer).filter(Boolean) as string[]),
  ]
  const routes: CompiledRoute[] = routeDecls.map(({ route }) => {
    const { input: _input, ...rest } = route
    const base = selectInstances(instances, route.service.name, route.name, undefined)
    const consumerChains = new Map<string, Chain>()
    for (const c of consumersWithInstances) {
      const sel = selectInstances(instances, route.service.name, route.name, c)
      if (sel.length !== base.length || sel.some((inst, i) => inst !== base[i]))
        consumerChains.set(c, buildChain(sel))
    }
    return { ...rest, chain: buildChain(base), consumerChains }
  })
  const router = new Router(
    routes.map((r, i) => {
      const input = routeDecls[i]!.route.input
      return {
        route: r,
        paths: input.paths,
        methods: input.methods,
        hosts: input.hosts,
        headers: input.headers,
      }
    }),
  )

  return {
    id: opts.id,
    config,
    file: opts.file,
    router,
    routes,
    services,
    globalChain: buildChain(selectInstances(instances, undefined, undefined, undefined)),
    instances,
    consumers,
    trust,
    mirrors,
    requestId: {
      header: (config.requestId?.header ?? 'x-request-id').toLowerCase(),
      trustIncoming: config.requestId?.trustIncoming ?? false,
      responseHeader: config.requestId?.responseHeader ?? true,
    },
    limits: {
      requestBody: (config.limits?.requestBody as number | undefined) ?? 1024 * 1024,
      responseBody: (config.limits?.responseBody as number | undefined) ?? 1024 * 1024,
    },
    escapedSlashes: config.escapedSlashes ?? 'reject',
    interimResponses: config.interimResponses ?? 'forward',
    timePlugins: config.serverTiming === true || instances.some((i) => i.handlers.needs?.pluginTimings),
    serverTiming: config.serverTiming === true,
    inflight: 0,
    retired: false,
    onDrained: undefined,
  }
}

interface CompiledRouteDraft extends Omit<CompiledRoute, 'chain' | 'consumerChains'> {
  input: NonNullable<NonNullable<GatewayConfig['services']>[number]['routes']>[number]
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

function describeScope(scope: PluginScope): string {
  const parts = [
    scope.route ? `route:${scope.route}` : scope.service ? `service:${scope.service}` : '',
    scope.consumer ? `consumer:${scope.consumer}` : '',
  ].filter(Boolean)
  return parts.length ? `@${parts.join(',')}` : '@global'
}

/**
 * Plugin defaults are filled into each instance's `config` in place. One object shared by two
 * instances in a config written in code (structuredClone keeps the sharing) would get both plugins'
 * defaults: each later instance gets its own copy first.
 */
function unshareInstanceConfigs(config: GatewayConfig): void {
  const seen = new Set<object>()
  const visit = (list: { config?: Record<string, unknown> }[] | undefined) => {
    for (const p of list ?? []) {
      if (p.config === undefined) continue
      if (seen.has(p.config)) p.config = structuredClone(p.config)
      seen.add(p.config)
    }
  }
  visit(config.plugins)
  for (const svc of config.services ?? []) {
    visit(svc.plugins)
    for (const r of svc.routes ?? []) visit(r.plugins)
  }
  for (const c of config.consumers ?? []) visit(c.plugins)
}

/**
 * What a failed `init` reports: a plugin's ConfigError keeps its issues (pointers under `/config` are
 * made absolute with the instance's pointer; others, such as `/consumers/2/credentials/...`, already
 * are); any other error becomes one issue at the instance.
 */
function initIssues(err: unknown, pointer: string, plugin: string): ConfigIssue[] {
  const maybe = err as { code?: unknown; issues?: unknown } | null
  if (maybe?.code === 'GH_CONFIG_INVALID' && Array.isArray(maybe.issues) && maybe.issues.length > 0) {
    return (maybe.issues as ConfigIssue[]).map((i) => ({
      ...i,
      pointer: i.pointer === '/config' || i.pointer.startsWith('/config/') ? pointer + i.pointer : i.pointer,
      plugin: i.plugin ?? plugin,
    }))
  }
  return [{ pointer, plugin, message: `init failed: ${(err as Error)?.message ?? String(err)}` }]
}

/** Printable text (and tabs/spaces): what an HTTP header value may hold (RFC 9110 §5.5). */
const IDENTITY_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/

export function stableJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'undefined'
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`
  const obj = value as Record<string, unknown>
  return `{${Object.keys(obj)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${stableJson(obj[k])}`)
    .join(',')}}`
}

/** Releases what a refused instance's `init` opened (a Redis client, a timer). */
async function closeQuietly(handlers: { close?: unknown }, logger: Logger, plugin: string): Promise<void> {
  if (typeof handlers.close !== 'function') return
  try {
    await (handlers.close as () => unknown)()
  } catch (err) {
    logger.error({ err, plugin }, 'plugin close failed')
  }
}

export async function closeInstances(instances: Iterable<Instance>, logger: Logger): Promise<void> {
  await Promise.all(
    [...instances].map(async (inst) => {
      try {
        await inst.handlers.close?.()
      } catch (err) {
        logger.error({ err, plugin: inst.def.name, instance: inst.id }, 'plugin close failed')
      }
    }),
  )
}
