import {
  type AccessContext,
  authGuardIssues,
  ConfigError,
  type ConfigIssue,
  type ConsumerRecord,
  createAuthGuard,
  definePlugin,
  type GatehouseError,
  isGatehouseError,
  type PluginHandlers,
  PRIORITY,
} from '@gatehousejs/sdk'
import { openRedis, redisNameIssues } from '@gatehousejs/sdk/redis'
import manifest from '../package.json' with { type: 'json' }
import { JwtMissing, JwtUnknownConsumer, withChallenge } from './errors.js'
import { claimsToHeaders, removeClaimHeaders } from './headers.js'
import { buildKeyRing } from './ring.js'
import { JwtSchema } from './schema.js'
import { SharedKeySetStore } from './shared-store.js'
import { findToken } from './token.js'
import { type Verified, verifyToken } from './verify.js'

export * from './errors.js'
export { ALGORITHMS, type Algorithm, type JwtConfig, JwtSchema } from './schema.js'

/** What later plugins can read of a verified token: `ctx.shared.jwt`. */
export interface JwtShared {
  readonly header: Readonly<Record<string, unknown>>
  readonly claims: Readonly<Record<string, unknown>>
}

declare module '@gatehousejs/sdk' {
  interface SharedState {
    /** Set by the jwt plugin when a token verified. */
    jwt?: JwtShared
  }
}

/**
 * `jwt`: authenticates requests carrying a JSON Web Token (RFC 7519), verified with fast-jwt against
 * keys pinned to one algorithm each: consumer credentials (`consumers[].credentials.jwt`, like Kong's
 * jwt_secrets), keys per issuer/kid in the config, or JSON Web Key Sets fetched over HTTP (cached,
 * shared across nodes through Redis).
 *
 * Phases: `access` only. Everything that can be done once (key import, verifiers, consumer index)
 * is done in `init`; a request decodes the token, picks its key and runs one verifier.
 *
 * @example
 * import { createGateway } from '@gatehousejs/core'
 * import jwt from '@gatehousejs/plugin-jwt'
 *
 * await createGateway({
 *   services: [{ name: 'api', url: 'http://127.0.0.1:3001', routes: [{ paths: ['/api'] }] }],
 *   consumers: [{ username: 'mobile', credentials: { jwt: [{ key: 'mobile-app', secret: process.env.JWT_SECRET }] } }],
 *   plugins: [{ name: 'jwt' }],
 * }, { plugins: [jwt] })
 */
export const jwt = definePlugin({
  name: 'jwt',
  version: manifest.version,
  // Kong runs jwt (1450) before key-auth (1250) and basic-auth (1100): the same order inside our auth band.
  priority: PRIORITY.auth + 450,
  description:
    'Authenticates requests with JSON Web Tokens (HS/RS/PS/ES/EdDSA, keys from config, consumers or JWKS)',
  schema: JwtSchema,
  /**
   * Every key given in the config or the consumers' credentials imports, each consumer named exists
   * (`anonymous`, `keys[].consumer`, `jwks[].consumer`); `init` refuses the same problems.
   */
  validate(config, env) {
    return [
      ...authGuardIssues(env, { plugin: 'jwt', anonymous: config.anonymous }),
      ...buildKeyRing(config, env).issues,
      ...redisNameIssues(env, config.redis),
    ]
  },
  /** `gatehouse validate --online`: each JWKS URL answers 200 with a key set. A load never runs this. */
  async check(config) {
    return (
      await Promise.all(
        config.jwks.map(async ({ url }, i): Promise<ConfigIssue[]> => {
          const pointer = `/config/jwks/${i}/url`
          try {
            const res = await fetch(url, { signal: AbortSignal.timeout(5000), redirect: 'error' })
            const body = (await res.json().catch(() => undefined)) as { keys?: unknown } | undefined
            if (res.ok && Array.isArray(body?.keys)) return []
            return [{ pointer, message: `${url} answered ${res.status} without a JSON Web Key Set` }]
          } catch (err) {
            return [{ pointer, message: `${url} cannot be fetched: ${(err as Error).message}` }]
          }
        }),
      )
    ).flat()
  },
  async init(config, env) {
    const guard = createAuthGuard(env, { plugin: 'jwt', anonymous: config.anonymous })
    const store =
      config.redis && config.jwks.length > 0
        ? new SharedKeySetStore(
            openRedis(env, config.redis, {
              field: 'redis',
              prefix: 'jwt:',
              purpose: 'shared JWKS',
              whileDown: 'each node fetches key sets itself',
            }),
          )
        : undefined
    const { ring, issues } = buildKeyRing(config, env, { store, log: env.log })
    if (issues.length > 0) {
      await store?.close()
      throw new ConfigError(issues)
    }
    if (store) await store.connect()
    // Fetch the key sets now so the first requests do not wait; a provider that is down does not stop
    // the gateway (its tokens get 503 until a fetch succeeds).
    await Promise.all(ring.keySets.map((s) => s.refresh()))

    const sources = { headers: config.headers, cookies: config.cookies, queryParams: config.queryParams }
    const limits = { clockSkew: config.clockSkew, maximumExpiration: config.maximumExpiration }
    const headerMap = Object.entries(config.claimsToHeaders)
    const realm = config.realm
    const consumerClaim = config.consumerClaim
    // consumerClaim values are looked up per request: index consumers by id, then username, once.
    const byRef = new Map<string, ConsumerRecord>()
    if (consumerClaim !== undefined) {
      for (const c of env.consumers)
        if (c.username !== undefined && !byRef.has(c.username)) byRef.set(c.username, c)
      for (const c of env.consumers) byRef.set(c.id, c)
    }

    function reject(ctx: AccessContext, err: unknown): void {
      // Anything else is a bug of ours: let core answer 500 GH_PLUGIN_FAILED and log it.
      if (!isGatehouseError(err)) throw err
      guard.fail(ctx, withChallenge(err as GatehouseError, realm))
    }

    function accept(ctx: AccessContext, verified: Verified): void {
      const { claims, candidate } = verified
      let consumer = candidate.consumer
      if (!consumer && consumerClaim !== undefined) {
        const ref = claims[consumerClaim]
        consumer = typeof ref === 'string' ? byRef.get(ref) : undefined
        if (!consumer) {
          reject(ctx, JwtUnknownConsumer())
          return
        }
      }
      ctx.shared.jwt = { header: verified.header, claims }
      if (headerMap.length > 0) claimsToHeaders(ctx.upstream.headers, claims, headerMap)
      // A key bound to no consumer (an identity provider's JWKS): authenticated, no ctx.consumer.
      if (consumer) guard.success(ctx, consumer, { id: candidate.id, plugin: 'jwt' })
    }

    const handlers: PluginHandlers = {
      access: function jwtAccess(ctx) {
        // Claim headers are ours alone: what the client sent under those names never reaches the upstream.
        if (headerMap.length > 0) removeClaimHeaders(ctx.upstream.headers, headerMap)
        if (guard.skip(ctx)) return
        const token = findToken(ctx.request, sources)
        if (token === undefined) return reject(ctx, JwtMissing())
        let verified: Verified | Promise<Verified>
        try {
          verified = verifyToken(token, ring, limits)
        } catch (err) {
          return reject(ctx, err)
        }
        if (!(verified instanceof Promise)) return accept(ctx, verified)
        return verified.then(
          (v) => accept(ctx, v),
          (err: unknown) => reject(ctx, err),
        )
      },
    }
    if (store) handlers.close = () => store.close()
    return handlers
  },
})

export default jwt
