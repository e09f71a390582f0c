import { createRequire } from 'node:module'
import type { ConfigIssue } from '@gatehousejs/sdk'
import type { Ajv, ErrorObject, ValidateFunction } from 'ajv'
import { AJV_OPTIONS, gatehouseKeyword } from './ajv-setup.js'
import { nearestName } from './hints.js'
import * as generated from './validators.generated.js'

/**
 * The gateway's own schemas (a whole file, its `tls` section) are compiled at build time into
 * validators.generated.ts (scripts/write-validators.ts), so a start validates its file without compiling
 * anything. Plugins' schemas are compiled here, once each, by one ajv instance created (and ajv loaded)
 * the first time a plugin's config is checked, with the same options and `gatehouse` keyword
 * (ajv-setup.ts): `useDefaults` fills defaults in, and the keyword normalises durations to milliseconds,
 * sizes to bytes and header names to lower case, so what a plugin's `init` receives matches its static
 * type. A plugin's schema may use ajv-formats' formats.
 */
export const validateGatewayConfig = generated.validateGatewayConfig as ValidateFunction
export const validateTls = generated.validateTls as ValidateFunction

let ajv: Ajv | undefined

function createAjv(): Ajv {
  const load = createRequire(import.meta.url)
  const { Ajv } = load('ajv') as typeof import('ajv')
  const formats = load('ajv-formats') as { default: (a: Ajv) => Ajv }
  const instance = new Ajv(AJV_OPTIONS)
  formats.default(instance)
  instance.addKeyword(gatehouseKeyword)
  return instance
}

const compiled = new WeakMap<object, ValidateFunction>()

export function compileSchema(schema: object): ValidateFunction {
  let fn = compiled.get(schema)
  if (!fn) {
    ajv ??= createAjv()
    fn = ajv.compile(schema)
    compiled.set(schema, fn)
  }
  return fn
}

/**
 * Validates (and normalises, in place) `data` with a schema, or with a validator generated at build time;
 * returns issues with pointers under `base`.
 */
export function validateWith(
  schema: object | ValidateFunction,
  data: unknown,
  base: string,
  plugin?: string,
): ConfigIssue[] {
  const fn = typeof schema === 'function' ? (schema as ValidateFunction) : compileSchema(schema)
  if (fn(data)) return []
  return toIssues(fn.errors ?? [], base, plugin)
}

const FORMAT_MESSAGES: Record<string, string> = {
  duration: 'must be a duration: milliseconds, or a string such as "250ms", "5s", "1m", "1h"',
  size: 'must be a size: bytes, or a string such as "64kb", "1mb"',
}

function toIssues(errors: ErrorObject[], base: string, plugin: string | undefined): ConfigIssue[] {
  const byPath = new Map<string, ErrorObject[]>()
  for (const e of errors) {
    // A bad key is reported by its own `pattern` error at the key's pointer; the parent's
    // `propertyNames` error only repeats it vaguely.
    if (e.keyword === 'propertyNames') continue
    const list = byPath.get(e.instancePath) ?? []
    list.push(e)
    byPath.set(e.instancePath, list)
  }
  const issues: ConfigIssue[] = []
  for (const [path, list] of byPath) {
    const anyOf = list.find((e) => e.keyword === 'anyOf')
    let messages: string[]
    if (anyOf) {
      const format = (anyOf.parentSchema as { gatehouse?: string } | undefined)?.gatehouse
      messages = [format && FORMAT_MESSAGES[format] ? FORMAT_MESSAGES[format] : describeUnion(list)]
    } else {
      messages = list.map(describe)
    }
    for (const message of new Set(messages)) {
      issues.push({ pointer: base + path, message, ...(plugin ? { plugin } : {}) })
    }
  }
  return issues
}

function describe(e: ErrorObject): string {
  switch (e.keyword) {
    case 'additionalProperties': {
      const key = (e.params as { additionalProperty: string }).additionalProperty
      return `unknown property "${key}"${propertyHint(key, e.parentSchema as SchemaNode | undefined)}`
    }
    case 'required':
      return `missing required property "${(e.params as { missingProperty: string }).missingProperty}"`
    case 'enum':
      return `must be one of ${(e.params as { allowedValues: unknown[] }).allowedValues.map((v) => JSON.stringify(v)).join(', ')}`
    case 'pattern':
      return `${expectedForm(e)} (${JSON.stringify(e.data)})`
    default:
      return e.message ?? e.keyword
  }
}

function describeUnion(list: ErrorObject[]): string {
  const types = new Set<string>()
  for (const e of list) if (e.keyword === 'type') types.add(String((e.params as { type: string }).type))
  // A union of literals (TypeBox `Union([Literal('a'), Literal('b')])`) reads as the list of values.
  const consts = list.filter((e) => e.keyword === 'const')
  if (consts.length > 0) {
    const values = consts.map((e) => JSON.stringify((e.params as { allowedValue: unknown }).allowedValue))
    return `must be one of ${[...new Set(values)].join(', ')}`
  }
  const others = list.filter((e) => e.keyword !== 'type' && e.keyword !== 'anyOf').map(describe)
  if (others.length > 0) return others.join('; ')
  return types.size > 0 ? `must be ${[...types].join(' or ')}` : 'does not match any allowed form'
}

interface SchemaNode {
  properties?: Record<string, SchemaNode>
  description?: string
  pattern?: string
}

