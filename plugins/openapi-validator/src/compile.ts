import type { ConfigIssue } from '@gatehousejs/sdk'
import { Ajv, type ValidateFunction } from 'ajv'
import { Ajv2020 } from 'ajv/dist/2020.js'
import addFormats from 'ajv-formats'
import { defaults, type ParamShape } from './params.js'
import { escapeSegment, isObject, type LoadedSpec } from './spec.js'

type Obj = Record<string, unknown>

export const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const

export interface CompiledParam extends ParamShape {
  required: boolean
  allowEmpty: boolean
  validate?: ValidateFunction
}

/** A `multipart/form-data` part the schema describes as a file (`format: binary`, `contentMediaType`). */
export interface FilePart {
  name: string
  /** An array of files (several parts of this name). */
  many: boolean
  /** Media ranges the part's `Content-Type` must match (`encoding.<name>.contentType`, `contentMediaType`). */
  types: string[] | undefined
  /** Bytes per file: the property's (or its items') `minLength` / `maxLength`. */
  minBytes: number | undefined
  maxBytes: number | undefined
}

export interface CompiledMedia {
  kind: 'json' | 'form' | 'multipart' | 'other'
  validate?: ValidateFunction
  /** multipart: the file parts, checked by presence, size and type; fields go to `validate`. */
  files?: FilePart[]
  /** multipart: fields whose schema is an object or array of objects: JSON text, parsed before checking. */
  jsonFields?: Set<string>
}

export interface CompiledBody {
  required: boolean
  /** Media type (lower case, no parameters) → validator (none for media types not checked). */
  media: Map<string, CompiledMedia>
}

export interface Operation {
  method: string
  template: string
  params: CompiledParam[]
  body?: CompiledBody
  /** Status (`200`, `2XX`, `default`) → JSON response validator. */
  responses?: Map<string, ValidateFunction>
  /**
   * The scopes of the operation's security requirements (alternatives, any of which suffices), from
   * its `oauth2` and `openIdConnect` schemes; undefined when some alternative needs no scope.
   */
  scopes?: string[][]
}

const SPEC_ID = 'openapi-document'

/** Formats OpenAPI names that JSON Schema does not define: accepted as they come (the type is checked). */
const OPENAPI_FORMATS = ['int32', 'int64', 'float', 'double', 'byte', 'binary', 'password']

function makeAjv(version: LoadedSpec['version'], coerce: boolean) {
  const options = {
    strict: false,
    validateSchema: false,
    allErrors: true,
    coerceTypes: coerce ? ('array' as const) : false,
    useDefaults: false,
  }
  const ajv = version === '3.1' ? new Ajv2020(options) : new Ajv(options)
  ;(addFormats as unknown as (a: unknown) => void)(ajv)
  for (const f of OPENAPI_FORMATS) ajv.addFormat(f, true)
  return ajv
}

function isJsonMedia(type: string): boolean {
  return type === 'application/json' || /^application\/[^;]*\+json$/.test(type) || type === '*/*'
}

/** A `$ref` to `pointer` in the description (added to each ajv as {@link SPEC_ID}). */
function refTo(pointer: string): Obj {
  return {
    $ref: `${SPEC_ID}#${pointer
      .split('/')
      .map((s) => encodeURIComponent(s).replace(/%7E/gi, '~'))
      .join('/')}`,
  }
}

/**
 * Compiles the schema at `pointer` in the description (or `schema`, built from it) with `ajv`;
 * undefined, and a problem recorded, when ajv cannot (a bad `pattern`, a `$ref` to nowhere).
 */
type CompileAt = (ajv: Ajv | Ajv2020, pointer: string, schema?: Obj) => ValidateFunction | undefined

/** What {@link compileOperations} made: every operation, or the schemas ajv could not compile. */
export interface CompiledSpec {
  operations: Operation[]
  /** One per schema that does not compile, at `/config/spec`, naming the schema's place. */
  issues: ConfigIssue[]
}

/**
 * Every operation of the description with its validators, compiled here, once: parameters by a
 * coercing ajv (they arrive as strings), JSON bodies by a strict one, both reading the whole document
 * so `$ref`s between schemas resolve. A schema ajv cannot compile is a problem, and the others are
 * still compiled, so every one is reported at once.
 */
