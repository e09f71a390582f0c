import type { TSchema, TUnsafe } from 'typebox'
import { Type } from 'typebox'

import { DURATION_PATTERN, type DurationInput, type GatehouseFormat, SIZE_PATTERN } from './units.js'

export type { Static, TSchema } from 'typebox'
export type { DurationInput, GatehouseFormat } from './units.js'
export { parseDuration, parseSize } from './units.js'
export { Type }

/**
 * Schema helpers for plugin and gateway configuration. Each is plain JSON Schema plus a `gatehouse`
 * keyword that core's validator understands: it checks the value and normalises it in place, so a
 * plugin's `init` receives numbers (milliseconds, bytes) and lower-case header names.
 */

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

/** Whether a schema node is marked with a Gatehouse format. */
export function gatehouseFormat(schema: TSchema | Record<string, unknown>): GatehouseFormat | undefined {
  return (schema as { gatehouse?: GatehouseFormat }).gatehouse
}

export type { TUnsafe }
