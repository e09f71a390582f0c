import { createHash } from 'node:crypto'
import { JWS_ALGORITHMS } from '@gatehousejs/sdk'
import type {
  ConsumerConfig,
  NestedPluginConfig,
  PluginInstanceConfig,
  RouteConfig,
  ServiceConfig,
} from '@gatehousejs/sdk/config'
import { scryptHash } from './hash.js'
import { Fields, KONG_UNMAPPED, kongPluginMapping } from './kong-plugins.js'
import { convertKongUpstream, type UpstreamParts } from './kong-upstream.js'
import { asArray, isObject, NameSet, toName } from './names.js'
import { ImportResult } from './output.js'
import { ImportError, type SourceFile, seg } from './source.js'

/** The `_format_version`s of Kong's declarative configuration this importer reads. */
export const KONG_FORMATS = ['1.1', '2.1', '3.0'] as const

type Obj = Record<string, unknown>

/** Kong's credential entities: top-level lists, or nested under their consumer. */
const CREDENTIAL_KINDS = [
  'keyauth_credentials',
  'basicauth_credentials',
  'jwt_secrets',
  'acls',
  'hmacauth_credentials',
  'oauth2_credentials',
] as const

interface Scope {
  kind: 'global' | 'service' | 'route' | 'consumer'
  /** Kong's identifiers (id and name) of the entity. */
  refs?: string[]
}

/**
 * Converts a Kong declarative configuration (`kong.yml`, as written by hand or by `deck dump`) into a
 * Gatehouse config. Whatever has no equivalent is a warning with the JSON pointer of the Kong field.
 */
export function importKong(source: SourceFile): ImportResult {
  const doc = source.data
  if (!isObject(doc)) {
    throw new ImportError(source.file, [
      {
        pointer: '',
        message: 'a Kong declarative file holds an object with _format_version',
        position: source.locate(''),
      },
    ])
  }
  const format = String(doc._format_version ?? '')
  if (!(KONG_FORMATS as readonly string[]).includes(format)) {
    throw new ImportError(source.file, [
      {
        pointer: '/_format_version',
        message:
          doc._format_version === undefined
            ? 'missing _format_version (one of 1.1, 2.1, 3.0): is this a Kong declarative file?'
            : `_format_version ${format} is not one of ${KONG_FORMATS.join(', ')}`,
        position: source.locate('/_format_version'),
      },
    ])
  }
  const problems: { pointer: string; message: string }[] = []
  for (const key of ['services', 'routes', 'consumers', 'plugins', 'upstreams']) {
    if (doc[key] !== undefined && doc[key] !== null && !Array.isArray(doc[key]))
      problems.push({ pointer: `/${key}`, message: `${key} must be a list` })
  }
  if (problems.length > 0)
    throw new ImportError(
      source.file,
      problems.map((p) => ({ ...p, position: source.locate(p.pointer) })),
    )
  return new KongImporter(doc, format).run()
}

class KongImporter {
  readonly out = new ImportResult()
  private readonly serviceNames = new NameSet()
  private readonly routeNames = new NameSet()
  private readonly consumerIds = new NameSet()
  /** Kong service id/name → Gatehouse service index and name. */
  private readonly services = new Map<string, { index: number; name: string }>()
  private readonly routes = new Map<string, { service: number; index: number; name: string }>()
  private readonly consumers = new Map<string, { index: number; id: string }>()
  private readonly upstreams = new Map<string, { pointer: string; value: Obj }>()
  private readonly stacking = new Map<string, string[]>()

  constructor(
    private readonly doc: Obj,
    private readonly format: string,
  ) {}

