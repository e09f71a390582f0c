import { GrpcRequestInvalid } from './errors.js'
import type { ProtoSchema } from './proto.js'

/**
 * The well-known types whose JSON form is not their message form (protobuf's JSON mapping):
 * `Timestamp` is an RFC 3339 string, `Duration` a string of seconds (`"1.5s"`), a wrapper its bare
 * value. proto-loader gives and takes them as messages; these convert at the edge, both ways.
 */
const TIMESTAMP = 'google.protobuf.Timestamp'
const DURATION = 'google.protobuf.Duration'
const WRAPPERS = new Set(
  ['Double', 'Float', 'Int64', 'UInt64', 'Int32', 'UInt32', 'Bool', 'String', 'Bytes'].map(
    (w) => `google.protobuf.${w}Value`,
  ),
)

export function isSpecialWellKnown(typeName: string): boolean {
  return typeName === TIMESTAMP || typeName === DURATION || WRAPPERS.has(typeName)
}

interface Seconds {
  seconds?: string | number
  nanos?: number
}

/** Nanoseconds as proto JSON writes them: none, or 3, 6 or 9 digits. */
function fraction(nanos: number): string {
  if (!nanos) return ''
  const digits = String(Math.abs(nanos)).padStart(9, '0')
  return `.${digits.endsWith('000000') ? digits.slice(0, 3) : digits.endsWith('000') ? digits.slice(0, 6) : digits}`
}

/** A well-known type's message (from proto-loader) as its JSON value. */
export function wellKnownToJson(typeName: string, value: unknown): unknown {
  if (value === null || typeof value !== 'object') return value
  if (WRAPPERS.has(typeName)) return (value as { value?: unknown }).value
  const { seconds = 0, nanos = 0 } = value as Seconds
  const s = Number(seconds)
  if (typeName === TIMESTAMP) return `${new Date(s * 1000).toISOString().slice(0, 19)}${fraction(nanos)}Z`
  const negative = s < 0 || nanos < 0
  return `${negative ? '-' : ''}${Math.abs(s)}${fraction(nanos)}s`
}

const RFC3339 = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)$/i
const DURATION_TEXT = /^(-)?(\d+)(?:\.(\d{1,9}))?s$/

/** A well-known type's JSON value as the message proto-loader serialises. */
export function wellKnownFromJson(typeName: string, value: unknown, where: string): unknown {
  if (value === null) return value
  if (WRAPPERS.has(typeName)) return { value }
  if (typeof value !== 'string') throw GrpcRequestInvalid(`${where} must be a string`)
  if (typeName === TIMESTAMP) {
    const m = RFC3339.exec(value)
    const ms = m ? Date.parse(`${m[1]}${m[3]}`) : Number.NaN
    if (!m || Number.isNaN(ms)) throw GrpcRequestInvalid(`${where} must be an RFC 3339 timestamp`)
    return { seconds: String(Math.floor(ms / 1000)), nanos: Number((m[2] ?? '').padEnd(9, '0')) }
  }
  const m = DURATION_TEXT.exec(value)
  if (!m) throw GrpcRequestInvalid(`${where} must be a duration such as "1.5s"`)
  const sign = m[1] ? -1 : 1
  return { seconds: String(sign * Number(m[2])), nanos: sign * Number((m[3] ?? '').padEnd(9, '0')) }
}

/**
 * Converts the well-known fields of a response message in place. Which message types hold such
 * fields (at any depth) is worked out once per type, so a message without any costs one lookup.
 */
export class ResponseMapper {
  private readonly holds = new Map<string, boolean>()

  constructor(private readonly schema: ProtoSchema) {}

  /** Whether messages of this type contain a well-known field, at any depth. */
  needs(typeName: string): boolean {
    const known = this.holds.get(typeName)
    if (known !== undefined) return known
    this.holds.set(typeName, false) // recursion guard: a message that contains itself
    let found = false
    for (const f of this.schema.messageFields(typeName).values()) {
      if (f.type !== 'TYPE_MESSAGE' || f.typeName === undefined) continue
      if (isSpecialWellKnown(f.typeName) || this.needs(f.typeName)) found = true
    }
    this.holds.set(typeName, found)
    return found
  }

  map(typeName: string, message: Record<string, unknown>): Record<string, unknown> {
    if (!this.needs(typeName)) return message
    for (const f of this.schema.messageFields(typeName).values()) {
      const v = message[f.name]
      if (f.type !== 'TYPE_MESSAGE' || f.typeName === undefined || v === null || v === undefined) continue
      const type = f.typeName
      const one = (item: unknown) =>
        isSpecialWellKnown(type)
          ? wellKnownToJson(type, item)
          : this.needs(type)
            ? this.map(type, item as Record<string, unknown>)
            : item
      if (this.schema.isMapEntry(type)) {
        const valueField = this.schema.field(type, 'value')
        if (valueField?.typeName === undefined) continue
        const vt = valueField.typeName
        for (const [k, item] of Object.entries(v as Record<string, unknown>))
          (v as Record<string, unknown>)[k] = isSpecialWellKnown(vt)
            ? wellKnownToJson(vt, item)
            : this.needs(vt)
              ? this.map(vt, item as Record<string, unknown>)
              : item
      } else message[f.name] = Array.isArray(v) ? v.map(one) : one(v)
    }
    return message
  }
}
