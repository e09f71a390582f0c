import {
  authGuardIssues,
  createAuthGuard,
  definePlugin,
  type PluginHandlers,
  PRIORITY,
} from '@gatehousejs/sdk'
import manifest from '../package.json' with { type: 'json' }
import { BasicInvalid, BasicMalformed, BasicMissing } from './errors.js'
import { parseBasic } from './parse.js'
import { BasicAuthSchema } from './schema.js'
import { CredentialStore, indexCredentials } from './store.js'

export { BasicInvalid, BasicMalformed, BasicMissing } from './errors.js'
export { type HashOptions, hashPassword, parseHash, verifyPassword } from './hash.js'
export {
  type BasicAuthConfig,
  BasicAuthSchema,
  type BasicCredential,
  BasicCredentialSchema,
} from './schema.js'

const NAME = 'basic-auth'

/**
 * `basic-auth`: identifies the consumer by HTTP Basic credentials (RFC 7617), like Kong's basic-auth.
 * Credentials live on consumers (`credentials: { 'basic-auth': [{ username, password: '<hash>' }] }`)
 * with the password as a scrypt or bcrypt hash, never in clear. A 401 carries
 * `WWW-Authenticate: Basic realm="..."`. With `anonymous`, a request without valid credentials goes
 * on as that consumer (several auth plugins then mean "any of them", see docs/authentication.md).
 *
 * @example
 * await createGateway({
 *   services: [{ name: 'api', url: 'http://127.0.0.1:3001', routes: [{ paths: ['/api'] }] }],
 *   consumers: [{ username: 'alice', credentials: { 'basic-auth': [{ username: 'alice', password: await hashPassword('s3cret') }] } }],
 *   plugins: [{ name: 'basic-auth', service: 'api', config: { realm: 'api' } }],
 * }, { plugins: [basicAuth] })
 */
export const basicAuth = definePlugin({
  name: NAME,
  version: manifest.version,
  priority: PRIORITY.auth - 100,
  description: 'Authenticates consumers by HTTP Basic credentials checked against scrypt or bcrypt hashes',
  schema: BasicAuthSchema,
  /** The consumers' basic-auth credentials and `anonymous`; `init` refuses the same problems. */
  validate(config, env) {
    return [
      ...indexCredentials(env, NAME).issues,
      ...authGuardIssues(env, { plugin: NAME, anonymous: config.anonymous }),
    ]
  },
  init(config, env) {
    const store = new CredentialStore(env, NAME, config.cacheSize)
    const guard = createAuthGuard(env, { plugin: NAME, anonymous: config.anonymous })
    const challenge = { 'www-authenticate': `Basic realm="${config.realm}", charset="UTF-8"` }
    if (store.size === 0 && config.anonymous === undefined) {
      env.log.warn('no consumer has a basic-auth credential: every request on this instance will be refused')
    }

    const handlers: PluginHandlers = {
      async access(ctx) {
        if (guard.skip(ctx)) return
        const headers = ctx.request.headers
        let parsed = parseBasic(headers.authorization)
        // Like Kong, credentials meant for a proxy are accepted too (core never forwards that header).
        if (parsed === 'missing') parsed = parseBasic(headers['proxy-authorization'])
        if (parsed === 'missing') return guard.fail(ctx, BasicMissing().withHeaders(challenge))
        if (parsed === 'malformed') return guard.fail(ctx, BasicMalformed().withHeaders(challenge))
        const owner = await store.verify(parsed.username, parsed.password)
        if (owner === undefined) return guard.fail(ctx, BasicInvalid().withHeaders(challenge))
        if (config.hideCredentials) delete ctx.upstream.headers.authorization
        guard.success(ctx, owner.consumer, { id: owner.username, plugin: NAME })
      },
    }
    return handlers
  },
})

export default basicAuth