  run(): ImportResult {
    const out = this.out
    out.config.services = []
    out.config.consumers = []
    out.config.plugins = []
    asArray(this.doc.upstreams).forEach((u, i) => {
      if (isObject(u) && typeof u.name === 'string')
        this.upstreams.set(u.name, { pointer: `/upstreams/${i}`, value: u })
    })
    // Consumers first: plugins refer to them (anonymous, consumer scope).
    asArray(this.doc.consumers).forEach((c, i) => {
      this.consumer(c, `/consumers/${i}`)
    })
    this.consumerGroups()
    this.topLevelCredentials()
    asArray(this.doc.services).forEach((s, i) => {
      this.service(s, `/services/${i}`)
    })
    asArray(this.doc.routes).forEach((r, i) => {
      this.topLevelRoute(r, `/routes/${i}`)
    })
    // Plugins last, once every entity they may point at has its Gatehouse name.
    asArray(this.doc.consumers).forEach((c, i) => {
      if (isObject(c)) this.nestedPlugins(c.plugins, `/consumers/${i}/plugins`, this.consumerRef(c))
    })
    asArray(this.doc.services).forEach((s, i) => {
      if (!isObject(s)) return
      const ref = this.serviceRef(s)
      if (!ref) return
      this.nestedPlugins(s.plugins, `/services/${i}/plugins`, ref)
      asArray(s.routes).forEach((r, j) => {
        if (isObject(r)) {
          const rr = this.routeRef(r)
          if (rr) this.nestedPlugins(r.plugins, `/services/${i}/routes/${j}/plugins`, rr)
        }
      })
    })
    asArray(this.doc.routes).forEach((r, i) => {
      if (!isObject(r)) return
      const rr = this.routeRef(r)
      if (rr) this.nestedPlugins(r.plugins, `/routes/${i}/plugins`, rr)
    })
    asArray(this.doc.plugins).forEach((p, i) => {
      this.topLevelPlugin(p, `/plugins/${i}`)
    })
    for (const [plugin, pointers] of this.stacking) {
      if (pointers.length > 1)
        out.warn(
          pointers[0] as string,
          `${plugin} is configured at ${pointers.length} scopes (${pointers.join(', ')}): Kong runs only the most specific instance, Gatehouse runs every instance that applies (the plugin stacks)`,
        )
    }
    for (const key of ['certificates', 'ca_certificates', 'snis', 'vaults', 'tags', 'workspace']) {
      if (this.doc[key] !== undefined)
        out.warn(
          `/${key}`,
          `${key} is not imported (TLS certificates go under tls in Gatehouse: see docs/protocols.md)`,
        )
    }
    if (out.config.consumers.length === 0) delete out.config.consumers
    if (out.config.plugins.length === 0) delete out.config.plugins
    return out
  }

  // --- services and routes -------------------------------------------------------------------

  private service(s: unknown, at: string) {
    if (!isObject(s)) return this.out.warn(at, 'not an object; left out')
    const services = this.out.config.services as ServiceConfig[]
    const index = services.length
    const name = this.serviceNames.take(toName(String(s.name ?? ''), `service-${index + 1}`))
    const service: ServiceConfig = { name }
    const target = this.serviceTarget(s, at, service)
    if (!target) return
    const timeouts: Obj = {}
    if (typeof s.connect_timeout === 'number') timeouts.connect = s.connect_timeout
    if (typeof s.read_timeout === 'number') timeouts.read = s.read_timeout
    if (Object.keys(timeouts).length > 0) service.timeouts = timeouts
    if (typeof s.write_timeout === 'number' && s.write_timeout !== 60000)
      this.out.warn(`${at}/write_timeout`, 'write_timeout has no equivalent; left out')
    if (typeof s.retries === 'number') {
      service.retries = { ...(service.retries ?? {}), attempts: Math.min(10, Math.max(0, s.retries)) }
      if (s.retries > 10) this.out.warn(`${at}/retries`, `retries ${s.retries} capped at 10`)
    }
    for (const key of ['client_certificate', 'ca_certificates', 'tls_verify', 'tls_verify_depth']) {
      if (s[key] !== undefined && s[key] !== null)
        this.out.warn(`${at}/${key}`, `${key} has no equivalent per service; left out`)
    }
    if (s.enabled === false)
      this.out.warn(`${at}/enabled`, 'a disabled service is imported enabled: remove it if unwanted')
    services.push(service)
    for (const ref of [s.id, s.name]) if (typeof ref === 'string') this.services.set(ref, { index, name })
    if (typeof s.name === 'string' && name !== s.name)
      this.out.comment(`/services/${index}`, `Kong service "${s.name}"`)
    service.routes = []
    asArray(s.routes).forEach((r, j) => {
      this.route(r, `${at}/routes/${j}`, index)
    })
    if (service.routes.length === 0) delete service.routes
  }

