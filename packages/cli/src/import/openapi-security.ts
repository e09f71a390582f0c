import type { ConsumerConfig, NestedPluginConfig } from '@gatehousejs/sdk/config'
import { isObject } from './names.js'
import type { Spec } from './openapi-spec.js'
import type { ImportResult } from './output.js'
import { seg } from './source.js'

type Obj = Record<string, unknown>

/** What one security scheme needs from the gateway: a plugin and the part of its config it sets. */
export interface AuthMethod {
  scheme: string
  plugin: 'key-auth' | 'basic-auth' | 'jwt'
  keyHeader?: string
  keyQuery?: string
  keyCookie?: string
  jwks?: { url: string; issuer?: string }[]
  issuers?: string[]
}

/** The consumer a failed any-of request goes on as; a consumer-bound request-termination answers it 401. */
export const ANONYMOUS = 'openapi-anonymous'
/** The consumer of operations whose security makes credentials optional (`{}` among the alternatives). */
export const PUBLIC = 'openapi-public'

/**
 * Turns the description's security schemes into auth methods. openIdConnect (and oauth2, whose
 * authorization server may publish RFC 8414 metadata) get their JWKS from the discovery document,
 * fetched once per URL when `discover` is on.
 */
export async function securityMethods(
  spec: Spec,
  out: ImportResult,
  discover: boolean,
  /** An openapi-validator instance is added: it checks the scopes operations list. */
  validator = false,
): Promise<Map<string, AuthMethod | undefined>> {
  const methods = new Map<string, AuthMethod | undefined>()
  const doc = spec.doc
  const schemes: Obj =
    spec.version === '2.0'
      ? isObject(doc.securityDefinitions)
        ? doc.securityDefinitions
        : {}
      : isObject(doc.components) && isObject((doc.components as Obj).securitySchemes)
        ? ((doc.components as Obj).securitySchemes as Obj)
        : {}
  const base = spec.version === '2.0' ? '/securityDefinitions' : '/components/securitySchemes'
  for (const [name, raw] of Object.entries(schemes)) {
    const at = `${base}/${seg(name)}`
    const s = spec.deref(raw)
    if (!isObject(s)) {
      out.warn(at, 'not a security scheme object; operations that require it are imported without it')
      methods.set(name, undefined)
      continue
    }
    const type = String(s.type)
    if (type === 'apiKey') {
      const where = String(s.in)
      const keyName = String(s.name ?? '')
      if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(keyName)) {
        out.warn(`${at}/name`, `API key name "${keyName}" cannot be a key-auth key name; scheme left out`)
        methods.set(name, undefined)
      } else if (where === 'header')
        methods.set(name, { scheme: name, plugin: 'key-auth', keyHeader: keyName })
      else if (where === 'query') methods.set(name, { scheme: name, plugin: 'key-auth', keyQuery: keyName })
      else if (where === 'cookie') methods.set(name, { scheme: name, plugin: 'key-auth', keyCookie: keyName })
      else {
        out.warn(`${at}/in`, `API key in ${where} is not supported; scheme left out`)
        methods.set(name, undefined)
      }
    } else if (type === 'basic' || (type === 'http' && String(s.scheme).toLowerCase() === 'basic')) {
      methods.set(name, { scheme: name, plugin: 'basic-auth' })
    } else if (type === 'http' && String(s.scheme).toLowerCase() === 'bearer') {
      if (s.bearerFormat !== undefined && !/jwt/i.test(String(s.bearerFormat)))
        out.warn(
          `${at}/bearerFormat`,
          `bearer format ${String(s.bearerFormat)}: verified as a JWT by the jwt plugin`,
        )
      methods.set(name, { scheme: name, plugin: 'jwt' })
      out.warn(
        at,
        "http bearer: add the issuers' keys (keys or jwks) to the jwt plugin, or consumers with jwt credentials; until then every token is refused",
      )
    } else if (type === 'openIdConnect' || type === 'oauth2') {
      const method: AuthMethod = { scheme: name, plugin: 'jwt' }
      const discovery =
        type === 'openIdConnect'
          ? typeof s.openIdConnectUrl === 'string'
            ? [s.openIdConnectUrl]
            : []
          : oauthMetadataUrls(s, spec.version)
      const found = discover ? await discoverJwks(discovery) : undefined
      if (found) {
        method.jwks = [{ url: found.jwksUri, ...(found.issuer ? { issuer: found.issuer } : {}) }]
        if (found.issuer) method.issuers = [found.issuer]
      } else {
        out.warn(
          at,
          discovery.length === 0
            ? `${type}: no discovery URL; add the authorization server's jwks to the jwt plugin`
            : `${type}: ${discover ? 'could not fetch' : 'did not fetch (--no-discover)'} ${discovery.join(' or ')}; add the authorization server's jwks to the jwt plugin`,
        )
      }
      if (type === 'oauth2' && !validator)
        out.warn(
          at,
          'oauth2: access tokens are verified as JWTs; the scopes operations list are checked only with --validator (openapi-validator)',
        )
      methods.set(name, method)
    } else {
      out.warn(
        at,
        `security scheme type ${type}${s.scheme ? ` (${String(s.scheme)})` : ''} has no equivalent; operations that require it are imported without it`,
      )
      methods.set(name, undefined)
    }
  }
  return methods
}

