import {
  authGuardIssues,
  createAuthGuard,
  definePlugin,
  type PluginHandlers,
  PRIORITY,
} from '@gatehousejs/sdk'
import manifest from '../package.json' with { type: 'json' }
import { KeyInvalid, KeyMissing } from './errors.js'
import { findKey, hideKey, type Lookup } from './find.js'
import { indexKeys, KeyStore } from './keys.js'
import { KeyAuthSchema } from './schema.js'

export { KeyDuplicate, KeyInvalid, KeyMissing } from './errors.js'
export { type KeyAuthConfig, KeyAuthSchema, type KeyCredential, KeyCredentialSchema } from './schema.js'

const NAME = 'key-auth'

/**
 * `key-auth`: identifies the consumer by an API key sent in a header (default `apikey`), a query
 * parameter or a body field, like Kong's key-auth. Keys live on consumers
 * (`credentials: { 'key-auth': [{ key: '...' }] }`), are kept in memory only as SHA-256 digests and
 * compared in constant time. With `anonymous`, a request without a valid key goes on as that
 * consumer, which makes several auth plugins on a route "any of them" (see docs/authentication.md).
 *
 * @example
 * await createGateway({
 *   services: [{ name: 'api', url: 'http://127.0.0.1:3001', routes: [{ paths: ['/api'] }] }],
 *   consumers: [{ username: 'alice', credentials: { 'key-auth': [{ key: process.env.ALICE_KEY }] } }],
 *   plugins: [{ name: 'key-auth', service: 'api', config: { hideCredentials: true } }],
 * }, { plugins: [keyAuth] })
 */
export const keyAuth = definePlugin({
  name: NAME,
  version: manifest.version,
  priority: PRIORITY.auth,
  description: 'Authenticates consumers by API key (header, query parameter or body field)',
  schema: KeyAuthSchema,
  /** The consumers' key-auth credentials and `anonymous`; `init` refuses the same problems. */
  validate(config, env) {
    return [
      ...indexKeys(env, NAME).issues,
      ...authGuardIssues(env, { plugin: NAME, anonymous: config.anonymous }),
    ]
  },
  init(config, env) {
    const keys = new KeyStore(env, NAME)
    const guard = createAuthGuard(env, { plugin: NAME, anonymous: config.anonymous })
    const challenge = { 'www-authenticate': `Key realm="${config.realm}"` }
    const lookup: Lookup = {
      names: config.keyNames,
      headerNames: config.keyNames.map((n) => n.toLowerCase()),
      inHeader: config.keyInHeader,
      inQuery: config.keyInQuery,
      inCookie: config.keyInCookie,
      inBody: config.keyInBody,
    }
    if (keys.size === 0 && config.anonymous === undefined) {
      env.log.warn('no consumer has a key-auth credential: every request on this instance will be refused')
    }

    const handlers: PluginHandlers = {
      needs: { requestBody: config.keyInBody },
      access(ctx) {
        if (guard.skip(ctx)) return
        if (!config.runOnPreflight && isPreflight(ctx.request.method, ctx.request.headers)) return
        let found: ReturnType<typeof findKey>
        try {
          found = findKey(ctx, lookup)
        } catch (err) {
          return guard.fail(ctx, (err as ReturnType<typeof KeyMissing>).withHeaders(challenge))
        }
        if (found === undefined) return guard.fail(ctx, KeyMissing().withHeaders(challenge))
        const owner = keys.find(found.key)
        if (owner === undefined) return guard.fail(ctx, KeyInvalid().withHeaders(challenge))
        if (config.hideCredentials) hideKey(ctx, found)
        guard.success(ctx, owner.consumer, { id: owner.credentialId, plugin: NAME })
      },
    }
    return handlers
  },
})

/** A CORS preflight: OPTIONS with Origin and Access-Control-Request-Method. */
function isPreflight(method: string, headers: Readonly<Record<string, unknown>>): boolean {
  return (
    method === 'OPTIONS' &&
    headers.origin !== undefined &&
    headers['access-control-request-method'] !== undefined
  )
}

export default keyAuth