  /** Fills url or targets; false when the service cannot be imported. */
  private serviceTarget(s: Obj, at: string, service: ServiceConfig): boolean {
    let protocol = 'http'
    let host: string | undefined
    let port: number | undefined
    let path: string | undefined
    if (typeof s.url === 'string') {
      let u: URL
      try {
        u = new URL(s.url)
      } catch {
        this.out.warn(`${at}/url`, `"${s.url}" is not a URL; service left out`)
        return false
      }
      protocol = u.protocol.replace(':', '')
      host = u.hostname
      port = u.port ? Number(u.port) : undefined
      path = u.pathname === '/' ? undefined : u.pathname
    } else {
      protocol = typeof s.protocol === 'string' ? s.protocol : 'http'
      host = typeof s.host === 'string' ? s.host : undefined
      port = typeof s.port === 'number' ? s.port : undefined
      path = typeof s.path === 'string' && s.path !== '/' ? s.path : undefined
    }
    if (protocol !== 'http' && protocol !== 'https') {
      this.out.warn(
        `${at}/protocol`,
        `protocol ${protocol} is not proxied by Gatehouse (http and https only); service left out`,
      )
      return false
    }
    if (!host) {
      this.out.warn(at, 'no url or host; service left out')
      return false
    }
    const upstream = this.upstreams.get(host)
    if (upstream) {
      const parts: UpstreamParts = convertKongUpstream(upstream.value, upstream.pointer, protocol, this.out)
      if (parts.targets.length === 0) {
        this.out.warn(upstream.pointer, `upstream ${host} has no targets; service left out`)
        return false
      }
      service.targets = parts.targets
      if (path) service.path = path
      if (parts.balancing) service.balancing = parts.balancing
      if (parts.healthchecks) service.healthchecks = parts.healthchecks
      this.out.comment(
        `/services/${(this.out.config.services as unknown[]).length}`,
        `targets from Kong upstream "${host}"`,
      )
      return true
    }
    const defaultPort = protocol === 'https' ? 443 : 80
    const hostPart = host.includes(':') ? `[${host}]` : host
    service.url = `${protocol}://${hostPart}${port && port !== defaultPort ? `:${port}` : ''}${path ?? ''}`
    return true
  }

  private topLevelRoute(r: unknown, at: string) {
    if (!isObject(r)) return this.out.warn(at, 'not an object; left out')
    const ref = isObject(r.service) ? (r.service.id ?? r.service.name) : r.service
    const svc = typeof ref === 'string' ? this.services.get(ref) : undefined
    if (!svc) return this.out.warn(`${at}/service`, 'a route without a known service is not imported')
    this.route(r, at, svc.index)
  }

