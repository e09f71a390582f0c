import { createHmac, hkdfSync } from 'node:crypto'
import { decodeProtectedHeader, EncryptJWT, errors as joseErrors, jwtDecrypt } from 'jose'

/** What the session cookie holds (encrypted: the client can neither read nor change it). */
export interface Session {
  /** Redis mode: the session's random id (the cookie value); never stored in the session itself. */
  id?: string
  /** ID token claims. */
  claims: Record<string, unknown>
  /** Access token, its expiry (epoch ms), scopes and refresh token, when the provider gave them. */
  at?: string
  atExp?: number
  scope?: string
  rt?: string
  /** The ID token, for `id_token_hint` at logout (dropped when the cookie would be too large). */
  idt?: string
  /** Login time and last use, epoch ms: the absolute and rolling timeouts. */
  created: number
  used: number
}

/** The login transaction between the redirect to the provider and the callback. */
export interface Transaction {
  state: string
  nonce: string
  verifier: string
  /** Where the user was going (a path on this gateway). */
  returnTo: string
}

/** Browsers keep cookies up to 4096 bytes, name and attributes included. */
export const MAX_COOKIE = 3900

/**
 * Sealing: a JWE (RFC 7516, `dir` + A256GCM) under a key derived with HKDF (RFC 5869) from
 * `sessionSecret`: AES-GCM both encrypts and authenticates, so a changed byte fails to open. The same
 * seal protects the session cookie, the login transaction cookie and (`session.store: redis`) the
 * sessions kept in Redis. Rotation: values are sealed with the first secret and opened with any of
 * them (`sessionSecret`, then `previousSessionSecrets`), so a new secret logs nobody out as long as
 * the old one stays listed; a session opened with an old key is sealed again with the new one the
 * next time it is written.
 */
export class CookieSeal {
  private readonly keys: Uint8Array[]
  private readonly indexKeys: Buffer[]

  constructor(secret: string, previous: readonly string[] = []) {
    const secrets = [secret, ...previous]
    this.keys = secrets.map(
      (s) => new Uint8Array(hkdfSync('sha256', s, 'gatehouse', 'openid-connect session cookie', 32)),
    )
    this.indexKeys = secrets.map((s) =>
      Buffer.from(hkdfSync('sha256', s, 'gatehouse', 'openid-connect session index', 32)),
    )
  }

  seal(purpose: Purpose, value: object, ttlSeconds: number): Promise<string> {
    return new EncryptJWT({ v: value })
      .setProtectedHeader({ alg: 'dir', enc: 'A256GCM', cty: purpose })
      .setIssuedAt()
      .setExpirationTime(`${Math.max(1, Math.ceil(ttlSeconds))}s`)
      .encrypt(this.keys[0]!)
  }

  /** The sealed value, or undefined when it cannot be opened (tampered, expired, another key, another purpose). */
  async open<T>(purpose: Purpose, sealed: string): Promise<T | undefined> {
    const opened = await this.openOrExpired<T>(purpose, sealed)
    return opened === 'expired' ? undefined : opened
  }

  /** As {@link open}, but `expired` for a value that is authentic and past its `exp` (a session's absolute end). */
  async openOrExpired<T>(purpose: Purpose, sealed: string): Promise<T | 'expired' | undefined> {
    for (const key of this.keys) {
      try {
        const { payload, protectedHeader } = await jwtDecrypt(sealed, key, {
          keyManagementAlgorithms: ['dir'],
          contentEncryptionAlgorithms: ['A256GCM'],
        })
        if (protectedHeader.cty !== purpose || typeof payload.v !== 'object' || payload.v === null)
          return undefined
        return payload.v as T
      } catch (err) {
        // Thrown once decrypted: the value is ours and authentic, only too old.
        if (err instanceof joseErrors.JWTExpired)
          return decodeProtectedHeader(sealed).cty === purpose ? 'expired' : undefined
        // Another key may open it (rotation); a value none opens is refused below.
      }
    }
    return undefined
  }

  /**
   * A store key for a claim value (`sid`, `sub`), one per secret: an HMAC under a key derived from
   * the secret, so Redis holds no claim text, and nobody without the secret can tell whose key it is.
   * The first is the one written; logouts look under all of them (rotation).
   */
  refs(kind: string, value: string): string[] {
    return this.indexKeys.map(
      (key) => `${kind}:${createHmac('sha256', key).update(`${kind}\n${value}`).digest('base64url')}`,
    )
  }
}

/** What a sealed value is for: a value sealed for one purpose never opens as another. */
export type Purpose = 'session' | 'tx' | 'stored-session'

export interface CookieOptions {
  secure: boolean
  path: string
}

/** RFC 6265 §4.1: a Set-Cookie value; HttpOnly and SameSite=Lax (the callback is a top-level GET). */
export function setCookie(name: string, value: string, maxAgeSeconds: number, o: CookieOptions): string {
  return `${name}=${value}; Path=${o.path}; Max-Age=${Math.max(0, Math.floor(maxAgeSeconds))}; HttpOnly; SameSite=Lax${o.secure ? '; Secure' : ''}`
}

export function clearCookie(name: string, o: CookieOptions): string {
  return setCookie(name, '', 0, o)
}

/** One cookie's value from the Cookie header (RFC 6265 §5.4). */
export function cookieValue(header: string | string[] | undefined, name: string): string | undefined {
  if (header === undefined) return undefined
  const all = Array.isArray(header) ? header.join('; ') : header
  for (const pair of all.split(';')) {
    const eq = pair.indexOf('=')
    if (eq > 0 && pair.slice(0, eq).trim() === name) return pair.slice(eq + 1).trim()
  }
  return undefined
}

/** The Cookie header without the named cookies (ours never reach the upstream). */
export function withoutCookies(header: string, names: readonly string[]): string {
  return header
    .split(';')
    .filter((pair) => {
      const eq = pair.indexOf('=')
      return !names.includes((eq > 0 ? pair.slice(0, eq) : pair).trim())
    })
    .map((p) => p.trim())
    .join('; ')
}
