import { createHash, timingSafeEqual } from 'node:crypto'
import {
  ConfigError,
  type ConfigIssue,
  type Consumer,
  credentialIssue,
  type PluginCheckEnv,
  type PluginEnv,
  publicConsumer,
  readCredentials,
} from '@gatehousejs/sdk'
import { type KeyCredential, KeyCredentialSchema } from './schema.js'

export interface KeyOwner {
  readonly consumer: Consumer
  /** Sent upstream as X-Credential-Identifier: never the key. */
  readonly credentialId: string
  readonly digest: Buffer
}

/**
 * Every consumer's key-auth credentials by the hex SHA-256 digest of the key, and the problems found:
 * malformed entries, neither or both of `key` and `keySha256`, and one key given twice. Pure: the
 * plugin's `validate` returns the issues, `KeyStore` refuses them.
 */
export function indexKeys(
  env: Pick<PluginCheckEnv, 'consumers'>,
  plugin: string,
): { byDigest: Map<string, KeyOwner>; issues: ConfigIssue[] } {
  const { entries, issues } = readCredentials<KeyCredential>(env, plugin, KeyCredentialSchema)
  const byDigest = new Map<string, KeyOwner>()
  const seen = new Map<string, string>()
  for (const entry of entries) {
    const { key, keySha256, id } = entry.credential
    if ((key === undefined) === (keySha256 === undefined)) {
      issues.push(credentialIssue(entry, undefined, plugin, 'give exactly one of "key" and "keySha256"'))
      continue
    }
    const digest = key !== undefined ? sha256(key) : Buffer.from(keySha256!, 'hex')
    const hex = digest.toString('hex')
    const first = seen.get(hex)
    if (first !== undefined) {
      issues.push(
        credentialIssue(entry, key !== undefined ? 'key' : 'keySha256', plugin, `the same key as ${first}`),
      )
      continue
    }
    seen.set(hex, entry.pointer)
    const credentialId =
      id ?? `${entry.consumer.id}/${plugin}/${entry.pointer.slice(entry.pointer.lastIndexOf('/') + 1)}`
    byDigest.set(hex, { consumer: publicConsumer(entry.consumer), credentialId, digest })
  }
  return { byDigest, issues }
}

/**
 * The keys of every consumer, held only as SHA-256 digests: the configured keys are not kept once
 * `init` returns (a heap dump shows digests, not keys). A presented key is hashed and looked up by its
 * digest; hashing first means the map lookup leaks nothing usable about a stored key's bytes, and the
 * final comparison is constant-time all the same.
 */
export class KeyStore {
  private readonly byDigest: Map<string, KeyOwner>

  constructor(env: Pick<PluginEnv, 'consumers'>, plugin: string) {
    const { byDigest, issues } = indexKeys(env, plugin)
    if (issues.length > 0) throw new ConfigError(issues)
    this.byDigest = byDigest
  }

  get size(): number {
    return this.byDigest.size
  }

  /** The owner of `key`, or undefined. */
  find(key: string): KeyOwner | undefined {
    const digest = sha256(key)
    const owner = this.byDigest.get(digest.toString('hex'))
    return owner !== undefined && timingSafeEqual(owner.digest, digest) ? owner : undefined
  }
}

function sha256(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest()
}
