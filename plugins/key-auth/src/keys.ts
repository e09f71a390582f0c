import { createHash, timingSafeEqual } from 'node:crypto'
import {
  ConfigError,
  type ConfigIssue,
  type Consumer,
  credentialIssue,
  credentialsOf,
  type PluginEnv,
  publicConsumer,
} from '@gatehousejs/sdk'
import { type KeyCredential, KeyCredentialSchema } from './schema.js'

export interface KeyOwner {
  readonly consumer: Consumer
  /** Sent upstream as X-Credential-Identifier: never the key. */
  readonly credentialId: string
  readonly digest: Buffer
}

/**
 * The keys of every consumer, held only as SHA-256 digests: the configured keys are not kept once
 * `init` returns (a heap dump shows digests, not keys). A presented key is hashed and looked up by its
 * digest; hashing first means the map lookup leaks nothing usable about a stored key's bytes, and the
 * final comparison is constant-time all the same.
 */
export class KeyStore {
  private readonly byDigest = new Map<string, KeyOwner>()

  constructor(env: PluginEnv, plugin: string) {
    const entries = credentialsOf<KeyCredential>(env, plugin, KeyCredentialSchema)
    const issues: ConfigIssue[] = []
    const seen = new Map<string, string>()
    entries.forEach((entry) => {
      const { key, keySha256, id } = entry.credential
      if ((key === undefined) === (keySha256 === undefined)) {
        issues.push(credentialIssue(entry, undefined, plugin, 'give exactly one of "key" and "keySha256"'))
        return
      }
      const digest = key !== undefined ? sha256(key) : Buffer.from(keySha256!, 'hex')
      const hex = digest.toString('hex')
      const first = seen.get(hex)
      if (first !== undefined) {
        issues.push(
          credentialIssue(entry, key !== undefined ? 'key' : 'keySha256', plugin, `the same key as ${first}`),
        )
        return
      }
      seen.set(hex, entry.pointer)
      const credentialId =
        id ?? `${entry.consumer.id}/${plugin}/${entry.pointer.slice(entry.pointer.lastIndexOf('/') + 1)}`
      this.byDigest.set(hex, { consumer: publicConsumer(entry.consumer), credentialId, digest })
    })
    if (issues.length > 0) throw new ConfigError(issues)
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
