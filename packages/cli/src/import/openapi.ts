import { dirname, relative, resolve } from 'node:path'
import type {
  NestedPluginConfig,
  PluginInstanceConfig,
  RouteConfig,
  ServiceConfig,
} from '@gatehousejs/sdk/config'
import { isObject, NameSet, toName } from './names.js'
import { anonymousConsumers, authPlugins, securityMethods } from './openapi-security.js'
import { METHODS, readSpec, type Spec } from './openapi-spec.js'
import { ImportResult } from './output.js'
import { seg } from './source.js'

type Obj = Record<string, unknown>

export interface OpenApiOptions {
  /** Where every route proxies to; the upstream gets the same path the client sent. */
  upstream: string
  /** One service per first tag, or per server. */
  groupBy?: 'tag' | 'server'
  /** The path prefix of every route; default the path of the first server (Swagger: basePath). */
  basePath?: string
  /** Add a global openapi-validator instance for the spec. */
  validator?: boolean
  /** Fetch OpenID Connect discovery documents (default true). */
  discover?: boolean
  /** Where the output goes: the validator's spec path is written relative to it. */
  outputFile?: string
}

/** The `x-gatehouse-*` extensions this importer reads, per level. */
const EXTENSIONS = {
  document: ['x-gatehouse-plugins', 'x-gatehouse-service', 'x-gatehouse-consumers', 'x-gatehouse-config'],
  tag: ['x-gatehouse-plugins', 'x-gatehouse-service'],
  path: ['x-gatehouse-plugins', 'x-gatehouse-route', 'x-gatehouse-ignore'],
  operation: ['x-gatehouse-plugins', 'x-gatehouse-route', 'x-gatehouse-ignore'],
}

/**
 * Converts an OpenAPI 3.0/3.1 or Swagger 2.0 description into a Gatehouse config: a route per
 * operation (exact path, path templates as `:params`, one method), grouped into services, with the
 * auth plugins its security requirements call for.
 */
