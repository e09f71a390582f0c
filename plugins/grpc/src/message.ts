import { GrpcRequestInvalid } from './errors.js'
import type { FieldInfo, ProtoSchema } from './proto.js'
import { isSpecialWellKnown, wellKnownFromJson } from './well-known.js'

const INT32 = new Set(['TYPE_INT32', 'TYPE_SINT32', 'TYPE_SFIXED32', 'TYPE_UINT32', 'TYPE_FIXED32'])
const INT64 = new Set(['TYPE_INT64', 'TYPE_SINT64', 'TYPE_SFIXED64', 'TYPE_UINT64', 'TYPE_FIXED64'])
const FLOAT = new Set(['TYPE_FLOAT', 'TYPE_DOUBLE'])
const INTEGER = /^-?\d+$/

/** A field path (`user.id`) resolved against a message: the fields along it, or why it cannot be. */
export function resolveFieldPath(
  schema: ProtoSchema,
  typeName: string,
  path: string,
): { fields: FieldInfo[] } | { error: string } {
  const fields: FieldInfo[] = []
  let type = typeName
  const names = path.split('.')
  for (let i = 0; i < names.length; i++) {
    const f = schema.field(type, names[i]!)
    if (f === undefined) return { error: `${type} has no field "${names[i]}"` }
    fields.push(f)
    if (i < names.length - 1) {
      if (f.type !== 'TYPE_MESSAGE' || f.repeated || f.typeName === undefined)
        return { error: `"${names.slice(0, i + 1).join('.')}" is not a message field` }
      type = f.typeName
    }
  }
  return { fields }
}

/** Whether a field can take one value from a path segment or a query parameter. */
export function isScalar(f: FieldInfo): boolean {
  return f.type !== 'TYPE_MESSAGE' && f.type !== 'TYPE_GROUP'
}

/**
 * A string from the path or the query, converted for its field as grpc-gateway does: numbers and
 * booleans parsed (64-bit integers stay strings, as protobuf's JSON mapping writes them), enums by
 * name or number, bytes as base64.
 */
function scalarValue(schema: ProtoSchema, f: FieldInfo, raw: string, where: string): unknown {
  if (f.type === 'TYPE_STRING' || f.type === 'TYPE_BYTES') return raw
  if (f.type === 'TYPE_BOOL') {
    if (raw === 'true' || raw === '1') return true
    if (raw === 'false' || raw === '0') return false
    throw GrpcRequestInvalid(`${where} must be true or false`)
  }
  if (INT32.has(f.type)) {
    if (!INTEGER.test(raw) || !Number.isSafeInteger(Number(raw)))
      throw GrpcRequestInvalid(`${where} must be an integer`)
    return Number(raw)
  }
  if (INT64.has(f.type)) {
    if (!INTEGER.test(raw)) throw GrpcRequestInvalid(`${where} must be an integer`)
    return raw
  }
  if (FLOAT.has(f.type)) {
    const n = Number(raw)
    if (raw.trim() === '' || Number.isNaN(n)) throw GrpcRequestInvalid(`${where} must be a number`)
    return n
  }
  if (f.type === 'TYPE_ENUM') {
    if (INTEGER.test(raw)) return Number(raw)
    if (f.typeName !== undefined && schema.enumValues(f.typeName).has(raw)) return raw
    throw GrpcRequestInvalid(`${where} is not a value of ${f.typeName ?? 'the enum'}`)
  }
  throw GrpcRequestInvalid(`${where} cannot be given as text`)
}