  private route(r: unknown, at: string, serviceIndex: number) {
    if (!isObject(r)) return this.out.warn(at, 'not an object; left out')
    const service = (this.out.config.services as ServiceConfig[])[serviceIndex] as ServiceConfig
    const routes = service.routes as RouteConfig[]
    const route: RouteConfig = { name: '' }
    const paths: string[] = []
    asArray(r.paths).forEach((p, k) => {
      const converted = this.path(String(p), `${at}/paths/${k}`)
      if (converted) paths.push(converted)
    })
    if (asArray(r.paths).length > 0 && paths.length === 0) {
      this.out.warn(`${at}/paths`, 'no path of this route could be carried over; route left out')
      return
    }
    if (paths.length > 0) route.paths = [...new Set(paths)]
    const methods = asArray(r.methods).map((m) => String(m).toUpperCase())
    if (methods.length > 0) route.methods = methods
    const hosts: string[] = []
    asArray(r.hosts).forEach((h, k) => {
      const host = String(h)
      if (/^\*\.[A-Za-z0-9.-]+(:\d+)?$|^[A-Za-z0-9.-]+(:\d+)?$/.test(host)) hosts.push(host)
      else
        this.out.warn(`${at}/hosts/${k}`, `host "${host}" (a suffix wildcard?) has no equivalent; left out`)
    })
    if (hosts.length > 0) route.hosts = hosts
    if (isObject(r.headers)) {
      const headers: Record<string, string[]> = {}
      for (const [name, values] of Object.entries(r.headers)) {
        const list = asArray(values).map(String)
        const plain = list.filter((v) => !v.startsWith('~*'))
        if (plain.length < list.length)
          this.out.warn(`${at}/headers/${seg(name)}`, 'regex header values (~*) have no equivalent; left out')
        if (plain.length > 0) headers[name.toLowerCase()] = plain
      }
      if (Object.keys(headers).length > 0) route.headers = headers
    }
    if (typeof r.strip_path === 'boolean') route.stripPath = r.strip_path
    if (typeof r.preserve_host === 'boolean') route.preserveHost = r.preserve_host
    for (const key of ['regex_priority', 'priority']) {
      if (typeof r[key] === 'number' && r[key] !== 0)
        this.out.warn(
          `${at}/${key}`,
          `${key} ${r[key]}: Gatehouse orders routes by specificity (exact, then longer literal paths), not by a number`,
        )
    }
    for (const key of ['snis', 'sources', 'destinations', 'expression']) {
      if (
        r[key] !== undefined &&
        r[key] !== null &&
        !(Array.isArray(r[key]) && (r[key] as unknown[]).length === 0)
      )
        this.out.warn(`${at}/${key}`, `${key} matching has no equivalent; left out`)
    }
    const protocols = asArray(r.protocols).map(String)
    if (protocols.length > 0 && protocols.every((p) => p === 'https'))
      this.out.warn(
        `${at}/protocols`,
        'https-only routes: serve TLS with tls in Gatehouse; plain HTTP requests are not redirected',
      )
    if (
      protocols.some(
        (p) => p.startsWith('grpc') || p === 'tcp' || p === 'tls' || p === 'udp' || p.startsWith('ws'),
      )
    )
      this.out.warn(
        `${at}/protocols`,
        `protocols ${protocols.join(', ')}: Gatehouse routes HTTP; check docs/grpc.md and docs/protocols.md`,
      )
    const fallback = `${service.name}.${routes.length + 1}`
    route.name = this.routeNames.take(toName(String(r.name ?? ''), fallback))
    const index = routes.length
    routes.push(route)
    for (const ref of [r.id, r.name]) {
      if (typeof ref === 'string') this.routes.set(ref, { service: serviceIndex, index, name: route.name })
    }
  }

