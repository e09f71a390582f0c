import type { AccessContext, GatehouseError, Logger } from '@gatehousejs/sdk'
import * as oidc from 'openid-client'
import {
  OidcCallbackInvalid,
  OidcLoginFailed,
  OidcLogoutRequestInvalid,
  OidcSessionExpired,
  OidcSessionInvalid,
  OidcStateInvalid,
} from './errors.js'
import { isUnreachable, type Provider, unavailable } from './provider.js'
import type { BrowserConfig } from './schema.js'
import {
  type CookieOptions,
  CookieSeal,
  clearCookie,
  cookieValue,
  MAX_COOKIE,
  type Session,
  setCookie,
  type Transaction,
} from './session.js'
import { Sessions } from './sessions.js'
import type { OidcStore } from './store.js'

/** A login has this long between the redirect to the provider and the callback. */
const TX_TTL = 600
/** States already used, kept for the transaction lifetime: a replayed callback is refused even with its cookie. */
const MAX_USED_STATES = 100_000
/** A session's last use is rewritten (a new cookie) at most this often (and a quarter of `idleTimeout`). */
const ROLL_EVERY = 60_000
/** An access token this close to its expiry is refreshed before it is used. */
const REFRESH_MARGIN = 10_000

export interface BrowserOptions {
  config: BrowserConfig
  provider: Provider
  /** Revocations, used states, and (`session.store: redis`) the sessions themselves. */
  store: OidcStore
  log: Logger
}

export type SessionResult =
  | { kind: 'none' }
  | { kind: 'ok'; session: Session; setCookie: string | undefined }
  | { kind: 'error'; error: GatehouseError; clear: string }

/**
 * The relying party (OpenID Connect Core 1.0 §3.1): the authorization code flow with PKCE (RFC 7636),
 * `state` and `nonce`, all checked by openid-client. The login transaction and the session each live
 * in an encrypted cookie (session.ts); nothing is kept on the gateway except the states already used.
 */
export class BrowserFlow {
  readonly seal: CookieSeal
  readonly sessions: Sessions
  readonly callbackPath: string
  readonly logoutPath: string
  readonly backchannelPath: string | undefined
  readonly frontchannelPath: string | undefined
  readonly cookie: string
  readonly txCookie: string
  private readonly cookieOptions: CookieOptions
  private readonly idle: number
  private readonly rollEvery: number
  readonly absolute: number
  private readonly usedStates = new Map<string, number>()

  constructor(private readonly o: BrowserOptions) {
    const c = o.config
    this.seal = new CookieSeal(c.sessionSecret, c.previousSessionSecrets)
    const redirect = new URL(c.redirectUri)
    this.callbackPath = redirect.pathname
    this.logoutPath = c.logoutPath ?? '/logout'
    this.backchannelPath = c.backchannelLogoutPath
    this.frontchannelPath = c.frontchannelLogoutPath
    this.cookie = c.cookieName ?? 'gh_oidc'
    this.txCookie = `${this.cookie}_tx`
    this.cookieOptions = { secure: c.cookieSecure ?? redirect.protocol === 'https:', path: '/' }
    this.idle = (c.idleTimeout as number | undefined) ?? 30 * 60_000
    this.absolute = (c.absoluteTimeout as number | undefined) ?? 8 * 3600_000
    // Rewriting the last use is what keeps a used session alive: do it well within the idle timeout.
    this.rollEvery = Math.min(ROLL_EVERY, this.idle / 4)
    this.sessions = new Sessions({
      mode: c.session?.store ?? 'cookie',
      store: o.store,
      seal: this.seal,
      absolute: this.absolute,
      log: o.log,
    })
  }

  /** Whether an unauthenticated request is sent to login (else it gets 401). */
  redirects(ctx: AccessContext): boolean {
    const mode = this.o.config.unauthenticated ?? 'auto'
    if (mode !== 'auto') return mode === 'redirect'
    if (ctx.request.method !== 'GET' && ctx.request.method !== 'HEAD') return false
    const accept = ctx.request.headers.accept
    return typeof accept === 'string' && accept.includes('text/html')
  }

