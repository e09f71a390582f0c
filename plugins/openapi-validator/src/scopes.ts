/**
 * The scopes of the request's token, as the auth plugins left them: `ctx.shared.oidc.scopes`
 * (openid-connect) and the `scope` (space-separated, RFC 9068 §2.2.3) or `scp` (an array, as some
 * providers send) claims of `ctx.shared.jwt.claims` (jwt). Empty when no token was verified.
 */
export function tokenScopes(shared: Readonly<Record<string, unknown>>): Set<string> {
  const out = new Set<string>()
  const oidc = shared.oidc as { scopes?: Iterable<string> } | undefined
  if (oidc?.scopes !== undefined) for (const s of oidc.scopes) out.add(s)
  const claims = (shared.jwt as { claims?: Record<string, unknown> } | undefined)?.claims
  if (claims !== undefined) {
    addWords(out, claims.scope)
    addWords(out, claims.scp)
  }
  return out
}

function addWords(out: Set<string>, value: unknown): void {
  if (typeof value === 'string') {
    for (const w of value.split(' ')) if (w !== '') out.add(w)
  } else if (Array.isArray(value)) for (const w of value) if (typeof w === 'string') out.add(w)
}

/** Whether the token has every scope of at least one alternative. */
export function satisfied(alternatives: readonly string[][], scopes: ReadonlySet<string>): boolean {
  return alternatives.some((needed) => needed.every((s) => scopes.has(s)))
}