function oauthMetadataUrls(s: Obj, version: string): string[] {
  const urls: string[] = []
  const add = (u: unknown) => {
    if (typeof u !== 'string') return
    try {
      const origin = new URL(u).origin
      for (const p of ['/.well-known/openid-configuration', '/.well-known/oauth-authorization-server'])
        if (!urls.includes(origin + p)) urls.push(origin + p)
    } catch {}
  }
  if (version === '2.0') {
    add(s.tokenUrl)
    add(s.authorizationUrl)
  } else if (isObject(s.flows)) {
    for (const f of Object.values(s.flows)) {
      if (!isObject(f)) continue
      add(f.tokenUrl)
      add(f.authorizationUrl)
    }
  }
  return urls
}

const discovered = new Map<string, Promise<{ jwksUri: string; issuer?: string } | undefined>>()

/** Fetches discovery documents in turn until one names a `jwks_uri` (5 s each). */
async function discoverJwks(urls: string[]): Promise<{ jwksUri: string; issuer?: string } | undefined> {
  for (const url of urls) {
    let p = discovered.get(url)
    if (!p) {
      p = (async () => {
        try {
          const res = await fetch(url, {
            signal: AbortSignal.timeout(5000),
            headers: { accept: 'application/json' },
          })
          if (!res.ok) return undefined
          const body = (await res.json()) as Obj
          if (typeof body.jwks_uri !== 'string' || !/^https?:\/\//.test(body.jwks_uri)) return undefined
          return { jwksUri: body.jwks_uri, issuer: typeof body.issuer === 'string' ? body.issuer : undefined }
        } catch {
          return undefined
        }
      })()
      discovered.set(url, p)
    }
    const r = await p
    if (r) return r
  }
  return undefined
}

type Requirement = Record<string, unknown>

/**
 * The auth plugin instances for one operation's security requirements (OpenAPI semantics: the
 * requirements are alternatives, the schemes in one are all required; `{}` makes auth optional).
 * All-of: one instance per scheme, no anonymous. Any-of: one instance per plugin, each with the
 * anonymous consumer (whose request-termination answers 401), as docs/authentication.md describes.
 */
export function authPlugins(
  requirements: unknown,
  at: string,
  methods: Map<string, AuthMethod | undefined>,
  out: ImportResult,
  used: Set<string>,
): NestedPluginConfig[] {
  if (!Array.isArray(requirements) || requirements.length === 0) return []
  const optional = requirements.some((r) => isObject(r) && Object.keys(r).length === 0)
  let alternatives = requirements.filter((r): r is Requirement => isObject(r) && Object.keys(r).length > 0)
  if (alternatives.length === 0) return []
  const known = (r: Requirement, i: number): AuthMethod[] =>
    Object.keys(r).flatMap((name) => {
      if (!methods.has(name)) {
        out.warn(`${at}/${i}/${seg(name)}`, `no security scheme "${name}"; left out`)
        return []
      }
      const m = methods.get(name)
      return m ? [m] : []
    })
  if (alternatives.length > 1 && alternatives.some((r) => Object.keys(r).length > 1)) {
    out.warn(
      at,
      'alternatives that each combine several schemes cannot be expressed; only the first requirement is imported (all of its schemes required)',
    )
    alternatives = [alternatives[0] as Requirement]
  }
  if (alternatives.length === 1) {
    const list = known(alternatives[0] as Requirement, 0)
    const byPlugin = new Map<string, AuthMethod[]>()
    for (const m of list) byPlugin.set(m.plugin, [...(byPlugin.get(m.plugin) ?? []), m])
    for (const [plugin, ms] of byPlugin)
      if (ms.length > 1)
        out.warn(
          at,
          `schemes ${ms.map((m) => m.scheme).join(' and ')} are all required but share the ${plugin} plugin: one credential satisfies them`,
        )
    if (optional) {
      used.add(PUBLIC)
      if (byPlugin.size > 1)
        out.warn(at, 'optional security with several required schemes: imported as any one of them, or none')
    }
    return [...byPlugin.values()].map((ms) => instanceFor(ms, optional ? PUBLIC : undefined))
  }
  // Any of several single-scheme requirements.
  const list = alternatives.flatMap((r, i) => known(r, i))
  const byPlugin = new Map<string, AuthMethod[]>()
  for (const m of list) byPlugin.set(m.plugin, [...(byPlugin.get(m.plugin) ?? []), m])
  if (byPlugin.size === 0) return []
  if (byPlugin.size === 1 && !optional)
    return [instanceFor([...byPlugin.values()][0] as AuthMethod[], undefined)]
  const anonymous = optional ? PUBLIC : ANONYMOUS
  used.add(anonymous)
  return [...byPlugin.values()].map((ms) => instanceFor(ms, anonymous))
}

function instanceFor(ms: AuthMethod[], anonymous: string | undefined): NestedPluginConfig {
  const plugin = (ms[0] as AuthMethod).plugin
  const config: Obj = {}
  if (plugin === 'key-auth') {
    const names = [
      ...new Set(ms.flatMap((m) => [m.keyHeader, m.keyQuery, m.keyCookie].filter((x): x is string => !!x))),
    ]
    config.keyNames = names
    config.keyInHeader = ms.some((m) => m.keyHeader)
    config.keyInQuery = ms.some((m) => m.keyQuery)
    if (ms.some((m) => m.keyCookie)) config.keyInCookie = true
  } else if (plugin === 'jwt') {
    const jwks = ms.flatMap((m) => m.jwks ?? [])
    if (jwks.length > 0) config.jwks = jwks
  }
  if (anonymous) config.anonymous = anonymous
  return { name: plugin, ...(Object.keys(config).length > 0 ? { config } : {}) }
}

/** The consumers the any-of and optional security need. */
export function anonymousConsumers(used: Set<string>): ConsumerConfig[] {
  const consumers: ConsumerConfig[] = []
  if (used.has(ANONYMOUS))
    consumers.push({
      id: ANONYMOUS,
      plugins: [
        {
          name: 'request-termination',
          config: {
            statusCode: 401,
            message: 'Unauthorized: none of the accepted credentials was valid',
          },
        },
      ],
    })
  if (used.has(PUBLIC)) consumers.push({ id: PUBLIC })
  return consumers
}
