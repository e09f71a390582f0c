import type { ClientInfo, Consumer, RequestView, RouteInfo, ServiceInfo } from '../context.js'
import type { ConfigIssue } from '../errors.js'
import { Type } from '../schema.js'
import {
  type DotPath,
  DotPathError,
  deletePath,
  EVERY,
  expandPath,
  getPath,
  hasPath,
  type PathSegment,
  parseDotPath,
  setPath,
} from './dot-path.js'
import { compileTemplate, type Template, type TemplateScope, TemplateSyntaxError } from './template.js'

/**
 * The transformer toolkit: Kong's five operations — `remove`, `rename`, `replace`, `add`, `append`,
 * always applied in that order — over flat name/value maps (headers, query parameters, form bodies)
 * and over JSON documents addressed by dot paths. Used by the request- and response-transformer
 * plugins; compiled once at `init`, applied per request.
 *
 * - `remove`: deletes the field.            - `rename`: moves a present field to a new name.
 * - `replace`: sets a field only if present. - `add`: sets a field only if absent.
 * - `append`: always adds a value (a second header value, a repeated query parameter, a JSON array item).
 */

export const TRANSFORM_OPERATIONS = ['remove', 'rename', 'replace', 'add', 'append'] as const
export type TransformOperation = (typeof TRANSFORM_OPERATIONS)[number]

/** The operations on one target, as configured. Values are templates (strings) or, for JSON, any value. */
export interface TransformOps<V = string> {
  remove?: readonly string[]
  rename?: Readonly<Record<string, string>>
  replace?: Readonly<Record<string, V>>
  add?: Readonly<Record<string, V>>
  append?: Readonly<Record<string, V>>
}

/** How a templated JSON value is typed (Kong's `json_types`); `json` parses the rendered text. */
export type JsonValueType = 'string' | 'number' | 'boolean' | 'json'

export interface CompileTransformOptions {
  /** The JSON pointer of each operation's map in the configuration, for issues. */
  pointer: (op: TransformOperation) => string
  /** Where compile problems go: one issue per bad path or template, with its pointer. */
  issues: ConfigIssue[]
  /** Template variables allowed in values. */
  variables: readonly string[]
  /** Template variables whose first key is lower-cased (`headers`). */
  lowerCaseVariables?: readonly string[]
}

/** A flat map: headers, query parameters, a parsed form body. */
export type FlatFields = Record<string, string | string[] | undefined>

export interface FlatTransform {
  /** Applies the operations in order; returns whether anything changed. */
  apply(fields: FlatFields, scope: TemplateScope): boolean
  /** Whether any value is a template (the scope is then read). */
  readonly dynamic: boolean
}

export interface JsonTransform {
  /** Applies the operations in order to `doc` (in place); returns whether anything changed. */
  apply(doc: unknown, scope: TemplateScope): boolean
  readonly dynamic: boolean
}

