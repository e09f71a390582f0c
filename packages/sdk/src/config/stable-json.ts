/**
 * JSON with object keys sorted at every depth: equal values give equal text whatever their key order,
 * for hashes and identity keys of configuration (a reused plugin instance, a shared connection, the
 * config hash `/status` reports). Otherwise as `JSON.stringify`: undefined properties are left out, and
 * undefined (or a function) in an array, or as the whole value, is `null`. For the values a config
 * holds (no lone surrogates, no -0) this is RFC 8785's canonical form: the fleet signs and addresses
 * snapshots with it.
 */
export function stableJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null'
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`
  const obj = value as Record<string, unknown>
  const keys = Object.keys(obj)
    .filter((k) => obj[k] !== undefined && typeof obj[k] !== 'function')
    .sort()
  return `{${keys.map((k) => `${JSON.stringify(k)}:${stableJson(obj[k])}`).join(',')}}`
}
