/**
 * The units of the `gatehouse` formats and their parsers, with no dependency: what core needs at run
 * time to normalise a validated configuration (schema.ts builds the schema helpers on them).
 */
export type GatehouseFormat = 'duration' | 'size' | 'header-name' | 'secret'

export const DURATION_PATTERN = '^\\s*\\d+(\\.\\d+)?\\s*(ms|s|m|h|d)\\s*$'
// Units in any case ("1mb", "1MB", "64KiB"); JSON Schema patterns have no case flag.
export const SIZE_PATTERN = '^\\s*\\d+(\\.\\d+)?\\s*(([kKmMgG][iI]?)?[bB])?\\s*$'

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