  /**
   * A Kong path → a Gatehouse path. Plain paths are prefixes (Kong matches them character-wise, Gatehouse
   * on segment boundaries). Regex paths (`~` in 3.0; any regex character before 3.0) are carried over
   * when they are a literal path with simple captures; anything else is a warning.
   */
  private path(p: string, at: string): string | undefined {
    let regex: string | undefined
    if (p.startsWith('~')) regex = p.slice(1)
    else if (this.format !== '3.0' && /[^A-Za-z0-9._~/%:@!$&'=,;+-]/.test(p)) regex = p
    if (regex === undefined) return p.startsWith('/') ? p : `/${p}`
    const converted = regexToPath(regex)
    if (converted.path === undefined) {
      this.out.warn(at, `regex path ${JSON.stringify(p)}: ${converted.why}; left out`)
      return undefined
    }
    if (converted.loose)
      this.out.warn(
        at,
        `regex path ${JSON.stringify(p)} → ${converted.path}: captures match any one segment (the pattern's own constraint is not checked)`,
      )
    return converted.path
  }

  // --- consumers -----------------------------------------------------------------------------

  private consumer(c: unknown, at: string) {
    if (!isObject(c)) return this.out.warn(at, 'not an object; left out')
    const consumers = this.out.config.consumers as ConsumerConfig[]
    const index = consumers.length
    const base =
      typeof c.username === 'string'
        ? c.username
        : typeof c.custom_id === 'string'
          ? c.custom_id
          : `consumer-${index + 1}`
    const id = this.consumerIds.take(toName(base, `consumer-${index + 1}`))
    const consumer: ConsumerConfig = { id }
    if (typeof c.username === 'string') consumer.username = c.username
    if (typeof c.custom_id === 'string') consumer.customId = c.custom_id
    consumers.push(consumer)
    for (const ref of [c.id, c.username, c.custom_id])
      if (typeof ref === 'string') this.consumers.set(ref, { index, id })
    this.credentials(c, at, consumer)
  }

  private consumerGroups() {
    asArray(this.doc.consumer_groups).forEach((g, i) => {
      if (!isObject(g) || typeof g.name !== 'string') return
      asArray(g.consumers).forEach((m) => {
        const ref = isObject(m) ? (m.username ?? m.id) : m
        const c = typeof ref === 'string' ? this.consumers.get(ref) : undefined
        if (c) this.addGroup(c.index, g.name as string)
      })
      if (asArray(g.plugins).length > 0)
        this.out.warn(
          `/consumer_groups/${i}/plugins`,
          'consumer group plugins have no equivalent; left out (bind the plugins to each consumer)',
        )
    })
  }

  private addGroup(index: number, group: string) {
    const consumer = (this.out.config.consumers as ConsumerConfig[])[index] as ConsumerConfig
    const groups = consumer.groups ?? []
    if (!groups.includes(group)) groups.push(group)
    consumer.groups = groups
  }

  private topLevelCredentials() {
    for (const key of CREDENTIAL_KINDS) {
      asArray(this.doc[key]).forEach((cred, i) => {
        const at = `/${key}/${i}`
        const ref = isObject(cred)
          ? isObject(cred.consumer)
            ? (cred.consumer.id ?? cred.consumer.username)
            : cred.consumer
          : undefined
        const c = typeof ref === 'string' ? this.consumers.get(ref) : undefined
        if (!c) {
          this.out.warn(`${at}/consumer`, 'a credential without a known consumer is not imported')
          return
        }
        const consumer = (this.out.config.consumers as ConsumerConfig[])[c.index] as ConsumerConfig
        this.credential(key, cred, at, consumer, c.index)
      })
    }
  }

  private credentials(c: Obj, at: string, consumer: ConsumerConfig) {
    const index = (this.out.config.consumers as ConsumerConfig[]).indexOf(consumer)
    for (const key of CREDENTIAL_KINDS) {
      asArray(c[key]).forEach((cred, i) => {
        this.credential(key, cred, `${at}/${key}/${i}`, consumer, index)
      })
    }
  }

  private credential(kind: string, cred: unknown, at: string, consumer: ConsumerConfig, index: number) {
    if (!isObject(cred)) return this.out.warn(at, 'not an object; left out')
    const credentials = (consumer.credentials ??= {})
    const outAt = (plugin: string) =>
      `/consumers/${index}/credentials/${plugin}/${(credentials[plugin] ?? []).length}`
    switch (kind) {
      case 'keyauth_credentials': {
        if (typeof cred.key !== 'string' || cred.key === '')
          return this.out.warn(`${at}/key`, 'no key; left out')
        const entry: Obj = { keySha256: createHash('sha256').update(cred.key).digest('hex') }
        if (typeof cred.id === 'string') entry.id = cred.id
        if (typeof cred.ttl === 'number' && cred.ttl > 0)
          this.out.warn(`${at}/ttl`, 'key expiry (ttl) has no equivalent; the key does not expire')
        this.out.comment(
          outAt('key-auth'),
          'the SHA-256 digest of the Kong key: clients send the same key as before',
        )
        credentials['key-auth'] = [...(credentials['key-auth'] ?? []), entry]
        return
      }
      case 'basicauth_credentials': {
        if (typeof cred.username !== 'string' || typeof cred.password !== 'string')
          return this.out.warn(at, 'a basic-auth credential needs username and password; left out')
        if (/^[0-9a-f]{40}$/.test(cred.password)) {
          return this.out.warn(
            `${at}/password`,
            "looks like Kong's stored SHA-1 digest (a decK dump), which cannot be converted: set a new password hash with gatehouse-basic-auth-hash",
          )
        }
        this.out.comment(
          outAt('basic-auth'),
          'scrypt hash of the Kong password (the file no longer holds it in clear)',
        )
        credentials['basic-auth'] = [
          ...(credentials['basic-auth'] ?? []),
          { username: cred.username, password: scryptHash(cred.password) },
        ]
        return
      }
      case 'jwt_secrets': {
        const algorithm = typeof cred.algorithm === 'string' ? cred.algorithm : 'HS256'
        const entry: Obj = { key: String(cred.key ?? ''), algorithm }
        if (!entry.key) return this.out.warn(`${at}/key`, 'no key; left out')
        if (!(JWS_ALGORITHMS as readonly string[]).includes(algorithm))
          return this.out.warn(
            `${at}/algorithm`,
            `algorithm ${algorithm} is not supported by the jwt plugin; left out`,
          )
        if (algorithm.startsWith('HS')) {
          if (typeof cred.secret !== 'string') return this.out.warn(`${at}/secret`, 'no secret; left out')
          // Kong takes any HMAC secret; the jwt plugin refuses one shorter than the hash output
          // (RFC 7518 §3.2), so such a credential would make the whole file invalid.
          const bytes = Number(algorithm.slice(2)) / 8
          if (Buffer.byteLength(cred.secret, cred.secret_is_base64 === true ? 'base64' : 'utf8') < bytes)
            return this.out.warn(
              `${at}/secret`,
              `an ${algorithm} secret must be at least ${bytes} bytes (RFC 7518 §3.2); issue a longer one; left out`,
            )
          entry.secret = cred.secret
        } else {
          if (typeof cred.rsa_public_key !== 'string')
            return this.out.warn(`${at}/rsa_public_key`, `${algorithm} needs rsa_public_key; left out`)
          entry.publicKey = cred.rsa_public_key
        }
        credentials.jwt = [...(credentials.jwt ?? []), entry]
        return
      }
      case 'acls': {
        if (typeof cred.group !== 'string') return this.out.warn(`${at}/group`, 'no group; left out')
        this.addGroup(index, cred.group)
        return
      }
      default:
        this.out.warn(
          at,
          `${kind} have no equivalent (${kind === 'hmacauth_credentials' ? KONG_UNMAPPED['hmac-auth'] : KONG_UNMAPPED.oauth2}); left out`,
        )
    }
  }

  // --- plugins -------------------------------------------------------------------------------

  private serviceRef(s: Obj): Scope | undefined {
    const ref = (s.id ?? s.name) as string | undefined
    return ref !== undefined && this.services.has(ref) ? { kind: 'service', refs: [ref] } : undefined
  }
  private routeRef(r: Obj): Scope | undefined {
    const ref = (r.id ?? r.name) as string | undefined
    return ref !== undefined && this.routes.has(ref) ? { kind: 'route', refs: [ref] } : undefined
  }
  private consumerRef(c: Obj): Scope {
    return { kind: 'consumer', refs: [(c.id ?? c.username ?? c.custom_id) as string] }
  }

  private nestedPlugins(list: unknown, at: string, scope: Scope) {
    asArray(list).forEach((p, i) => {
      this.plugin(p, `${at}/${i}`, scope, {})
    })
  }

  /**
   * The name of the top-level `redis` connection for `url`, added on first use: `default`, then
   * `redis-2`, `redis-3`… for other servers, so plugins on the same Redis share one connection.
   */
  private redisConnection(url: string): string {
    const section = (this.out.config.redis ??= {}) as Record<string, { url?: string }>
    const found = Object.entries(section).find(([, c]) => c.url === url)
    if (found) return found[0]
    const count = Object.keys(section).length
    const name = count === 0 ? 'default' : `redis-${count + 1}`
    section[name] = { url }
    return name
  }

  private topLevelPlugin(p: unknown, at: string) {
    if (!isObject(p)) return this.out.warn(at, 'not an object; left out')
    const refOf = (v: unknown) => (isObject(v) ? (v.id ?? v.name ?? v.username) : v) as string | undefined
    const bind: { service?: string; route?: string; consumer?: string } = {}
    const s = refOf(p.service)
    const r = refOf(p.route)
    const c = refOf(p.consumer)
    if (s !== undefined) {
      const svc = this.services.get(s)
      if (!svc) return this.out.warn(`${at}/service`, `no service "${s}"; plugin left out`)
      bind.service = svc.name
    }
    if (r !== undefined) {
      const route = this.routes.get(r)
      if (!route) return this.out.warn(`${at}/route`, `no route "${r}"; plugin left out`)
      bind.route = route.name
    }
    if (c !== undefined) {
      const consumer = this.consumers.get(c)
      if (!consumer) return this.out.warn(`${at}/consumer`, `no consumer "${c}"; plugin left out`)
      bind.consumer = consumer.id
    }
    this.plugin(p, at, { kind: 'global' }, bind)
  }

  private plugin(
    p: unknown,
    at: string,
    scope: Scope,
    bind: { service?: string; route?: string; consumer?: string },
  ) {
    if (!isObject(p) || typeof p.name !== 'string')
      return this.out.warn(at, 'a plugin needs a name; left out')
    const kongName = p.name
    const mapping = kongPluginMapping(kongName)
    if (!mapping) {
      const hint = KONG_UNMAPPED[kongName]
      return this.out.warn(
        at,
        `Kong plugin ${kongName} has no Gatehouse equivalent${hint ? ` (${hint})` : ''}; left out`,
      )
    }
    const fields = new Fields(isObject(p.config) ? p.config : {})
    const ctx = {
      warn: (field: string, message: string) =>
        this.out.warn(field ? `${at}/config/${field}` : `${at}/config`, message),
      consumer: (ref: string) => this.consumers.get(ref)?.id,
      redis: (url: string) => this.redisConnection(url),
    }
    const mapped = mapping.map(fields, ctx)
    for (const field of fields.unread(mapping.defaults)) {
      this.out.warn(`${at}/config/${seg(field)}`, `${kongName}: ${field} has no equivalent; left out`)
    }
    const protocols = asArray(p.protocols).map(String)
    if (protocols.length > 0 && !protocols.some((x) => x === 'http' || x === 'https'))
      this.out.warn(`${at}/protocols`, `a plugin for ${protocols.join(', ')} only; imported for HTTP`)
    if ('topLevel' in mapped) {
      const bound = scope.kind !== 'global' || bind.service || bind.route || bind.consumer
      if (bound)
        return this.out.warn(
          at,
          `${kongName} maps to top-level settings in Gatehouse and applies to every route; only a global instance is imported`,
        )
      Object.assign(this.out.config, mapped.topLevel)
      for (const key of Object.keys(mapped.topLevel))
        this.out.comment(`/${key}`, `from Kong plugin ${kongName} (${at})`)
      return
    }
    const instance: NestedPluginConfig = { name: mapped.plugin }
    if (p.enabled === false) instance.enabled = false
    if (Object.keys(mapped.config).length > 0) instance.config = mapped.config
    const where = this.place(instance, scope, bind)
    this.out.comment(where, mapped.plugin === kongName ? `Kong ${at}` : `Kong plugin ${kongName} (${at})`)
    if (['request-transformer', 'response-transformer', 'access-log'].includes(mapped.plugin)) {
      const list = this.stacking.get(mapped.plugin) ?? []
      list.push(at)
      this.stacking.set(mapped.plugin, list)
    }
  }

  /** Puts the instance where its Kong scope says; returns its output pointer. */
  private place(
    instance: NestedPluginConfig,
    scope: Scope,
    bind: { service?: string; route?: string; consumer?: string },
  ): string {
    const ref = scope.refs?.[0]
    if (scope.kind === 'service' && ref !== undefined) {
      const svc = this.services.get(ref) as { index: number }
      const s = (this.out.config.services as ServiceConfig[])[svc.index] as ServiceConfig
      s.plugins = [...(s.plugins ?? []), instance]
      return `/services/${svc.index}/plugins/${s.plugins.length - 1}`
    }
    if (scope.kind === 'route' && ref !== undefined) {
      const r = this.routes.get(ref) as { service: number; index: number }
      const s = (this.out.config.services as ServiceConfig[])[r.service] as ServiceConfig
      const route = (s.routes as RouteConfig[])[r.index] as RouteConfig
      route.plugins = [...(route.plugins ?? []), instance]
      return `/services/${r.service}/routes/${r.index}/plugins/${route.plugins.length - 1}`
    }
    if (scope.kind === 'consumer' && ref !== undefined) {
      const c = this.consumers.get(ref) as { index: number }
      const consumer = (this.out.config.consumers as ConsumerConfig[])[c.index] as ConsumerConfig
      consumer.plugins = [...(consumer.plugins ?? []), instance]
      return `/consumers/${c.index}/plugins/${consumer.plugins.length - 1}`
    }
    const top: PluginInstanceConfig = { ...instance, ...bind }
    if (top.route) delete top.service
    const plugins = this.out.config.plugins as PluginInstanceConfig[]
    plugins.push(top)
    return `/plugins/${plugins.length - 1}`
  }
}

const SEGMENT_PATTERNS = ['[^/]+', '\\d+', '\\w+', '[0-9]+', '[a-zA-Z0-9_-]+']

/**
 * A Kong regex path → a Gatehouse path, when it is a literal path with captures of one segment each:
 * `/users/(?<id>\d+)$` → `=/users/:id`. Kong anchors regex paths at the start; `$` at the end makes it exact.
 */
export function regexToPath(source: string): { path?: string; why?: string; loose?: boolean } {
  let re = source.startsWith('^') ? source.slice(1) : source
  let exact = false
  if (re.endsWith('$') && !re.endsWith('\\$')) {
    exact = true
    re = re.slice(0, -1)
  }
  let out = ''
  let loose = false
  let n = 0
  const used = new Set<string>()
  for (let i = 0; i < re.length; ) {
    const ch = re[i] as string
    if (out.endsWith('/')) {
      // A whole segment that is a simple one-segment pattern (`\d+`, `[^/]+`): an unnamed capture.
      const simple = SEGMENT_PATTERNS.find(
        (p) => re.startsWith(p, i) && [undefined, '/'].includes(re[i + p.length]),
      )
      if (simple !== undefined) {
        out += `:p${++n}`
        loose ||= simple !== '[^/]+'
        i += simple.length
        continue
      }
    }
    if (ch === '\\') {
      const next = re[i + 1] ?? ''
      if (/[./\-_~]/.test(next)) {
        out += next
        i += 2
        continue
      }
      return { why: `\\${next} outside a capture` }
    }
    if (ch === '(') {
      const close = re.indexOf(')', i)
      if (close < 0) return { why: 'an unclosed group' }
      const group = re.slice(i + 1, close)
      if (group.includes('(')) return { why: 'nested groups' }
      const m = /^(?:\?<([A-Za-z_][A-Za-z0-9_]*)>|\?P<([A-Za-z_][A-Za-z0-9_]*)>)?(.*)$/.exec(
        group,
      ) as RegExpExecArray
      const body = m[3] as string
      if (body.startsWith('?')) return { why: 'a non-capturing or lookaround group' }
      if (body.includes('|')) return { why: 'an alternation' }
      if (!/^(\[\^\/\]|\\d|\[0-9\]|\\w|\[a-zA-Z0-9_-\]|\[\^\/\]|\.|[A-Za-z0-9\\[\]_-]+)[+*]?$/.test(body))
        return { why: `the capture (${group}) may span segments` }
      if (!out.endsWith('/')) return { why: 'a capture inside a segment' }
      if (body !== '[^/]+') loose = true
      let name = m[1] ?? m[2] ?? `p${++n}`
      while (used.has(name)) name = `${name}_`
      used.add(name)
      out += `:${name}`
      i = close + 1
      continue
    }
    if (/[.*+?|[\]{}^$]/.test(ch)) return { why: `the regex character "${ch}"` }
    out += ch
    i++
  }
  if (!out.startsWith('/')) return { why: 'it does not start with /' }
  if (out.length > 1 && out.endsWith('/') && !exact) out = out.slice(0, -1)
  return { path: exact ? `=${out}` : out, loose }
}
