/**
 * Secrets are never logged: the values of these headers and query parameters are replaced, whatever
 * the configuration asks to log. Names are compared in lower case.
 */
export const ALWAYS_REDACTED = [
  'authorization',
  'proxy-authorization',
  'cookie',
  'set-cookie',
  'x-api-key',
  'api-key',
  'apikey',
  'api_key',
  'x-auth-token',
  'x-access-token',
  'access_token',
  'id_token',
  'refresh_token',
  'token',
  'client_secret',
  'password',
  'signature',
  'x-amz-security-token',
] as const

export const REDACTED = '[REDACTED]'

export function redactionSet(extra: readonly string[]): ReadonlySet<string> {
  return new Set([...ALWAYS_REDACTED, ...extra.map((n) => n.toLowerCase())])
}

/** The query string with the values of secret parameters replaced (names kept, order kept). */
export function redactQuery(querystring: string, secret: ReadonlySet<string>): string {
  if (querystring === '') return ''
  return querystring
    .split('&')
    .map((pair) => {
      const eq = pair.indexOf('=')
      const rawName = eq < 0 ? pair : pair.slice(0, eq)
      let name = rawName
      try {
        name = decodeURIComponent(rawName.replace(/\+/g, ' '))
      } catch {}
      return eq >= 0 && secret.has(name.toLowerCase()) ? `${rawName}=${REDACTED}` : pair
    })
    .join('&')
}