/** JSON pointer escaping of one key (RFC 6901 §3). */
export function pointerKey(key: string): string {
  return key.replace(/~/g, '~0').replace(/\//g, '~1')
}

/** RFC 9110 §5.5: what a field value may hold. Anything else in a rendered value is percent-encoded. */
const UNSAFE_HEADER_CHARS = /[^\t\x20-\x7e\x80-\xff]/g

/** Makes a rendered value safe as a header value: CR, LF, NUL and non-Latin-1 are percent-encoded. */
export function headerSafe(value: string): string {
  UNSAFE_HEADER_CHARS.lastIndex = 0
  if (!UNSAFE_HEADER_CHARS.test(value)) return value
  return value.replace(UNSAFE_HEADER_CHARS, (c) => encodeURIComponent(c))
}

function compileValueTemplate(
  source: string,
  where: string,
  opts: CompileTransformOptions,
): Template | undefined {
  try {
    return compileTemplate(source, { variables: opts.variables, lowerCase: opts.lowerCaseVariables })
  } catch (err) {
    if (!(err instanceof TemplateSyntaxError)) throw err
    opts.issues.push({ pointer: where, message: `invalid template: ${err.message}` })
    return undefined
  }
}

/**
 * Compiles the operations on a flat map. `lowerCaseNames` for headers. Values are templates; with
 * `headerValues` a rendered value is made safe for a header.
 */
export function compileFlatTransform(
  ops: TransformOps<unknown>,
  opts: CompileTransformOptions & { lowerCaseNames?: boolean; headerValues?: boolean },
): FlatTransform | undefined {
  const name = (n: string) => (opts.lowerCaseNames ? n.toLowerCase() : n)
  const remove = (ops.remove ?? []).map(name)
  const rename = Object.entries(ops.rename ?? {}).map(([from, to]) => [name(from), name(to)] as const)
  const safe = opts.headerValues ? headerSafe : (v: string) => v
  const values = (op: 'replace' | 'add' | 'append') =>
    Object.entries(ops[op] ?? {}).flatMap(([key, raw]) => {
      const text = typeof raw === 'string' ? raw : JSON.stringify(raw)
      const t = compileValueTemplate(text, `${opts.pointer(op)}/${pointerKey(key)}`, opts)
      return t ? [[name(key), t] as const] : []
    })
  const replace = values('replace')
  const add = values('add')
  const append = values('append')
  if (remove.length + rename.length + replace.length + add.length + append.length === 0) return undefined
  const dynamic = [...replace, ...add, ...append].some(([, t]) => !t.isStatic)
  return {
    dynamic,
    apply: function applyFlatTransform(fields, scope) {
      let changed = false
      for (const n of remove) {
        if (fields[n] !== undefined) {
          delete fields[n]
          changed = true
        }
      }
      for (const [from, to] of rename) {
        const v = fields[from]
        if (v === undefined || from === to) continue
        delete fields[from]
        fields[to] = v
        changed = true
      }
      for (const [n, t] of replace) {
        if (fields[n] === undefined) continue
        fields[n] = safe(t.render(scope))
        changed = true
      }
      for (const [n, t] of add) {
        if (fields[n] !== undefined) continue
        fields[n] = safe(t.render(scope))
        changed = true
      }
      for (const [n, t] of append) {
        const v = safe(t.render(scope))
        const cur = fields[n]
        fields[n] = cur === undefined ? v : Array.isArray(cur) ? [...cur, v] : [cur, v]
        changed = true
      }
      return changed
    },
  }
}

interface JsonPath {
  /** The path as configured. */
  path: DotPath
  /** The same path under `*`, for a document that is an array of objects (Kong applies to each). */
  each: readonly PathSegment[] | undefined
}

function jsonPath(source: string, where: string, opts: CompileTransformOptions): JsonPath | undefined {
  let path: DotPath
  try {
    path = parseDotPath(source)
  } catch (err) {
    if (!(err instanceof DotPathError)) throw err
    opts.issues.push({ pointer: where, message: err.message })
    return undefined
  }
  const first = path.segments[0]
  const each: PathSegment[] | undefined =
    typeof first === 'string' && !/^\d+$/.test(first) ? [EVERY, ...path.segments] : undefined
  return { path, each }
}

function segmentsFor(doc: unknown, p: JsonPath): readonly PathSegment[] {
  return Array.isArray(doc) && p.each !== undefined ? p.each : p.path.segments
}

type ValueOf = ((scope: TemplateScope) => unknown) & { dynamic?: boolean }

function compileJsonValue(
  raw: unknown,
  type: JsonValueType | undefined,
  where: string,
  opts: CompileTransformOptions,
): ValueOf | undefined {
  if (typeof raw !== 'string') {
    if (raw === null || typeof raw !== 'object') return () => raw
    return () => structuredClone(raw)
  }
  const t = compileValueTemplate(raw, where, opts)
  if (t === undefined) return undefined
  const fn: ValueOf =
    type === undefined || type === 'string'
      ? (scope) => t.render(scope)
      : (scope) => typed(t.render(scope), type)
  fn.dynamic = !t.isStatic
  return fn
}

/** Kong's json_types: "42" as a number, "true" as a boolean; text that is not one becomes `null`. */
function typed(text: string, type: JsonValueType): unknown {
  if (type === 'number') {
    const n = text.trim() === '' ? Number.NaN : Number(text)
    return Number.isFinite(n) ? n : null
  }
  if (type === 'boolean') return text === 'true' ? true : text === 'false' ? false : null
  if (type === 'json') {
    try {
      return JSON.parse(text)
    } catch {
      return text
    }
  }
  return text
}

/**
 * Compiles the operations on a JSON document addressed by dot paths. `types` (per operation, keyed
 * like its values) types templated values, as Kong's `json_types`. When the document is an array and
 * a path does not start with an index or `*`, the path applies to each element (as in Kong).
 */
export function compileJsonTransform(
  ops: TransformOps<unknown>,
  opts: CompileTransformOptions & {
    types?: Partial<Record<'replace' | 'add' | 'append', Readonly<Record<string, JsonValueType>>>>
  },
): JsonTransform | undefined {
  const remove = (ops.remove ?? []).flatMap((s, i) => {
    const p = jsonPath(s, `${opts.pointer('remove')}/${i}`, opts)
    return p ? [p] : []
  })
  const rename = Object.entries(ops.rename ?? {}).flatMap(([from, to]) => {
    const where = `${opts.pointer('rename')}/${pointerKey(from)}`
    const f = jsonPath(from, where, opts)
    const t = jsonPath(to, where, opts)
    if (!f || !t) return []
    if (t.path.wildcards > f.path.wildcards) {
      opts.issues.push({ pointer: where, message: `"${to}" has more "*" than "${from}"` })
      return []
    }
    return [[f, t] as const]
  })
  const values = (op: 'replace' | 'add' | 'append') => {
    const types = opts.types?.[op] ?? {}
    for (const key of Object.keys(types)) {
      if (!Object.hasOwn(ops[op] ?? {}, key)) {
        opts.issues.push({
          pointer: `${opts.pointer(op).replace(/\/[^/]*$/, '')}/jsonTypes/${pointerKey(key)}`,
          message: `"${key}" is not a field this operation sets`,
        })
      }
    }
    return Object.entries(ops[op] ?? {}).flatMap(([key, raw]) => {
      const where = `${opts.pointer(op)}/${pointerKey(key)}`
      const p = jsonPath(key, where, opts)
      const v = compileJsonValue(raw, types[key], where, opts)
      return p && v ? [[p, v] as const] : []
    })
  }
  const replace = values('replace')
  const add = values('add')
  const append = values('append')
  if (remove.length + rename.length + replace.length + add.length + append.length === 0) return undefined
  const dynamic = [...replace, ...add, ...append].some(([, v]) => v.dynamic === true)
  return {
    dynamic,
    apply: function applyJsonTransform(doc, scope) {
      if (typeof doc !== 'object' || doc === null) return false
      let changed = false
      for (const p of remove) {
        // Backwards, so splicing an array element does not shift the ones still to remove.
        for (const c of expandPath(doc, segmentsFor(doc, p)).reverse()) if (deletePath(doc, c)) changed = true
      }
      for (const [from, to] of rename) {
        const fromSegs = segmentsFor(doc, from)
        const toSegs = Array.isArray(doc) && from.each !== undefined && to.each ? to.each : to.path.segments
        for (const c of expandPath(doc, fromSegs).reverse()) {
          if (!hasPath(doc, c)) continue
          const target = bind(toSegs, fromSegs, c)
          const value = getPath(doc, c)
          deletePath(doc, c)
          setPath(doc, target, value)
          changed = true
        }
      }
      for (const [p, value] of replace) {
        for (const c of expandPath(doc, segmentsFor(doc, p))) {
          if (hasPath(doc, c) && setPath(doc, c, value(scope))) changed = true
        }
      }
      for (const [p, value] of add) {
        for (const c of expandPath(doc, segmentsFor(doc, p))) {
          if (!hasPath(doc, c) && setPath(doc, c, value(scope))) changed = true
        }
      }
      for (const [p, value] of append) {
        for (const c of expandPath(doc, segmentsFor(doc, p))) {
          const v = value(scope)
          const cur = getPath(doc, c)
          if (Array.isArray(cur)) {
            cur.push(v)
            changed = true
          } else if (setPath(doc, c, hasPath(doc, c) ? [cur, v] : [v])) changed = true
        }
      }
      return changed
    },
  }
}

/** The k-th `*` of `target` takes the index or key the k-th `*` of `pattern` matched in `concrete`. */
function bind(
  target: readonly PathSegment[],
  pattern: readonly PathSegment[],
  concrete: readonly PathSegment[],
): PathSegment[] {
  const bound: PathSegment[] = pattern.flatMap((s, i): PathSegment[] => (s === EVERY ? [concrete[i]!] : []))
  let k = 0
  return target.map((s): PathSegment => (s === EVERY ? bound[k++]! : s))
}

/**
 * A transformer config shaped like Kong's: one object per operation, each keyed by target
 * (`{ remove: { headers: [...], body: [...] }, rename: {...}, ... }`), plus `jsonTypes` per operation.
 */
export type TransformConfig = {
  readonly [op in TransformOperation]: Readonly<Record<string, unknown>> & {
    readonly jsonTypes?: Readonly<Record<string, JsonValueType>>
  }
}

/** The operations on one target (`headers`, `query`, `body`) of a {@link TransformConfig}. */
export function transformOpsOf(config: TransformConfig, target: string): TransformOps<unknown> {
  const of = (op: TransformOperation) => config[op][target] as never
  return {
    remove: of('remove'),
    rename: of('rename'),
    replace: of('replace'),
    add: of('add'),
    append: of('append'),
  }
}

type TargetOptions = Pick<CompileTransformOptions, 'issues' | 'variables'>

/** Compiles `config.<op>.headers` (names lower-cased, rendered values made header-safe). */
export function compileHeaderTransform(
  config: TransformConfig,
  opts: TargetOptions,
): FlatTransform | undefined {
  return compileFlatTransform(transformOpsOf(config, 'headers'), {
    ...opts,
    lowerCaseVariables: ['headers'],
    pointer: (op) => `/config/${op}/headers`,
    lowerCaseNames: true,
    headerValues: true,
  })
}

/** Compiles `config.<op>.body` over JSON documents, typed by `config.<op>.jsonTypes`. */
export function compileBodyTransform(
  config: TransformConfig,
  opts: TargetOptions,
): JsonTransform | undefined {
  return compileJsonTransform(transformOpsOf(config, 'body'), {
    ...opts,
    lowerCaseVariables: ['headers'],
    pointer: (op) => `/config/${op}/body`,
    types: { replace: config.replace.jsonTypes, add: config.add.jsonTypes, append: config.append.jsonTypes },
  })
}

const JSON_MEDIA_TYPE = /^\s*application\/(json|[^;\s]*\+json)\s*(;|$)/i

/** Whether a `content-type` is JSON: `application/json` or `application/<anything>+json`. */
export function isJsonContentType(contentType: string | string[] | undefined): boolean {
  return typeof contentType === 'string' && JSON_MEDIA_TYPE.test(contentType)
}

// ── template scope ─────────────────────────────────────────────────────────────────────────────

/** The variables a transformer's templates may read (see {@link TransformScope}). */
export const TRANSFORM_VARIABLES = [
  'headers',
  'query',
  'params',
  'consumer',
  'shared',
  'route',
  'service',
  'client',
  'request',
] as const

/** What a {@link TransformScope} reads from: an `access` or `response` context. */
export interface TransformScopeSource {
  readonly request: RequestView
  readonly consumer: Consumer | undefined
  readonly shared: object
  readonly route: RouteInfo | undefined
  readonly service: ServiceInfo | undefined
  readonly client: ClientInfo
  readonly requestId: string
}

/**
 * The scope templates render against, read lazily from the context (nothing is copied per request):
 * `headers` (the client's request headers, lower-case names), `query`, `params` (the route's `:name`
 * captures), `consumer` (`id`, `username`, `customId`, `groups`), `shared` (ctx.shared), `route` and
 * `service` (`name`), `client` (`ip`, `protocol`), `request` (`method`, `path`, `host`, `id`).
 */
export class TransformScope {
  constructor(private readonly ctx: TransformScopeSource) {}
  get headers() {
    return this.ctx.request.headers
  }
  get query() {
    return this.ctx.request.query
  }
  get params() {
    return this.ctx.request.params
  }
  get consumer() {
    return this.ctx.consumer
  }
  get shared() {
    return this.ctx.shared
  }
  get route() {
    return this.ctx.route
  }
  get service() {
    return this.ctx.service
  }
  get client() {
    return this.ctx.client
  }
  get request() {
    const r = this.ctx.request
    return { method: r.method, path: r.path, host: r.host, id: this.ctx.requestId }
  }
}

// ── schema helpers ─────────────────────────────────────────────────────────────────────────────
// Field schemas for a transformer plugin's config, typed so `Static` gives the plugin its config type.

/** One target of the operations: `headers` (names are tokens), `flat` (query, form) or `json` (dot paths). */
export interface TransformTarget {
  kind: 'headers' | 'flat' | 'json'
  /** What the target is, for the descriptions ("the upstream request headers"). */
  what: string
}

const HEADER_TOKEN = "^[!#$%&'*+.^_`|~0-9A-Za-z-]+$"

function nameSchema(t: TransformTarget) {
  return t.kind === 'headers' ? Type.String({ pattern: HEADER_TOKEN }) : Type.String({ minLength: 1 })
}

const VALUE_DOC = {
  replace: 'set only where the field is present',
  add: 'set only where the field is absent',
  append: 'always added: another value, or an array item',
} as const

/** `remove`: the names (dot paths for JSON) removed from the target. */
export function TransformNameList(t: TransformTarget) {
  return Type.Optional(
    Type.Array(nameSchema(t), {
      uniqueItems: true,
      description: `Fields${t.kind === 'json' ? ' (dot paths)' : ''} removed from ${t.what}`,
    }),
  )
}

/** `rename`: old name → new name; an absent field is left alone. */
export function TransformRenameMap(t: TransformTarget) {
  const key = t.kind === 'headers' ? { pattern: HEADER_TOKEN } : { minLength: 1 }
  return Type.Optional(
    Type.Record(Type.String(key), nameSchema(t), {
      propertyNames: key,
      description: `Old name → new name in ${t.what}${t.kind === 'json' ? ' (dot paths)' : ''}; an absent field is left alone`,
    }),
  )
}

/** `replace`/`add`/`append` on headers or a flat map: name → value template. */
export function TransformValueMap(op: 'replace' | 'add' | 'append', t: TransformTarget) {
  const key = t.kind === 'headers' ? { pattern: HEADER_TOKEN } : { minLength: 1 }
  return Type.Optional(
    Type.Record(Type.String(key), Type.String({ description: 'The value; may hold $(…) templates' }), {
      propertyNames: key,
      description: `Name → value in ${t.what}, ${VALUE_DOC[op]}`,
    }),
  )
}

/** `replace`/`add`/`append` on a JSON body: dot path → any JSON value (a string may be a template). */
export function TransformJsonValueMap(op: 'replace' | 'add' | 'append', t: TransformTarget) {
  return Type.Optional(
    Type.Record(
      Type.String({ minLength: 1 }),
      Type.Unknown({ description: 'Any JSON value; a string may hold $(…) templates' }),
      {
        propertyNames: { minLength: 1 },
        description: `Dot path → value in ${t.what}, ${VALUE_DOC[op]} (for a form body, the path is the field name)`,
      },
    ),
  )
}

/** Kong's `json_types`: the type of a templated body value, keyed like the body map. */
export function TransformJsonTypes() {
  return Type.Optional(
    Type.Record(
      Type.String({ minLength: 1 }),
      Type.Union([
        Type.Literal('string'),
        Type.Literal('number'),
        Type.Literal('boolean'),
        Type.Literal('json'),
      ]),
      {
        propertyNames: { minLength: 1 },
        description:
          'Body field → type of its rendered value: "number" and "boolean" convert the text (else null), "json" parses it (else keeps the text), "string" (default) keeps it',
      },
    ),
  )
}
