import type { TSchema, TUnsafe } from 'typebox'
import { Type } from 'typebox'

export type { Static, TSchema } from 'typebox'
export { Type }

/**
 * Schema helpers for plugin and gateway configuration. Each is plain JSON Schema plus a `gatehouse`
 * keyword that core's validator understands: it checks the value and normalises it in place, so a
 * plugin's `init` receives numbers (milliseconds, bytes) and lower-case header names.
 */
export type GatehouseFormat = 'duration' | 'size' | 'header-name' | 'secret'

const DURATION_PATTERN = '^\\s*\\d+(\\.\\d+)?\\s*(ms|s|m|h|d)\\s*$'
// Units in any case ("1mb", "1MB", "64KiB"); JSON Schema patterns have no case flag.
const SIZE_PATTERN = '^\\s*\\d+(\\.\\d+)?\\s*(([kKmMgG][iI]?)?[bB])?\\s*$'

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }
const SIZE_UNITS: Record<string, number> = {
  b: 1,
  kb: 1024,
  mb: 1024 ** 2,
  gb: 1024 ** 3,
  kib: 1024,
  mib: 1024 ** 2,
  gib: 1024 ** 3,
}

/** A duration written as a number of milliseconds or a string such as `"250ms"`, `"5s"`, `"1m"`. */
export type DurationInput = number | string

/**
 * A duration: a number of milliseconds or a string like `"1m"`. Validated config holds milliseconds.
 * @example Type.Object({ window: Duration({ default: '1m', description: 'Length of one window' }) })
 */
export function Duration(options: { default?: DurationInput; description?: string; minimum?: number } = {}) {
  return Type.Unsafe<number>({
    anyOf: [
      { type: 'number', minimum: 0 },
      { type: 'string', pattern: DURATION_PATTERN },
    ],
    gatehouse: 'duration',
    ...options,
  })
}

/** A size: a number of bytes or a string like `"64kb"`, `"1mb"`. Validated config holds bytes. */
export function Size(options: { default?: number | string; description?: string; minimum?: number } = {}) {
  return Type.Unsafe<number>({
    anyOf: [
      { type: 'integer', minimum: 0 },
      { type: 'string', pattern: SIZE_PATTERN },
    ],
    gatehouse: 'size',
    ...options,
  })
}

/** An HTTP header name (RFC 9110 token). Validated config holds it in lower case. */
export function HeaderName(options: { default?: string; description?: string } = {}) {
  return Type.Unsafe<string>({
    type: 'string',
    pattern: "^[!#$%&'*+.^_`|~0-9A-Za-z-]+$",
    gatehouse: 'header-name',
    ...options,
  })
}

/**
 * A secret (key, password, token). It validates like a string, and every place that shows
 * configuration (logs, the CLI, the admin API) prints `"[redacted]"` instead.
 */
export function Secret(options: { description?: string; minLength?: number } = {}) {
  return Type.Unsafe<string>({ type: 'string', writeOnly: true, gatehouse: 'secret', ...options })
}

/** Parses `"1m"`, `"250ms"` or a number of milliseconds. Throws a TypeError on anything else. */
export function parseDuration(value: DurationInput): number {
  if (typeof value === 'number' && Number.isFinite(value) && value >= 0) return value
  const m = typeof value === 'string' ? new RegExp(DURATION_PATTERN).exec(value) : null
  if (!m)
    throw new TypeError(`"${String(value)}" is not a duration (use e.g. 500, "250ms", "5s", "1m", "1h")`)
  const amount = Number.parseFloat(value as string)
  return Math.round(amount * DURATION_UNITS[m[2]!]!)
}

/** Parses `"64kb"`, `"1mb"` or a number of bytes. Throws a TypeError on anything else. */
export function parseSize(value: number | string): number {
  if (typeof value === 'number' && Number.isInteger(value) && value >= 0) return value
  const m = typeof value === 'string' ? new RegExp(SIZE_PATTERN, 'i').exec(value) : null
  if (!m) throw new TypeError(`"${String(value)}" is not a size (use e.g. 1024, "64kb", "1mb")`)
  const unit = (m[2] ?? 'b').toLowerCase()
  return Math.round(Number.parseFloat(value as string) * SIZE_UNITS[unit]!)
}

/** Whether a schema node is marked with a Gatehouse format. */
export function gatehouseFormat(schema: TSchema | Record<string, unknown>): GatehouseFormat | undefined {
  return (schema as { gatehouse?: GatehouseFormat }).gatehouse
}

export type { TUnsafe }