export async function importOpenApi(file: string, options: OpenApiOptions): Promise<ImportResult> {
  const spec = await readSpec(file)
  const out = new ImportResult()
  const doc = spec.doc
  checkExtensions(doc, '', 'document', out)
  const methods = await securityMethods(spec, out, options.discover !== false, options.validator === true)
  const used = new Set<string>()
  const servers = serverPaths(spec, out)
  const basePath = trimSlash(options.basePath ?? servers[0]?.path ?? '')
  const services: ServiceConfig[] = []
  const byGroup = new Map<string, ServiceConfig>()
  const serviceNames = new NameSet()
  const routeNames = new NameSet()
  const tagExt = tagExtensions(doc, out)
  const docService = extension(doc, 'x-gatehouse-service', '', out)

  const serviceFor = (group: string): ServiceConfig => {
    let s = byGroup.get(group)
    if (!s) {
      s = { name: serviceNames.take(toName(group, 'api')), url: options.upstream }
      if (docService) Object.assign(s, docService)
      const t = tagExt.get(group)
      if (t?.service) Object.assign(s, t.service)
      if (t?.plugins) s.plugins = t.plugins
      s.routes = []
      byGroup.set(group, s)
      services.push(s)
    }
    return s
  }

  const paths = doc.paths as Obj
  for (const [template, rawItem] of Object.entries(paths)) {
    const pathAt = `/paths/${seg(template)}`
    if (!template.startsWith('/')) {
      out.warn(pathAt, 'a path template must start with /; left out')
      continue
    }
    const item = spec.deref(rawItem)
    if (!isObject(item)) continue
    checkExtensions(item, pathAt, 'path', out)
    if (item['x-gatehouse-ignore'] === true) continue
    const pathPlugins = pluginList(item['x-gatehouse-plugins'], `${pathAt}/x-gatehouse-plugins`, out)
    const pathRoute = extension(item, 'x-gatehouse-route', pathAt, out)
    for (const method of METHODS) {
      const op = item[method]
      if (!isObject(op)) continue
      const opAt = `${pathAt}/${method}`
      checkExtensions(op, opAt, 'operation', out)
      if (op['x-gatehouse-ignore'] === true) continue
      const prefix = serverPrefix(op, item, spec, options.basePath, basePath)
      const converted = convertTemplate(template, opAt, out)
      const group =
        options.groupBy === 'server'
          ? (prefix.server ?? 'api')
          : Array.isArray(op.tags) && typeof op.tags[0] === 'string'
            ? op.tags[0]
            : 'default'
      const service = serviceFor(group)
      const opId = typeof op.operationId === 'string' ? op.operationId : undefined
      const name = routeNames.take(toName(opId ?? `${method}-${template}`, `${method}-route`))
      const route: RouteConfig = {
        name,
        paths: [`=${prefix.path}${converted}`],
        methods: [method.toUpperCase()],
        stripPath: false,
      }
      if (pathRoute) Object.assign(route, pathRoute)
      const opRoute = extension(op, 'x-gatehouse-route', opAt, out)
      if (opRoute) Object.assign(route, opRoute)
      const requirements = op.security !== undefined ? op.security : doc.security
      const reqAt = op.security !== undefined ? `${opAt}/security` : '/security'
      const plugins: NestedPluginConfig[] = authPlugins(requirements, reqAt, methods, out, used)
      // Operation instances replace path instances of the same plugin; both come after the auth plugins.
      const opPlugins = pluginList(op['x-gatehouse-plugins'], `${opAt}/x-gatehouse-plugins`, out)
      const extra = [...pathPlugins.filter((p) => !opPlugins.some((o) => o.name === p.name)), ...opPlugins]
      for (const p of extra) {
        const i = plugins.findIndex((q) => q.name === p.name)
        if (i >= 0) plugins[i] = p
        else plugins.push(p)
      }
      if (plugins.length > 0) route.plugins = plugins
      ;(service.routes as RouteConfig[]).push(route)
      if (opId && opId !== name) out.comment(routePointer(services, service), `operationId ${opId}`)
    }
  }
  if (services.length === 0) out.warn('/paths', 'no operations: the file has no routes')
  out.config.services = services
  const consumers = [...anonymousConsumers(used), ...(docConsumers(doc, out) ?? [])]
  if (consumers.length > 0) out.config.consumers = consumers
  const plugins: PluginInstanceConfig[] = pluginList(doc['x-gatehouse-plugins'], '/x-gatehouse-plugins', out)
  if (options.validator) {
    const from = options.outputFile ? dirname(resolve(options.outputFile)) : process.cwd()
    let specPath = relative(from, spec.file)
    if (!specPath.startsWith('.') && !specPath.startsWith('/')) specPath = `./${specPath}`
    plugins.unshift({ name: 'openapi-validator', config: { spec: specPath } })
  }
  if (plugins.length > 0) out.config.plugins = plugins
  const extraConfig = extension(doc, 'x-gatehouse-config', '', out)
  if (extraConfig) Object.assign(out.config, extraConfig)
  if (used.size > 0) {
    const i = consumers.findIndex((c) => c.id === 'openapi-anonymous')
    if (i >= 0)
      out.comment(
        `/consumers/${i}`,
        'Operations that accept any of several schemes let a failed method go on as this consumer; its request-termination answers 401',
      )
  }
  return out
}

function routePointer(services: ServiceConfig[], service: ServiceConfig): string {
  return `/services/${services.indexOf(service)}/routes/${(service.routes as RouteConfig[]).length - 1}`
}

function trimSlash(p: string): string {
  return p === '/' ? '' : p.replace(/\/+$/, '')
}

/** The path of each server URL (variables replaced by their defaults); Swagger: basePath. */
function serverPaths(
  spec: Spec,
  out: ImportResult,
  list: unknown = spec.doc.servers,
  at = '/servers',
): { url: string; path: string }[] {
  if (spec.version === '2.0') {
    const base = typeof spec.doc.basePath === 'string' ? spec.doc.basePath : ''
    return [{ url: base || '/', path: trimSlash(base) }]
  }
  if (!Array.isArray(list)) return []
  return list.flatMap((s, i) => {
    if (!isObject(s) || typeof s.url !== 'string') return []
    let url = s.url
    if (isObject(s.variables)) {
      for (const [name, v] of Object.entries(s.variables)) {
        const def = isObject(v) && v.default !== undefined ? String(v.default) : ''
        url = url.split(`{${name}}`).join(def)
      }
    }
    if (url.includes('{')) out.warn(`${at}/${i}/url`, `server URL ${s.url} has a variable without a default`)
    let path: string
    try {
      path = new URL(url, 'http://placeholder.invalid').pathname
    } catch {
      path = '/'
    }
    return [{ url: s.url, path: trimSlash(decodeURI(path)) }]
  })
}