  /** 302 to the provider's authorization endpoint, with a fresh transaction cookie (and `clear`, a dead session's). */
  async login(ctx: AccessContext, clear?: string): Promise<void> {
    const config = await this.o.provider.get()
    const tx: Transaction = {
      state: oidc.randomState(),
      nonce: oidc.randomNonce(),
      verifier: oidc.randomPKCECodeVerifier(),
      returnTo:
        ctx.request.querystring === '' ? ctx.request.path : `${ctx.request.path}?${ctx.request.querystring}`,
    }
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: this.o.config.redirectUri,
      scope: this.o.config.scope ?? 'openid',
      state: tx.state,
      nonce: tx.nonce,
      code_challenge: await oidc.calculatePKCECodeChallenge(tx.verifier),
      code_challenge_method: 'S256',
    })
    const sealed = await this.seal.seal('tx', tx, TX_TTL)
    const txCookie = setCookie(this.txCookie, sealed, TX_TTL, this.cookieOptions)
    ctx.respond(302, undefined, {
      location: url.href,
      'cache-control': 'no-store',
      'set-cookie': (clear === undefined ? txCookie : [clear, txCookie]) as unknown as string,
    })
  }

  /** The callback: checks the transaction, exchanges the code, starts the session, goes back. */
  async callback(ctx: AccessContext): Promise<void> {
    const q = new URLSearchParams(ctx.request.querystring)
    const error = q.get('error')
    const state = q.get('state')
    const sealed = cookieValue(ctx.request.headers.cookie, this.txCookie)
    const tx = sealed === undefined ? undefined : await this.seal.open<Transaction>('tx', sealed)
    if (tx === undefined || state === null || state !== tx.state || this.usedStates.has(state))
      throw OidcStateInvalid()
    this.markUsed(state)
    if (error !== null) throw OidcLoginFailed(error.replace(/[^\x20-\x7e]/g, '').slice(0, 100))
    const config = await this.o.provider.get()
    const current = new URL(this.o.config.redirectUri)
    current.search = ctx.request.querystring
    let tokens: Awaited<ReturnType<typeof oidc.authorizationCodeGrant>>
    try {
      tokens = await oidc.authorizationCodeGrant(config, current, {
        pkceCodeVerifier: tx.verifier,
        expectedState: tx.state,
        expectedNonce: tx.nonce,
        idTokenExpected: true,
      })
    } catch (err) {
      if (isUnreachable(err)) throw unavailable(err)
      this.o.log.debug({ err }, 'openid-connect: callback refused')
      throw OidcCallbackInvalid()
    }
    const now = Date.now()
    const session: Session = { claims: { ...(tokens.claims() ?? {}) }, created: now, used: now }
    fill(session, tokens, now)
    const cookie = await this.sessionCookie(session)
    ctx.respond(302, undefined, {
      location: tx.returnTo.startsWith('/') && !tx.returnTo.startsWith('//') ? tx.returnTo : '/',
      'cache-control': 'no-store',
      'set-cookie': [cookie, clearCookie(this.txCookie, this.cookieOptions)] as unknown as string,
    })
  }

  /** RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0): drop the cookie, then the provider's session. */
  async logout(ctx: AccessContext): Promise<void> {
    const value = cookieValue(ctx.request.headers.cookie, this.cookie)
    const found = value === undefined || value === '' ? undefined : await this.sessions.load(value)
    const session = found === 'ended' ? undefined : found
    // The session ends on the server too: a copied cookie does not outlive the logout.
    if (session !== undefined) await this.sessions.destroy(session)
    let location = this.o.config.postLogoutRedirectUri ?? '/'
    try {
      const config = await this.o.provider.get()
      if (config.serverMetadata().end_session_endpoint !== undefined) {
        const params: Record<string, string> = {}
        if (session?.idt !== undefined) params.id_token_hint = session.idt
        if (this.o.config.postLogoutRedirectUri !== undefined)
          params.post_logout_redirect_uri = this.o.config.postLogoutRedirectUri
        location = oidc.buildEndSessionUrl(config, params).href
      }
    } catch {
      // The provider is down: the local session still ends.
    }
    ctx.respond(302, undefined, {
      location,
      'cache-control': 'no-store',
      'set-cookie': clearCookie(this.cookie, this.cookieOptions),
    })
  }

  /**
   * Front-channel logout (OpenID Connect Front-Channel Logout 1.0 §3): the provider loads this URL in
   * an iframe with `iss` and `sid`. The issuer must be ours; the sessions of that `sid` end on the
   * server (the iframe is third-party, so the browser may well not send our SameSite=Lax cookie), and
   * the cookie, when sent, is cleared. Without `sid`, the session of the cookie ends. §4: no caching.
   */
  async frontchannel(ctx: AccessContext): Promise<void> {
    const q = new URLSearchParams(ctx.request.querystring)
    const iss = q.get('iss')
    const sid = q.get('sid')
    const config = await this.o.provider.get()
    if (iss !== null && iss !== config.serverMetadata().issuer)
      throw OidcLogoutRequestInvalid('The "iss" parameter names another provider')
    if (sid !== null && iss === null) throw OidcLogoutRequestInvalid('"sid" comes with "iss"')
    const value = cookieValue(ctx.request.headers.cookie, this.cookie)
    const found = value === undefined || value === '' ? undefined : await this.sessions.load(value)
    const session = found === 'ended' ? undefined : found
    if (sid !== null) await this.sessions.endBy(sid, undefined)
    else if (session !== undefined) await this.sessions.destroy(session)
    else throw OidcLogoutRequestInvalid('No session to end: neither "sid" nor a session cookie')
    const headers: Record<string, string> = {
      'cache-control': 'no-cache, no-store',
      pragma: 'no-cache',
      'content-type': 'text/html; charset=utf-8',
    }
    if (session !== undefined && (sid === null || session.claims.sid === sid))
      headers['set-cookie'] = clearCookie(this.cookie, this.cookieOptions)
    ctx.respond(200, '<!DOCTYPE html><title>Logged out</title>', headers)
  }

  /** The request's session: none, valid (refreshed or rolled when due), or an error to answer. */
  async session(ctx: AccessContext): Promise<SessionResult> {
    const value = cookieValue(ctx.request.headers.cookie, this.cookie)
    if (value === undefined || value === '') return { kind: 'none' }
    const clear = clearCookie(this.cookie, this.cookieOptions)
    const session = await this.sessions.load(value)
    if (session === 'ended') return { kind: 'error', error: OidcSessionExpired(), clear }
    if (session === undefined || typeof session.created !== 'number' || typeof session.used !== 'number')
      return { kind: 'error', error: OidcSessionInvalid(), clear }
    const now = Date.now()
    if (now - session.used > this.idle || now - session.created > this.absolute)
      return { kind: 'error', error: OidcSessionExpired(), clear }
    let changed = now - session.used > this.rollEvery
    if (session.atExp !== undefined && session.atExp - REFRESH_MARGIN < now) {
      if (session.rt === undefined) return { kind: 'error', error: OidcSessionExpired(), clear }
      const config = await this.o.provider.get()
      try {
        const tokens = await oidc.refreshTokenGrant(config, session.rt)
        fill(session, tokens, now)
        const claims = tokens.claims()
        if (claims !== undefined) session.claims = { ...claims }
      } catch (err) {
        if (isUnreachable(err)) throw unavailable(err)
        this.o.log.debug({ err }, 'openid-connect: refresh refused')
        return { kind: 'error', error: OidcSessionExpired(), clear }
      }
      changed = true
    }
    if (!changed) return { kind: 'ok', session, setCookie: undefined }
    session.used = now
    return { kind: 'ok', session, setCookie: await this.sessionCookie(session) }
  }

  private async sessionCookie(session: Session): Promise<string> {
    const ttlMs = session.created + this.absolute - Date.now()
    let value = await this.sessions.save(session, ttlMs)
    if (value.length > MAX_COOKIE && session.idt !== undefined) {
      // The ID token is only a logout hint: drop it before anything the session needs.
      session.idt = undefined
      value = await this.sessions.save(session, ttlMs)
    }
    if (value.length > MAX_COOKIE)
      this.o.log.warn(
        { bytes: value.length },
        'openid-connect: session cookie over 4 KB (use session.store: redis)',
      )
    return setCookie(this.cookie, value, ttlMs / 1000, this.cookieOptions)
  }

  private markUsed(state: string): void {
    const now = Date.now()
    if (this.usedStates.size >= MAX_USED_STATES) {
      for (const [s, until] of this.usedStates)
        if (until < now || this.usedStates.size >= MAX_USED_STATES) this.usedStates.delete(s)
    }
    this.usedStates.set(state, now + TX_TTL * 1000)
  }
}

function fill(session: Session, tokens: oidc.TokenEndpointResponse, now: number): void {
  session.at = tokens.access_token
  session.atExp = typeof tokens.expires_in === 'number' ? now + tokens.expires_in * 1000 : undefined
  if (tokens.scope !== undefined) session.scope = tokens.scope
  if (tokens.refresh_token !== undefined) session.rt = tokens.refresh_token
  if (tokens.id_token !== undefined) session.idt = tokens.id_token
}
