import {
  type ConfigIssue,
  type ConsumerRecord,
  findConsumer,
  type Logger,
  type PluginCheckEnv,
  pointerSegment,
  readCredentials,
} from '@gatehousejs/sdk'
import { KeySet } from './jwks.js'
import { buildVerifier, type ClaimOptions, importKey, KeyProblem } from './keys.js'
import { type Algorithm, type CredentialConfig, CredentialSchema, type JwtConfig } from './schema.js'
import type { SharedKeySetStore } from './shared-store.js'
import type { Candidate, KeyRing } from './verify.js'

const PLUGIN = 'jwt'

function push(map: Map<string, Candidate[]>, key: string, candidate: Candidate): void {
  const list = map.get(key)
  if (list) list.push(candidate)
  else map.set(key, [candidate])
}

/** The fast-jwt claim options of one instance: `issuers`/`audiences` make `iss`/`aud` required too. */
export function claimOptionsOf(config: JwtConfig): ClaimOptions {
  const required = new Set(config.requiredClaims)
  if (config.issuers) required.add('iss')
  if (config.audiences) required.add('aud')
  if (config.maximumExpiration > 0) required.add('exp')
  return {
    clockTolerance: config.clockSkew,
    ...(config.issuers ? { allowedIss: [...config.issuers] } : {}),
    ...(config.audiences ? { allowedAud: [...config.audiences] } : {}),
    requiredClaims: [...required],
  }
}

/**
 * Every key of one instance, imported and with its verifier built, from the plugin config (`keys`,
 * `jwks`) and the consumers' `credentials.jwt`. Collects one ConfigIssue per bad entry, each naming
 * its field by JSON pointer (the ring is not to be used when there are any). Pure: `validate` calls
 * it without `io`, and then no key set is made (fetching one is `check`'s and the ring's job).
 */
export function buildKeyRing(
  config: JwtConfig,
  env: Pick<PluginCheckEnv, 'consumers'>,
  io?: { store: SharedKeySetStore | undefined; log: Logger },
): { ring: KeyRing; issues: ConfigIssue[] } {
  const claims = claimOptionsOf(config)
  const issues: ConfigIssue[] = []
  const credentials = new Map<string, Candidate[]>()
  const byKid = new Map<string, Candidate[]>()
  const byIssuer = new Map<string, Candidate[]>()
  const anyToken: Candidate[] = []

  function consumerRef(ref: string | undefined, pointer: string): ConsumerRecord | undefined {
    if (ref === undefined) return undefined
    const consumer = findConsumer(env.consumers, ref)
    if (!consumer)
      issues.push({ pointer, plugin: PLUGIN, message: `no consumer with id or username "${ref}"` })
    return consumer
  }

  // Consumer credentials (Kong's jwt_secrets): malformed entries are issues, the others are imported.
  const credentialEntries = readCredentials<CredentialConfig>(env, PLUGIN, CredentialSchema)
  issues.push(...credentialEntries.issues)
  for (const entry of credentialEntries.entries) {
    const algorithm: Algorithm = entry.credential.algorithm ?? 'HS256'
    try {
      const key = buildVerifier(importKey(entry.credential, algorithm), [algorithm], claims)
      push(credentials, entry.credential.key, { key, id: entry.credential.key, consumer: entry.consumer })
    } catch (err) {
      issues.push(problemIssue(err, entry.pointer))
    }
  }

  config.keys.forEach((k, i) => {
    const pointer = `/config/keys/${i}`
    const consumer = consumerRef(k.consumer, `${pointer}/consumer`)
    try {
      const key = buildVerifier(importKey(k, k.algorithm), [k.algorithm], claims)
      const candidate: Candidate = {
        key,
        id: k.kid ?? k.issuer ?? `key-${i}`,
        consumer,
        ...(k.kid !== undefined && k.issuer !== undefined ? { issuer: k.issuer } : {}),
      }
      if (k.kid !== undefined) push(byKid, k.kid, candidate)
      else if (k.issuer !== undefined) push(byIssuer, k.issuer, candidate)
      else anyToken.push(candidate)
    } catch (err) {
      issues.push(problemIssue(err, pointer))
    }
  })

  const jwksConsumers = config.jwks.map((j, i) => consumerRef(j.consumer, `/config/jwks/${i}/consumer`))
  const keySets =
    io === undefined
      ? []
      : config.jwks.map(
          (j, i) =>
            new KeySet({
              url: j.url,
              issuer: j.issuer,
              algorithms: j.algorithms,
              consumer: jwksConsumers[i],
              refreshInterval: config.jwksRefreshInterval,
              cacheTtl: config.jwksCacheTtl,
              maxTtl: config.jwksMaxTtl,
              timeout: config.jwksTimeout,
              claims,
              store: io.store,
              log: io.log,
            }),
        )

  return {
    ring: { keyClaim: config.keyClaim, credentials, byKid, byIssuer, anyToken, keySets },
    issues,
  }
}

/** A KeyProblem (or a fast-jwt refusal of the key) as a ConfigIssue on the right field of an entry. */
function problemIssue(err: unknown, entry: string): ConfigIssue {
  if (err instanceof KeyProblem) {
    // A nested field ("jwk/kty") is a pointer path; each segment is escaped on its own.
    const field = err.field ? `/${err.field.split('/').map(pointerSegment).join('/')}` : ''
    return { pointer: entry + field, plugin: PLUGIN, message: err.message }
  }
  return {
    pointer: entry,
    plugin: PLUGIN,
    message: `the key cannot be used: ${(err as Error)?.message ?? String(err)}`,
  }
}