/** The route prefix for an operation: `--base-path`, else the operation's or path's own servers. */
function serverPrefix(
  op: Obj,
  item: Obj,
  spec: Spec,
  forced: string | undefined,
  base: string,
): { path: string; server?: string } {
  if (forced !== undefined) return { path: base, server: forced }
  const quiet = new ImportResult()
  const own = serverPaths(spec, quiet, op.servers ?? item.servers)
  if (spec.version !== '2.0' && own.length > 0) return { path: own[0]?.path ?? '', server: own[0]?.url }
  const docServers = serverPaths(spec, quiet)
  return { path: base, server: docServers[0]?.url }
}

/**
 * `/users/{id}/files/{name}.{ext}` → `/users/:id/files/:name`: a template that is a whole segment
 * becomes a `:param` (its name made a valid one); a segment mixing text and templates is captured whole.
 */
export function convertTemplate(template: string, at: string, out: ImportResult): string {
  const used = new Set<string>()
  const param = (raw: string) => {
    let name = raw.replace(/^[+#./;?&]/, '').replace(/[^A-Za-z0-9_]/g, '_')
    if (!/^[A-Za-z_]/.test(name)) name = `_${name}`
    while (used.has(name)) name = `${name}_`
    used.add(name)
    return `:${name}`
  }
  return template
    .split('/')
    .map((s) => {
      const whole = /^\{([^{}]+)\}$/.exec(s)
      if (whole) return param(whole[1] as string)
      const inner = /\{([^{}]+)\}/.exec(s)
      if (inner) {
        out.warn(at, `segment "${s}" mixes text and a template: the route captures the whole segment`)
        return param(inner[1] as string)
      }
      if (s.startsWith(':')) {
        out.warn(at, `segment "${s}" starts with ":", which Gatehouse reads as a parameter`)
        return param(s.slice(1) || 'p')
      }
      return s
    })
    .join('/')
}

function extension(node: Obj, key: string, at: string, out: ImportResult): Obj | undefined {
  const v = node[key]
  if (v === undefined) return undefined
  if (!isObject(v)) {
    out.warn(`${at}/${key}`, `${key} must be an object; left out`)
    return undefined
  }
  return v
}

function pluginList(v: unknown, at: string, out: ImportResult): PluginInstanceConfig[] {
  if (v === undefined) return []
  if (!Array.isArray(v)) {
    out.warn(at, 'x-gatehouse-plugins must be a list of plugin instances ({ name, config }); left out')
    return []
  }
  return v.filter((p, i) => {
    if (isObject(p) && typeof p.name === 'string') return true
    out.warn(`${at}/${i}`, 'a plugin instance needs a name; left out')
    return false
  }) as PluginInstanceConfig[]
}

function checkExtensions(node: Obj, at: string, level: keyof typeof EXTENSIONS, out: ImportResult): void {
  for (const key of Object.keys(node)) {
    if (key.startsWith('x-gatehouse-') && !EXTENSIONS[level].includes(key))
      out.warn(
        `${at}/${seg(key)}`,
        `${key} is not read at the ${level} level (there: ${EXTENSIONS[level].join(', ')})`,
      )
  }
}

function tagExtensions(
  doc: Obj,
  out: ImportResult,
): Map<string, { service?: Obj; plugins?: PluginInstanceConfig[] }> {
  const map = new Map<string, { service?: Obj; plugins?: PluginInstanceConfig[] }>()
  if (!Array.isArray(doc.tags)) return map
  doc.tags.forEach((t, i) => {
    if (!isObject(t) || typeof t.name !== 'string') return
    const at = `/tags/${i}`
    checkExtensions(t, at, 'tag', out)
    const service = extension(t, 'x-gatehouse-service', at, out)
    const plugins =
      t['x-gatehouse-plugins'] !== undefined
        ? pluginList(t['x-gatehouse-plugins'], `${at}/x-gatehouse-plugins`, out)
        : undefined
    if (service || plugins) map.set(t.name, { service, plugins })
  })
  return map
}

function docConsumers(doc: Obj, out: ImportResult): Obj[] | undefined {
  const v = doc['x-gatehouse-consumers']
  if (v === undefined) return undefined
  if (!Array.isArray(v)) {
    out.warn('/x-gatehouse-consumers', 'x-gatehouse-consumers must be a list of consumers; left out')
    return undefined
  }
  return v as Obj[]
}