/** Sets `fields` (a resolved path) in `message` to `raw`; a repeated field collects every value. */
export function setFromText(
  schema: ProtoSchema,
  message: Record<string, unknown>,
  fields: FieldInfo[],
  raw: string,
  where: string,
): void {
  let obj = message
  for (let i = 0; i < fields.length - 1; i++) {
    const name = fields[i]!.name
    let next = obj[name]
    if (typeof next !== 'object' || next === null || Array.isArray(next)) {
      next = {}
      obj[name] = next
    }
    obj = next as Record<string, unknown>
  }
  const last = fields[fields.length - 1]!
  const value = scalarValue(schema, last, raw, where)
  if (!last.repeated) obj[last.name] = value
  else if (Array.isArray(obj[last.name])) (obj[last.name] as unknown[]).push(value)
  else obj[last.name] = [value]
}

/**
 * Query parameters into the fields not already bound by the path (grpc-gateway's rule). A name is a
 * field path (`near.city`, snake_case or lowerCamelCase); parameters that name no field are ignored,
 * as grpc-gateway does, so cache-busters and tracking parameters do no harm.
 */
export function applyQuery(
  schema: ProtoSchema,
  typeName: string,
  message: Record<string, unknown>,
  query: Record<string, string | string[] | undefined>,
  bound: ReadonlySet<string>,
): void {
  for (const key of Object.keys(query)) {
    const resolved = resolveFieldPath(schema, typeName, key)
    if ('error' in resolved) continue
    const fields = resolved.fields
    const path = fields.map((f) => f.name).join('.')
    if (bound.has(path) || !isScalar(fields[fields.length - 1]!)) continue
    const v = query[key]
    for (const one of Array.isArray(v) ? v : v === undefined ? [] : [v])
      setFromText(schema, message, fields, one, `query parameter "${key}"`)
  }
}

/**
 * A JSON body checked against a message type and rewritten with the names protobuf.js knows
 * (lowerCamelCase): proto JSON accepts both `display_name` and `displayName`, and an unknown field
 * is refused (as protojson does by default) rather than dropped without a word.
 */
export function normaliseJson(schema: ProtoSchema, typeName: string, value: unknown, where: string): unknown {
  if (value === null) return value
  if (typeof value !== 'object' || Array.isArray(value))
    throw GrpcRequestInvalid(`${where || 'the body'} must be a JSON object`)
  // Other well-known types (Any, Struct, …): protobuf.js takes their JSON as it is.
  if (typeName.startsWith('google.protobuf.')) return value
  const out: Record<string, unknown> = {}
  for (const [key, v] of Object.entries(value as Record<string, unknown>)) {
    const f = schema.field(typeName, key)
    if (f === undefined) throw GrpcRequestInvalid(`unknown field "${key}" in ${where || 'the body'}`)
    out[f.name] = normaliseField(schema, f, v, `${where}/${key}`)
  }
  return out
}

function normaliseField(schema: ProtoSchema, f: FieldInfo, v: unknown, where: string): unknown {
  if (f.type !== 'TYPE_MESSAGE' || f.typeName === undefined || v === null) return v
  if (isSpecialWellKnown(f.typeName)) {
    const type = f.typeName
    if (!f.repeated) return wellKnownFromJson(type, v, where)
    if (!Array.isArray(v)) throw GrpcRequestInvalid(`${where} must be a JSON array`)
    return v.map((item, i) => wellKnownFromJson(type, item, `${where}/${i}`))
  }
  if (schema.isMapEntry(f.typeName)) {
    const valueField = schema.field(f.typeName, 'value')
    if (typeof v !== 'object' || Array.isArray(v)) throw GrpcRequestInvalid(`${where} must be a JSON object`)
    if (valueField === undefined) return v
    const out: Record<string, unknown> = {}
    for (const [k, item] of Object.entries(v as Record<string, unknown>))
      out[k] = normaliseField(schema, valueField, item, `${where}/${k}`)
    return out
  }
  if (f.repeated) {
    if (!Array.isArray(v)) throw GrpcRequestInvalid(`${where} must be a JSON array`)
    return v.map((item, i) => normaliseJson(schema, f.typeName!, item, `${where}/${i}`))
  }
  return normaliseJson(schema, f.typeName, v, where)
}
