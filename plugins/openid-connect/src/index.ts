import {
  type AccessContext,
  authGuardIssues,
  ConfigError,
  type ConfigIssue,
  type Consumer,
  type ConsumerRecord,
  createAuthGuard,
  definePlugin,
  type GatehouseError,
  isGatehouseError,
  type PluginCheckEnv,
  type PluginHandlers,
  PRIORITY,
} from '@gatehousejs/sdk'
import { openRedis, redisNameIssues } from '@gatehousejs/sdk/redis'
import manifest from '../package.json' with { type: 'json' }
import { BearerVerifier } from './bearer.js'
import { BrowserFlow } from './browser.js'
import { type Claims, claimAt, compileRule, headerSafe, scopesOf, valuesOf } from './claims.js'
import {
  OidcClaimRejected,
  OidcInsufficientScope,
  OidcMissing,
  OidcTokenTooLarge,
  OidcUnknownConsumer,
  withChallenge,
  withSessionChallenge,
} from './errors.js'
import { backchannelLogout } from './logout.js'
import { Provider } from './provider.js'
import { type OidcConfig, OidcSchema } from './schema.js'
import { withoutCookies } from './session.js'
import { MemoryStore, type OidcStore, RedisStore } from './store.js'

export * from './errors.js'
export { type BrowserConfig, type OidcConfig, OidcSchema } from './schema.js'

/** What later plugins can read: `ctx.shared.oidc`. */
export interface OidcShared {
  /** The access token's claims (bearer) or the ID token's (browser session). */
  readonly claims: Claims
  readonly scopes: ReadonlySet<string>
  readonly mode: 'bearer' | 'session'
}

declare module '@gatehousejs/sdk' {
  interface SharedState {
    /** Set by the openid-connect plugin when a token or session was accepted. */
    oidc?: OidcShared
  }
}

/** RFC 6750 §2.1: `Bearer` (any case), one or more spaces, the token. */
const BEARER = /^\s*bearer\s+(\S+)\s*$/i

/**
 * `openid-connect`: OpenID Connect at the edge, on openid-client (a certified relying party library)
 * and jose. Bearer mode verifies access tokens: JWTs against the provider's JWKS, opaque ones by
 * introspection (RFC 7662, cached). Browser mode (`browser`) logs users in with the authorization
 * code flow with PKCE and keeps them in an encrypted session cookie, refreshed with the refresh
 * token. Either way, required scopes and claim rules are checked, and the consumer and its groups
 * come from claims (so `acl` works), with the usual identity headers upstream.
 *
 * Phases: `access` (authenticate), `response` (a rolled or refreshed session cookie).
 *
 * @example
 * plugins: [{ name: 'openid-connect', service: 'app', config: {
 *   issuer: 'https://id.example.com', clientId: 'gateway', clientSecret: process.env.OIDC_SECRET,
 *   browser: { redirectUri: 'https://app.example.com/callback', sessionSecret: process.env.SESSION_SECRET },
 * } }]
 */
