import type { ConfigIssue } from '@gatehousejs/sdk'

/** RFC 9110 §15.3.5, §15.3.6, §15.4.5: these statuses never carry a body, so nothing maps to them. */
const NO_BODY = new Set([204, 205, 304])

/**
 * Compiles `status` (`{ "404": 200, "5xx": 503 }`) into a function from the upstream status to the
 * status sent; an exact code wins over its class. Undefined when the map is empty.
 */
export function compileStatusMap(
  map: Readonly<Record<string, number>>,
  issues: ConfigIssue[],
): ((status: number) => number) | undefined {
  const exact = new Map<number, number>()
  const byClass = new Map<number, number>()
  for (const [key, to] of Object.entries(map)) {
    if (NO_BODY.has(to) || to < 200) {
      issues.push({
        pointer: `/config/status/${key}`,
        message: `${to} cannot carry the upstream's body; map to a status from 200 to 599 other than 204, 205 and 304`,
      })
      continue
    }
    if (key.endsWith('xx')) byClass.set(Number(key[0]), to)
    else exact.set(Number(key), to)
  }
  if (exact.size === 0 && byClass.size === 0) return undefined
  return function mapStatus(status) {
    return exact.get(status) ?? byClass.get(Math.floor(status / 100)) ?? status
  }
}
