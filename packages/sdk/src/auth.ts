import { createRequire } from 'node:module'
import type { TSchema } from 'typebox'
import { Type } from 'typebox'
import type { AccessContext, Consumer, Credential } from './context.js'
import { ConfigError, type ConfigIssue, type GatehouseError } from './errors.js'
import type { ConsumerRecord, PluginCheckEnv, PluginEnv } from './plugin.js'

/**
 * The shared contract of auth plugins (key-auth, basic-auth, jwt, ...), so that several of them on one
 * route combine the same way Kong's do:
 *
 * - without `anonymous`, each auth plugin on the route must pass (logical AND): a failure ends the
 *   request with that plugin's 401;
 * - with `anonymous` on each of them, any one passing is enough (logical OR): a plugin that runs after
 *   another already identified a real consumer does nothing, and a failure lets the request go on as the
 *   anonymous consumer (core then sends `X-Anonymous-Consumer: true` upstream), which a later auth
 *   plugin may still replace with a real one. An `acl` plugin can then refuse the anonymous consumer.
 *
 * Identity headers are core's job: when a consumer is set, core puts the consumer and credential on
 * the upstream request as `X-Consumer-*` / `X-Credential-Identifier` / `X-Anonymous-Consumer`, and it
 * always drops those headers when the client sent them, on every route.
 */

/**
 * The JWS algorithms Gatehouse verifies (RFC 7518 §3.1; EdDSA, RFC 8037): what the jwt plugin's
 * `algorithms` and a consumer's jwt credential `algorithm` may name, and what `gatehouse import kong`
 * carries over. `none` is never one.
 */
export const JWS_ALGORITHMS = Object.freeze([
  'HS256',
  'HS384',
  'HS512',
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
] as const)
export type JwsAlgorithm = (typeof JWS_ALGORITHMS)[number]

/** The `anonymous` field every auth plugin's schema includes: a consumer id or username. */
export const AnonymousField = Type.Optional(
  Type.String({
    minLength: 1,
    description:
      'A consumer (id or username) to use when authentication fails, instead of answering 401; ' +
      'several auth plugins that all set it mean "any of them" (see docs/authentication.md)',
  }),
)

export interface AuthGuard {
  /** The anonymous consumer, when `anonymous` is configured. */
  readonly anonymous: Consumer | undefined
  /**
   * True when this plugin has `anonymous` set and an earlier auth plugin already identified a real
   * (non-anonymous) consumer on this request: logical OR, so this plugin returns without checking.
   */
  skip(ctx: AccessContext): boolean
  /** Authentication succeeded: sets the consumer and credential (core then sends identity headers). */
  success(ctx: AccessContext, consumer: Consumer, credential: Credential): void
  /**
   * Authentication failed: with `anonymous`, the request goes on as the anonymous consumer (unless a
   * consumer is already set); without it, `error` is thrown (so each auth plugin must pass: AND).
   */
  fail(ctx: AccessContext, error: GatehouseError): void
}

/**
 * The consumer as plugins and handlers see it: without its credentials (a ConsumerRecord carries
 * hashes and keys, which must never reach `ctx.consumer`, logs or other plugins).
 */
const publicViews = new WeakMap<Consumer, Consumer>()
export function publicConsumer(consumer: Consumer | ConsumerRecord): Consumer {
  if (!('credentials' in consumer)) return consumer
  let view = publicViews.get(consumer)
  if (view === undefined) {
    view = Object.freeze({
      id: consumer.id,
      username: consumer.username,
      customId: consumer.customId,
      groups: consumer.groups,
    })
    publicViews.set(consumer, view)
  }
  return view
}

/** The consumer whose id, or else whose username, is `ref`. */
export function findConsumer(consumers: readonly ConsumerRecord[], ref: string): ConsumerRecord | undefined {
  return consumers.find((c) => c.id === ref) ?? consumers.find((c) => c.username === ref)
}

/**
 * What {@link createAuthGuard} would refuse, for an auth plugin's `validate`: `anonymous` naming no
 * consumer (pointer `/config/anonymous`). Empty when the options are fine.
 *
 * @example
 * validate(config, env) {
 *   return authGuardIssues(env, { plugin: 'key-auth', anonymous: config.anonymous })
 * }
 */
export function authGuardIssues(
  env: Pick<PluginCheckEnv, 'consumers'>,
  options: { plugin: string; anonymous?: string },
): ConfigIssue[] {
  const ref = options.anonymous
  if (ref === undefined || findConsumer(env.consumers, ref)) return []
  return [
    {
      pointer: '/config/anonymous',
      plugin: options.plugin,
      message: `no consumer with id or username "${ref}"`,
    },
  ]
}

/**
 * Built in `init`; throws what {@link authGuardIssues} finds (call that in `validate`) as a ConfigError.
 *
 * @example
 * const guard = createAuthGuard(env, { plugin: 'key-auth', anonymous: config.anonymous })
 * return {
 *   access(ctx) {
 *     if (guard.skip(ctx)) return
 *     const found = lookup(ctx)
 *     if (!found) return guard.fail(ctx, KeyInvalid())
 *     guard.success(ctx, found.consumer, { id: found.id, plugin: 'key-auth' })
 *   },
 * }
 */