export const openidConnect = definePlugin({
  name: 'openid-connect',
  version: manifest.version,
  // After jwt (60450), before key-auth (60000): the same auth band.
  priority: PRIORITY.auth + 300,
  description:
    'OpenID Connect: bearer tokens (JWT/JWKS or introspection) and browser login (code flow + PKCE)',
  schema: OidcSchema,
  /** The anonymous consumer, the Redis connection's name, and a Redis session store that has one. */
  validate: (config, env) => [
    ...authGuardIssues(env, { plugin: 'openid-connect', anonymous: config.anonymous }),
    ...storeIssues(config, env),
  ],
  async init(config, env) {
    const guard = createAuthGuard(env, { plugin: 'openid-connect', anonymous: config.anonymous })
    const timeout = (config.timeout as number | undefined) ?? 5_000
    const provider = new Provider({
      issuer: config.issuer,
      clientId: config.clientId,
      clientSecret: config.clientSecret,
      timeout,
      log: env.log,
    })
    const problems = storeIssues(config, env)
    if (problems.length > 0) throw new ConfigError(problems)
    const redis =
      config.redis === undefined
        ? undefined
        : new RedisStore(
            openRedis(env, config.redis, {
              field: 'redis',
              prefix: 'oidc:',
              purpose: 'openid-connect sessions and caches',
              whileDown: 'session checks fail closed (503) and the caches ask the provider',
            }),
          )
    const store: OidcStore = redis ?? new MemoryStore()
    // At most the connection's connectTimeout; a Redis that is down does not stop the gateway.
    if (redis !== undefined) await redis.connect()
    const bearerOn = config.bearer ?? true
    const bearer = new BearerVerifier(provider, {
      audience: config.audience ?? [config.clientId],
      introspection: config.introspection ?? true,
      cacheTtl: (config.introspectionCacheTtl as number | undefined) ?? 300_000,
      cacheSize: config.introspectionCacheSize ?? 10_000,
      jwksCooldown: (config.jwksCooldown as number | undefined) ?? 30_000,
      timeout,
      clockSkew: (config.clockSkew as number | undefined) ?? 30_000,
      shared: redis,
      jwksTtl: (config.jwksCacheTtl as number | undefined) ?? 600_000,
      log: env.log,
    })
    const browser =
      config.browser === undefined
        ? undefined
        : new BrowserFlow({ config: config.browser, provider, store, log: env.log })
    // Discover now so the first requests do not wait; a provider that is down does not stop the gateway.
    await Promise.resolve(provider.get()).catch(() => {})

    const realm = config.realm ?? 'gatehouse'
    const required = config.scopes ?? []
    const rules = (config.claims ?? []).map(compileRule)
    const headerMap = Object.entries(config.claimsToHeaders ?? {})
    const maxToken = config.maxTokenLength ?? 8192
    const consumerClaim = config.consumerClaim ?? 'sub'
    const groupsClaim = config.groupsClaim
    const byRef = new Map<string, ConsumerRecord>()
    for (const c of env.consumers)
      if (c.username !== undefined && !byRef.has(c.username)) byRef.set(c.username, c)
    for (const c of env.consumers) byRef.set(c.id, c)
    const ourCookies = browser === undefined ? [] : [browser.cookie, browser.txCookie]

    function fail(
      ctx: AccessContext,
      err: unknown,
      isBearer: boolean,
      headers?: Record<string, string>,
    ): void {
      if (!isGatehouseError(err)) throw err
      let e = err as GatehouseError
      if (isBearer || !browser) e = withChallenge(e, realm, required)
      else e = withSessionChallenge(e, realm)
      if (headers) e.withHeaders(headers)
      guard.fail(ctx, e)
    }

    /** Scopes, claim rules, consumer and groups: the same for a token and for a session. */
    function accept(
      ctx: AccessContext,
      claims: Claims,
      scopes: Set<string>,
      mode: 'bearer' | 'session',
    ): void {
      for (const s of required) if (!scopes.has(s)) throw OidcInsufficientScope()
      for (const rule of rules) if (!rule(claims)) throw OidcClaimRejected()
      const ref = claimAt(claims, consumerClaim)
      let consumer: Consumer | undefined = typeof ref === 'string' ? byRef.get(ref) : undefined
      const groups =
        groupsClaim === undefined ? [] : valuesOf(claimAt(claims, groupsClaim)).filter(headerSafe)
      if (consumer === undefined) {
        if (config.consumerRequired || !headerSafe(ref)) throw OidcUnknownConsumer()
        consumer = Object.freeze({
          id: ref,
          username: undefined,
          customId: undefined,
          groups: Object.freeze(groups),
        })
      } else if (groups.length > 0) {
        const record = consumer as ConsumerRecord
        consumer = Object.freeze({
          id: record.id,
          username: record.username,
          customId: record.customId,
          groups: Object.freeze([...new Set([...(record.groups ?? []), ...groups])]),
        })
      }
      ctx.shared.oidc = { claims, scopes, mode }
      for (const [claim, header] of headerMap) {
        const v = claimAt(claims, claim)
        const text =
          typeof v === 'string'
            ? v
            : Array.isArray(v)
              ? v.join(', ')
              : v === undefined
                ? undefined
                : JSON.stringify(v)
        if (text !== undefined && /^[\t\x20-\x7e]*$/.test(text)) ctx.upstream.headers[header] = text
      }
      const sub = typeof claims.sub === 'string' && headerSafe(claims.sub) ? claims.sub : consumer.id
      guard.success(ctx, consumer, { id: sub, plugin: 'openid-connect' })
    }

    async function viaBearer(ctx: AccessContext, token: string): Promise<void> {
      if (token.length > maxToken) throw OidcTokenTooLarge()
      const claims = await bearer.verify(token)
      accept(ctx, claims, scopesOf(claims), 'bearer')
    }

    async function viaBrowser(ctx: AccessContext, b: BrowserFlow): Promise<void> {
      const path = ctx.request.path
      if (path === b.callbackPath) return b.callback(ctx)
      if (path === b.logoutPath) return b.logout(ctx)
      if (path === b.backchannelPath)
        return backchannelLogout(ctx, await provider.get(), {
          clientId: config.clientId,
          clockSkew: (config.clockSkew as number | undefined) ?? 30_000,
          replayWindow: b.absolute,
          keys: (c) => bearer.keys(c),
          store,
          sessions: b.sessions,
        })
      if (path === b.frontchannelPath) return b.frontchannel(ctx)
      const found = await b.session(ctx)
      if (found.kind === 'error') {
        // A session that ended or cannot be read is no session: a browser logs in again.
        ctx.log.debug({ code: found.error.code }, 'openid-connect: session refused')
        if (guard.anonymous === undefined && b.redirects(ctx)) return b.login(ctx, found.clear)
        return fail(ctx, found.error, false, { 'set-cookie': found.clear })
      }
      if (found.kind === 'none') {
        if (guard.anonymous === undefined && b.redirects(ctx)) return b.login(ctx)
        return fail(ctx, OidcMissing(), false)
      }
      const { session } = found
      const scopes = new Set(valuesOf(session.scope))
      accept(ctx, session.claims, scopes, 'session')
      if ((config.browser?.forwardAccessToken ?? true) && session.at !== undefined)
        ctx.upstream.headers.authorization = `Bearer ${session.at}`
      if (found.setCookie !== undefined) ctx.plugin.setCookie = found.setCookie
    }

    const handlers: PluginHandlers = {
      access: async function openidConnectAccess(ctx) {
        for (const [, header] of headerMap) delete ctx.upstream.headers[header]
        const cookie = ctx.upstream.headers.cookie
        if (ourCookies.length > 0 && typeof cookie === 'string') {
          const rest = withoutCookies(cookie, ourCookies)
          if (rest === '') delete ctx.upstream.headers.cookie
          else ctx.upstream.headers.cookie = rest
        }
        if (guard.skip(ctx)) return
        const auth = ctx.request.headers.authorization
        const bearerMatch = bearerOn && typeof auth === 'string' ? BEARER.exec(auth) : null
        try {
          if (bearerMatch) return await viaBearer(ctx, bearerMatch[1]!)
          if (browser) return await viaBrowser(ctx, browser)
          return fail(ctx, OidcMissing(), true)
        } catch (err) {
          return fail(ctx, err, bearerMatch !== null)
        }
      },
      response: function openidConnectResponse(ctx) {
        const cookie = (ctx.plugin as { setCookie?: string }).setCookie
        if (cookie === undefined) return
        const h = ctx.response.headers
        const prior = h['set-cookie']
        h['set-cookie'] = prior === undefined ? cookie : [...(Array.isArray(prior) ? prior : [prior]), cookie]
      },
    }
    handlers.close = () => store.close()
    return handlers
  },
})

/** Where sessions and caches live: a named connection that exists, and one when sessions need it. */
function storeIssues(config: OidcConfig, env: Pick<PluginCheckEnv, 'redis'>): ConfigIssue[] {
  const issues = redisNameIssues(env, config.redis)
  if (config.browser?.session?.store === 'redis' && config.redis === undefined)
    issues.push({
      pointer: '/config/browser/session/store',
      message: '"redis" needs a Redis connection: name one in /config/redis',
    })
  return issues
}

export default openidConnect
