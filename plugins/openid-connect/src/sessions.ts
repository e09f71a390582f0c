import { randomBytes } from 'node:crypto'
import { isGatehouseError, type Logger } from '@gatehousejs/sdk'
import { StoreUnavailable } from '@gatehousejs/sdk/redis'
import { type CookieSeal, MAX_COOKIE, type Session } from './session.js'
import type { OidcStore } from './store.js'

/** A session id in Redis mode: 256 random bits, base64url (the cookie holds nothing else). */
const SESSION_ID = /^[A-Za-z0-9_-]{43}$/

export interface SessionsOptions {
  mode: 'cookie' | 'redis'
  store: OidcStore
  seal: CookieSeal
  /** The absolute timeout, ms: the longest a session, a revocation or an index lives. */
  absolute: number
  log: Logger
}

/**
 * Where sessions live, and how they end on the server. `cookie`: the session is sealed in the cookie,
 * and a logout that cannot reach the browser (back- and front-channel) is a revocation by `sid` or
 * `sub` kept in the store until the longest session would have ended anyway. `redis`: the cookie holds
 * a random id, the session is a Redis key with the session's TTL, sealed as the cookie is (encrypted
 * and authenticated with `sessionSecret`, bound to its id), indexed by `sid` and `sub` so that a
 * logout deletes it. Index and revocation keys hold an HMAC of the claim, never the claim. A store
 * that cannot answer a session lookup fails closed: 503 GH_STORE_UNAVAILABLE, never a request
 * let through unchecked.
 */
export class Sessions {
  readonly mode: 'cookie' | 'redis'

  constructor(private readonly o: SessionsOptions) {
    this.mode = o.mode
  }

  /**
   * The session a cookie value names; `ended` when it was logged out (revoked, or gone from Redis),
   * undefined when the value cannot be read at all (tampered, another key, not ours).
   */
  async load(value: string): Promise<Session | 'ended' | undefined> {
    if (this.o.mode === 'redis') {
      if (!SESSION_ID.test(value)) return undefined
      const raw = await this.guard(this.o.store.get(`s:${value}`))
      if (raw === undefined) return 'ended'
      const stored = await this.o.seal.openOrExpired<Session & { bind?: string }>('stored-session', raw)
      if (stored === 'expired') return 'ended'
      // Sealed for this id only: a value copied to another session's key does not open there.
      if (stored === undefined || stored.bind !== value) {
        this.o.log.warn(
          'openid-connect: a session in the store failed authentication (changed in Redis, or sealed with a secret no longer configured); it is deleted and the user logs in again',
        )
        await this.guard(this.o.store.del([`s:${value}`]))
        return undefined
      }
      const { bind: _bind, ...session } = stored
      session.id = value
      return session
    }
    if (value.length > MAX_COOKIE) return undefined
    const session = await this.o.seal.openOrExpired<Session>('session', value)
    if (session === 'expired') return 'ended'
    if (session === undefined || typeof session.created !== 'number') return session
    const keys = this.indexRefs(session).flatMap((k) => k.map((ref) => `rev:${ref}`))
    if (keys.length === 0) return session
    const revoked = await this.guard(this.o.store.getMany(keys))
    for (const at of revoked) if (at !== undefined && Number(at) >= session.created) return 'ended'
    return session
  }

  /** Stores the session; the value to put in the cookie. */
  async save(session: Session, ttlMs: number): Promise<string> {
    const { seal, store } = this.o
    if (this.o.mode === 'cookie') return seal.seal('session', session, ttlMs / 1000)
    const { id, ...data } = session
    // Encrypted at rest as the cookie is: Redis holds no token and no claim in clear.
    const sealedFor = (key: string) => seal.seal('stored-session', { ...data, bind: key }, ttlMs / 1000)
    if (id !== undefined) {
      await this.guard(store.replace(`s:${id}`, await sealedFor(id), ttlMs))
      return id
    }
    const fresh = randomBytes(32).toString('base64url')
    await this.guard(store.set(`s:${fresh}`, await sealedFor(fresh), ttlMs))
    for (const refs of this.indexRefs(session))
      await this.guard(store.addMember(refs[0]!, fresh, this.o.absolute))
    session.id = fresh
    return fresh
  }

  /** Ends one session (RP-initiated or front-channel logout from the browser holding it). */
  async destroy(session: Session): Promise<void> {
    if (this.o.mode === 'redis') {
      if (session.id !== undefined) await this.guard(this.o.store.del([`s:${session.id}`]))
      return
    }
    const sid = session.claims.sid
    if (typeof sid === 'string') await this.endBy(sid, undefined)
  }

  /**
   * Ends every session of a provider session (`sid`) or, without one, of a user (`sub`): what a
   * back-channel logout token or a front-channel request names (Back-Channel Logout 1.0 §2.7).
   */
  async endBy(sid: string | undefined, sub: string | undefined): Promise<void> {
    const refs =
      sid !== undefined ? this.o.seal.refs('sid', sid) : sub !== undefined ? this.o.seal.refs('sub', sub) : []
    if (refs.length === 0) return
    const { store } = this.o
    if (this.o.mode === 'redis') {
      // Under every secret's key: sessions indexed by nodes that still seal with an older secret.
      for (const ref of refs) {
        const ids = await this.guard(store.takeMembers(ref))
        await this.guard(store.del(ids.map((id) => `s:${id}`)))
      }
      return
    }
    const now = String(Date.now())
    for (const ref of refs) await this.guard(store.set(`rev:${ref}`, now, this.o.absolute))
  }

  /** The store keys of a session's `sid` and `sub` (each: one per secret, the current first). */
  private indexRefs(session: Session): string[][] {
    const out: string[][] = []
    if (typeof session.claims.sid === 'string') out.push(this.o.seal.refs('sid', session.claims.sid))
    if (typeof session.claims.sub === 'string') out.push(this.o.seal.refs('sub', session.claims.sub))
    return out
  }

  private async guard<T>(p: Promise<T>): Promise<T> {
    try {
      return await p
    } catch (err) {
      // The SDK's connection already logged the outage once and made GH_STORE_UNAVAILABLE.
      if (isGatehouseError(err)) throw err
      this.o.log.warn({ err }, 'openid-connect: session store failed; failing closed')
      const e = StoreUnavailable()
      Object.defineProperty(e, 'cause', { value: err, enumerable: false })
      throw e
    }
  }
}