export function createAuthGuard(
  env: Pick<PluginEnv, 'consumers'>,
  options: { plugin: string; anonymous?: string },
): AuthGuard {
  const issues = authGuardIssues(env, options)
  if (issues.length > 0) throw new ConfigError(issues)
  const record = options.anonymous === undefined ? undefined : findConsumer(env.consumers, options.anonymous)
  const anonymous = record && publicConsumer(record)
  return {
    anonymous,
    skip(ctx) {
      return anonymous !== undefined && ctx.consumer !== undefined && !ctx.anonymous
    },
    success(ctx, consumer, credential) {
      ctx.setConsumer(publicConsumer(consumer), credential, { anonymous: false })
    },
    fail(ctx, error) {
      if (anonymous === undefined) throw error
      if (ctx.consumer === undefined) ctx.setConsumer(anonymous, undefined, { anonymous: true })
    },
  }
}

/** One credential of one consumer, for an auth plugin to index at `init`. */
export interface CredentialEntry<T = Readonly<Record<string, unknown>>> {
  readonly consumer: ConsumerRecord
  readonly credential: T
  /** Its JSON pointer in the gateway configuration, e.g. `/consumers/2/credentials/key-auth/0`. */
  readonly pointer: string
}

type ValueToolkit = typeof import('typebox/value').Value
let valueToolkit: ValueToolkit | undefined
/**
 * TypeBox's value toolkit, loaded the first time a credential schema is checked: about 2 MiB of heap
 * that a gateway without an auth plugin (every gateway process imports this module) never needs.
 * `require` of the ESM package gives the same module instance that `import` does (Node >= 20.19).
 */
function typeboxValue(): ValueToolkit {
  valueToolkit ??= (createRequire(import.meta.url)('typebox/value') as { Value: ValueToolkit }).Value
  return valueToolkit
}

/** RFC 6901: `~` and `/` in a pointer segment. */
export function pointerSegment(segment: string | number): string {
  return String(segment).replace(/~/g, '~0').replace(/\//g, '~1')
}

/**
 * Every consumer's credentials for `plugin` (`consumers[i].credentials['<plugin>']`), each checked
 * against `schema` when one is given: the well-formed entries, and one issue per bad field by its
 * pointer (`/consumers/2/credentials/key-auth/0/key`). For an auth plugin's `validate` (return
 * `issues`, then check `entries` with {@link credentialIssue}); `init` uses {@link credentialsOf}.
 */
export function readCredentials<T = Readonly<Record<string, unknown>>>(
  env: Pick<PluginCheckEnv, 'consumers'>,
  plugin: string,
  schema?: TSchema,
): { entries: CredentialEntry<T>[]; issues: ConfigIssue[] } {
  const entries: CredentialEntry<T>[] = []
  const issues: ConfigIssue[] = []
  env.consumers.forEach((consumer, ci) => {
    const list = consumer.credentials[plugin]
    if (!list) return
    const base = `${consumer.pointer ?? `/consumers/${ci}`}/credentials/${pointerSegment(plugin)}`
    list.forEach((credential, i) => {
      const pointer = `${base}/${i}`
      if (schema) {
        const errors = typeboxValue().Errors(schema, credential)
        // `additionalProperties: false` is reported twice (the property, then the object): keep one.
        const useful = errors.filter((e) => e.keyword !== 'boolean' || errors.length === 1)
        for (const e of useful) {
          const extra = (e.params as { additionalProperties?: string[] }).additionalProperties
          issues.push({
            pointer: pointer + e.instancePath,
            plugin,
            message: extra ? `${e.message}: ${extra.join(', ')}` : e.message,
          })
        }
        if (useful.length > 0) return
      }
      entries.push({ consumer, credential: credential as T, pointer })
    })
  })
  return { entries, issues }
}

/**
 * The well-formed entries of {@link readCredentials}, for `init`; throws one ConfigError naming every
 * bad entry by its pointer, so a plugin's own semantic checks can follow with {@link credentialIssue}
 * on entries already known to be well-formed.
 */
export function credentialsOf<T = Readonly<Record<string, unknown>>>(
  env: Pick<PluginEnv, 'consumers'>,
  plugin: string,
  schema?: TSchema,
): CredentialEntry<T>[] {
  const { entries, issues } = readCredentials<T>(env, plugin, schema)
  if (issues.length > 0) throw new ConfigError(issues)
  return entries
}

/** A ConfigIssue for one field of a credential entry, for a plugin's own checks (in `validate`). */
export function credentialIssue(
  entry: CredentialEntry<unknown>,
  field: string | undefined,
  plugin: string,
  message: string,
): ConfigIssue {
  return { pointer: field ? `${entry.pointer}/${pointerSegment(field)}` : entry.pointer, plugin, message }
}