export function compileOperations(spec: LoadedSpec, withResponses: boolean): CompiledSpec {
  const strict = makeAjv(spec.version, false)
  const coercing = makeAjv(spec.version, true)
  strict.addSchema(spec.doc, SPEC_ID)
  coercing.addSchema(spec.doc, SPEC_ID)
  const issues: ConfigIssue[] = []
  const failed = new Set<string>()
  const compileAt: CompileAt = (ajv, pointer, schema) => {
    try {
      return ajv.compile(schema ?? refTo(pointer))
    } catch (err) {
      // A schema shared by several operations (a `$ref`) is one problem.
      if (!failed.has(pointer)) {
        failed.add(pointer)
        const message = (err as Error).message.split('\n')[0]
        issues.push({
          pointer: '/config/spec',
          message: `the schema at #${pointer} in the OpenAPI description cannot be compiled: ${message}`,
        })
      }
      return undefined
    }
  }
  const ops: Operation[] = []
  for (const template of Object.keys(spec.doc.paths as Obj)) {
    const itemAt = spec.at(`/paths/${escapeSegment(template)}`)
    const item = itemAt.value
    if (!isObject(item)) continue
    const shared = Array.isArray(item.parameters)
      ? item.parameters.map((_, i) => `${itemAt.pointer}/parameters/${i}`)
      : []
    for (const method of METHODS) {
      if (!isObject(item[method])) continue
      const opPointer = `${itemAt.pointer}/${method}`
      const op = item[method] as Obj
      const own = Array.isArray(op.parameters)
        ? op.parameters.map((_, i) => `${opPointer}/parameters/${i}`)
        : []
      const params = new Map<string, CompiledParam>()
      for (const pointer of [...shared, ...own]) {
        const p = compileParam(spec, pointer, coercing, compileAt)
        if (p) params.set(`${p.in}:${p.name}`, p)
      }
      const operation: Operation = { method: method.toUpperCase(), template, params: [...params.values()] }
      const body = compileBody(spec, `${opPointer}/requestBody`, strict, coercing, compileAt)
      if (body) operation.body = body
      if (withResponses)
        operation.responses = compileResponses(spec, `${opPointer}/responses`, strict, compileAt)
      const scopes = requiredScopes(spec, op.security ?? spec.doc.security)
      if (scopes !== undefined) operation.scopes = scopes
      ops.push(operation)
    }
  }
  return { operations: ops, issues }
}

function compileParam(
  spec: LoadedSpec,
  pointer: string,
  ajv: Ajv | Ajv2020,
  compileAt: CompileAt,
): CompiledParam | undefined {
  const { value: p, pointer: at } = spec.at(pointer)
  if (!isObject(p) || typeof p.name !== 'string' || typeof p.in !== 'string') return undefined
  const where = p.in as CompiledParam['in']
  if (!['path', 'query', 'header', 'cookie'].includes(where)) return undefined
  // RFC 9110: these are the HTTP layer's own; OpenAPI says a description of them is ignored.
  if (where === 'header' && ['accept', 'content-type', 'authorization'].includes(p.name.toLowerCase()))
    return undefined
  let schemaAt = `${at}/schema`
  let schema = spec.at(schemaAt)
  if (!isObject(p.schema) && isObject(p.content)) {
    const first = Object.keys(p.content)[0]
    if (first !== undefined) {
      schemaAt = `${at}/content/${escapeSegment(first)}/schema`
      schema = spec.at(schemaAt)
    }
  }
  const s = isObject(schema.value) ? schema.value : {}
  const type = Array.isArray(s.type) ? s.type.find((t) => t !== 'null') : s.type
  const kind =
    type === 'array' ? 'array' : type === 'object' || isObject(s.properties) ? 'object' : 'primitive'
  const { style, explode } = defaults(
    where,
    typeof p.style === 'string' ? p.style : undefined,
    typeof p.explode === 'boolean' ? p.explode : undefined,
  )
  return {
    in: where,
    name: p.name,
    style,
    explode,
    kind,
    properties: isObject(s.properties) ? Object.keys(s.properties) : [],
    required: where === 'path' || p.required === true,
    allowEmpty: p.allowEmptyValue === true,
    validate: isObject(schema.value) ? compileAt(ajv, schema.pointer) : undefined,
  }
}

function compileBody(
  spec: LoadedSpec,
  pointer: string,
  strict: Ajv | Ajv2020,
  coercing: Ajv | Ajv2020,
  compileAt: CompileAt,
): CompiledBody | undefined {
  const { value: b, pointer: at } = spec.at(pointer)
  if (!isObject(b) || !isObject(b.content)) return undefined
  const media = new Map<string, CompiledMedia>()
  for (const [type, m] of Object.entries(b.content)) {
    const key = (type.split(';')[0] as string).trim().toLowerCase()
    const schema = spec.at(`${at}/content/${escapeSegment(type)}/schema`)
    const has = isObject(m) && isObject(schema.value)
    if (isJsonMedia(key))
      media.set(key, { kind: 'json', validate: has ? compileAt(strict, schema.pointer) : undefined })
    else if (key === 'application/x-www-form-urlencoded')
      media.set(key, { kind: 'form', validate: has ? compileAt(coercing, schema.pointer) : undefined })
    else if (key === 'multipart/form-data')
      media.set(
        key,
        has
          ? compileMultipart(spec, schema.pointer, (m as Obj).encoding, coercing, compileAt)
          : { kind: 'multipart' },
      )
    else media.set(key, { kind: 'other' })
  }
  return { required: b.required === true, media }
}

