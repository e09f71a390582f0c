/**
 * The plugins Gatehouse publishes under its own npm scope, as `@gatehousejs/plugin-<name>`. Only
 * these names get "npm install @gatehousejs/plugin-<name>" as a hint: any other name in that scope
 * is one nobody publishes. test/02-validate-routes.test.ts checks this list against plugins/, so a
 * new first-party plugin fails the CLI's tests until it is added here.
 */
export const FIRST_PARTY_PLUGINS: readonly string[] = [
  'access-log',
  'acl',
  'aggregate',
  'basic-auth',
  'cache',
  'cors',
  'grpc',
  'ip-restriction',
  'jwt',
  'key-auth',
  'openapi-validator',
  'openid-connect',
  'opentelemetry',
  'prometheus',
  'rate-limit',
  'request-size-limit',
  'request-termination',
  'request-transformer',
  'response-transformer',
]

/** The npm package of a first-party plugin. */
export const FIRST_PARTY_PREFIX = '@gatehousejs/plugin-'

/** Levenshtein distance (insertions, deletions, substitutions), for "did you mean". */
function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    const row = [i]
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1
      row[j] = Math.min((prev[j] as number) + 1, (row[j - 1] as number) + 1, (prev[j - 1] as number) + cost)
    }
    prev = row
  }
  return prev[b.length] as number
}

/**
 * The first-party plugin a name is a near miss of (`cros` → `cors`, `ratelimit` → `rate-limit`):
 * at most one edit away for names shorter than 4 characters, two otherwise; or the same name once
 * `-` and `_` are ignored.
 */
export function nearestFirstParty(name: string): string | undefined {
  const squash = (s: string) => s.toLowerCase().replace(/[-_]/g, '')
  const limit = name.length < 4 ? 1 : 2
  let best: { name: string; distance: number } | undefined
  for (const candidate of FIRST_PARTY_PLUGINS) {
    const distance = squash(candidate) === squash(name) ? 0 : editDistance(name.toLowerCase(), candidate)
    if (distance <= limit && (best === undefined || distance < best.distance))
      best = { name: candidate, distance }
  }
  return best?.name
}
