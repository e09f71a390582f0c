import type { ConfigIssue, GatehouseFormat } from '@gatehousejs/sdk'
import { parseDuration, parseSize } from '@gatehousejs/sdk'
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv'
import addFormatsModule from 'ajv-formats'

/**
 * One ajv instance for every schema (the gateway's and each plugin's). `useDefaults` fills defaults in,
 * and the `gatehouse` keyword normalises durations to milliseconds, sizes to bytes and header names to
 * lower case, so what a plugin's `init` receives matches its static type.
 */
const addFormats =
  (addFormatsModule as unknown as { default?: typeof addFormatsModule }).default ?? addFormatsModule

function createAjv(): Ajv {
  const ajv = new Ajv({
    allErrors: true,
    verbose: true,
    useDefaults: true,
    strict: 'log',
    // `if`/`then` that makes a field required in one case (`then: { required: ['url'] }`, the field
    // declared beside it) is idiomatic JSON Schema, not a mistake to print at every start.
    strictRequired: false,
    allowUnionTypes: true,
  })
  ;(addFormats as unknown as (a: Ajv) => void)(ajv)
  ajv.addKeyword({
    keyword: 'gatehouse',
    modifying: true,
    schemaType: 'string',
    errors: false,
    validate: function gatehouseNormalise(format: GatehouseFormat, data: unknown, _schema, cxt): boolean {
      if (!cxt || cxt.parentData === undefined) return true
      try {
        if (format === 'duration' && (typeof data === 'string' || typeof data === 'number')) {
          cxt.parentData[cxt.parentDataProperty] = parseDuration(data)
        } else if (format === 'size' && (typeof data === 'string' || typeof data === 'number')) {
          cxt.parentData[cxt.parentDataProperty] = parseSize(data)
        } else if (format === 'header-name' && typeof data === 'string') {
          cxt.parentData[cxt.parentDataProperty] = data.toLowerCase()
        }
      } catch {
        // The value is invalid: the schema's own anyOf/pattern reports it.
      }
      return true
    },
  })
  return ajv
}

const ajv = createAjv()
const compiled = new WeakMap<object, ValidateFunction>()

export function compileSchema(schema: object): ValidateFunction {
  let fn = compiled.get(schema)
  if (!fn) {
    fn = ajv.compile(schema)
    compiled.set(schema, fn)
  }
  return fn
}

/** Validates (and normalises, in place) `data`; returns issues with pointers under `base`. */
export function validateWith(schema: object, data: unknown, base: string, plugin?: string): ConfigIssue[] {
  const fn = compileSchema(schema)
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
    case 'additionalProperties':
      return `unknown property "${(e.params as { additionalProperty: string }).additionalProperty}"`
    case 'required':
      return `missing required property "${(e.params as { missingProperty: string }).missingProperty}"`
    case 'enum':
      return `must be one of ${(e.params as { allowedValues: unknown[] }).allowedValues.map((v) => JSON.stringify(v)).join(', ')}`
    case 'pattern':
      return `${e.message} (${JSON.stringify(e.data)})`
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