function compileResponses(
  spec: LoadedSpec,
  pointer: string,
  ajv: Ajv | Ajv2020,
  compileAt: CompileAt,
): Map<string, ValidateFunction> {
  const out = new Map<string, ValidateFunction>()
  const { value: r, pointer: at } = spec.at(pointer)
  if (!isObject(r)) return out
  for (const status of Object.keys(r)) {
    const resp = spec.at(`${at}/${escapeSegment(status)}`)
    if (!isObject(resp.value) || !isObject(resp.value.content)) continue
    const json = Object.keys(resp.value.content).find((t) =>
      isJsonMedia((t.split(';')[0] as string).trim().toLowerCase()),
    )
    if (json === undefined) continue
    const schema = spec.at(`${resp.pointer}/content/${escapeSegment(json)}/schema`)
    const validate = isObject(schema.value) ? compileAt(ajv, schema.pointer) : undefined
    if (validate) out.set(status.toUpperCase(), validate)
  }
  return out
}

/**
 * A multipart/form-data schema: its file properties (OpenAPI 3.0 `format: binary`, 3.1
 * `contentMediaType`/`contentEncoding`, or arrays of them) are checked by presence, size and type;
 * everything else is checked as fields (text, coerced like a form) by a schema made of the object's
 * `properties`, `required` and `additionalProperties`, where file properties accept any value.
 */
function compileMultipart(
  spec: LoadedSpec,
  pointer: string,
  encoding: unknown,
  ajv: Ajv | Ajv2020,
  compileAt: CompileAt,
): CompiledMedia {
  const s = spec.at(pointer).value as Obj
  const props = isObject(s.properties) ? s.properties : {}
  const files: FilePart[] = []
  const jsonFields = new Set<string>()
  const properties: Obj = {}
  for (const name of Object.keys(props)) {
    const at = spec.at(`${pointer}/properties/${escapeSegment(name)}`)
    const prop = isObject(at.value) ? at.value : {}
    const items = prop.type === 'array' ? spec.at(`${at.pointer}/items`).value : undefined
    const file = isFile(prop) ? prop : isObject(items) && isFile(items) ? items : undefined
    if (file === undefined) {
      properties[name] = refTo(at.pointer)
      const inner = isObject(items) ? items : prop
      if (inner.type === 'object' || isObject(inner.properties)) jsonFields.add(name)
      continue
    }
    properties[name] = {}
    const enc = isObject(encoding) && isObject(encoding[name]) ? encoding[name] : undefined
    const declared =
      typeof enc?.contentType === 'string'
        ? enc.contentType
        : typeof file.contentMediaType === 'string'
          ? file.contentMediaType
          : undefined
    files.push({
      name,
      many: file !== prop,
      types: declared?.split(',').map((t) => (t.split(';')[0] as string).trim().toLowerCase()),
      minBytes: typeof file.minLength === 'number' ? file.minLength : undefined,
      maxBytes: typeof file.maxLength === 'number' ? file.maxLength : undefined,
    })
  }
  const fields: Obj = { type: 'object', properties }
  if (Array.isArray(s.required)) fields.required = s.required
  if (typeof s.additionalProperties === 'boolean') fields.additionalProperties = s.additionalProperties
  return { kind: 'multipart', validate: compileAt(ajv, pointer, fields), files, jsonFields }
}

function isFile(schema: Obj): boolean {
  return (
    (schema.type === 'string' && schema.format === 'binary') ||
    typeof schema.contentMediaType === 'string' ||
    typeof schema.contentEncoding === 'string'
  )
}

/**
 * The scopes each security requirement asks of an `oauth2` or `openIdConnect` scheme (schemes of other
 * types are the auth plugins' business; OpenAPI 3.1 "roles" on them are not checked). Alternatives are
 * any-of; the schemes inside one requirement all-of, so their scopes add up. Undefined when there is
 * nothing to check: no requirement, or one alternative (`{}`, an API key…) that needs no scope.
 */
function requiredScopes(spec: LoadedSpec, security: unknown): string[][] | undefined {
  if (!Array.isArray(security) || security.length === 0) return undefined
  const schemes = isObject(spec.doc.components) ? (spec.doc.components as Obj).securitySchemes : undefined
  const alternatives: string[][] = []
  for (const requirement of security) {
    if (!isObject(requirement)) continue
    const scopes = new Set<string>()
    for (const [scheme, list] of Object.entries(requirement)) {
      const def = isObject(schemes)
        ? spec.at(`/components/securitySchemes/${escapeSegment(scheme)}`).value
        : undefined
      if (!isObject(def) || (def.type !== 'oauth2' && def.type !== 'openIdConnect')) continue
      if (Array.isArray(list)) for (const scope of list) if (typeof scope === 'string') scopes.add(scope)
    }
    if (scopes.size === 0) return undefined
    alternatives.push([...scopes])
  }
  return alternatives.length === 0 ? undefined : alternatives
}
