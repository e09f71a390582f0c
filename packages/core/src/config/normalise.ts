import type { GatehouseFormat } from '@gatehousejs/sdk/config'
import { parseDuration, parseSize } from '@gatehousejs/sdk/host'

/**
 * The value a `gatehouse`-marked field normalises to: a duration in milliseconds, a size in bytes, a
 * header name in lower case. An invalid value is returned as it is: the schema's own anyOf/pattern
 * reports it.
 */
export function normaliseGatehouse(format: GatehouseFormat, data: unknown): unknown {
  try {
    if (format === 'duration' && (typeof data === 'string' || typeof data === 'number')) {
      return parseDuration(data)
    }
    if (format === 'size' && (typeof data === 'string' || typeof data === 'number')) return parseSize(data)
    if (format === 'header-name' && typeof data === 'string') return data.toLowerCase()
  } catch {
    // Left as it is, for the schema to report.
  }
  return data
}