/**
 * What the patterns of the gateway's schema (and common ones of plugins) mean, said as the operator
 * would: `paths must start with "/"`, not the regular expression.
 */
const PATTERN_FORMS: Record<string, string> = {
  '^/': 'a path: paths must start with "/"',
  '^=?/': 'a route path: paths must start with "/" (or "=/" for an exact match)',
  '^[A-Z]+$': 'an HTTP method: upper-case letters, e.g. "GET"',
  '^[A-Za-z0-9][A-Za-z0-9._~-]*$':
    'a name: letters, digits, ".", "_", "~" and "-", starting with a letter or digit',
  "^[!#$%&'*+.^_`|~0-9A-Za-z-]+$": "a header name: letters, digits and !#$%&'*+.^_`|~- (no spaces or colons)",
  '^(\\*\\.)?[A-Za-z0-9.-]+(:\\d+)?$':
    'a host: letters, digits, "." and "-", optionally "*." first and ":port" last',
  '^(\\*\\.)?[A-Za-z0-9.-]+$': 'a host: letters, digits, "." and "-", optionally "*." first',
  '^((@[a-z0-9-~][a-z0-9-._~]*/)?[a-z0-9][a-z0-9._-]*|\\.{1,2}/.+|/.+)$':
    'a plugin: its registered name, a package name, or a path starting with "./", "../" or "/"',
  '^[\\t\\x20-\\x7e\\x80-\\xff]*$': 'a header value: no control characters (CR, LF, NUL)',
  '^rediss?://\\S+$': 'a Redis URL: redis://[user:password@]host:port or rediss://… for TLS',
  '^https?://[^\\s]+$': 'an http:// or https:// URL',
  '^https?://\\S+$': 'an http:// or https:// URL',
}

function expectedForm(e: ErrorObject): string {
  const pattern = (e.params as { pattern: string }).pattern
  const form = PATTERN_FORMS[pattern]
  if (form) return `must match ${form}`
  const description = (e.parentSchema as SchemaNode | undefined)?.description
  if (description) return `must match the form described: ${description} (pattern "${pattern}")`
  return `must match pattern "${pattern}"`
}

/**
 * Kong's field names that people type in a Gatehouse file, with the Gatehouse spelling. `where` is a
 * property of the object the field was found in, so a hint only shows where it makes sense.
 */
const KONG_FIELDS: Record<string, { where: string; hint: string }[]> = {
  read_timeout: [
    { where: 'timeouts', hint: "Kong's read_timeout is `timeouts.read` here (e.g. timeouts: { read: 60s })" },
  ],
  connect_timeout: [
    {
      where: 'timeouts',
      hint: "Kong's connect_timeout is `timeouts.connect` here (e.g. timeouts: { connect: 5s })",
    },
  ],
  write_timeout: [
    {
      where: 'timeouts',
      hint: 'Gatehouse has no write timeout: `timeouts.read` bounds each wait on the upstream, `timeouts.total` the whole exchange',
    },
  ],
  protocols: [
    {
      where: 'paths',
      hint: "a route has no `protocols` in Gatehouse: it serves what the gateway listens on (HTTPS with `tls`); the upstream scheme is the service `url`'s",
    },
    {
      where: 'url',
      hint: "a service has no `protocols` in Gatehouse: the upstream scheme is its `url`'s (http:// or https://)",
    },
    { where: 'config', hint: 'a plugin instance has no `protocols` in Gatehouse: narrow it with `when`' },
  ],
  host: [
    {
      where: 'url',
      hint: "Gatehouse takes one `url` (e.g. url: http://users:8080/v1) for Kong's protocol, host, port and path",
    },
  ],
  port: [
    {
      where: 'url',
      hint: "Gatehouse takes one `url` (e.g. url: http://users:8080/v1) for Kong's protocol, host, port and path",
    },
  ],
  protocol: [
    {
      where: 'url',
      hint: "Gatehouse takes one `url` (e.g. url: http://users:8080/v1) for Kong's protocol, host, port and path",
    },
  ],
  regex_priority: [
    {
      where: 'paths',
      hint: 'Gatehouse orders routes by specificity (exact, then longest prefix): there is no priority to set',
    },
  ],
}

/**
 * "Did you mean" for an unknown property, from the properties the object takes: Kong's spelling
 * (`read_timeout`), snake_case for camelCase (`strip_path` → `stripPath`), a near miss (`pahts`), or a
 * field one level down (rate-limit `minute` → `limits.minute`).
 */
function propertyHint(key: string, parent: SchemaNode | undefined): string {
  const properties = parent?.properties ?? {}
  const known = Object.keys(properties)
  const kong = KONG_FIELDS[key]?.find((k) => known.includes(k.where))
  if (kong) return `; ${kong.hint}`
  const camel = key.replace(/[_-]([a-z0-9])/g, (_m, c: string) => c.toUpperCase())
  if (camel !== key && known.includes(camel))
    return `; did you mean "${camel}"? (Gatehouse spells fields in camelCase)`
  const near = nearestName(key, known)
  if (near) return `; did you mean "${near}"?`
  for (const name of known) {
    const inner = Object.keys(properties[name]?.properties ?? {})
    const found = inner.find((k) => k === key || k === camel)
    if (found) return `; did you mean "${name}.${found}"?`
  }
  return ''
}
