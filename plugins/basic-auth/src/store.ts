import { createHmac, randomBytes } from 'node:crypto'
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
import { type PasswordHash, parseHash, verifyPassword } from './hash.js'
import { type BasicCredential, BasicCredentialSchema } from './schema.js'

export interface BasicOwner {
  readonly consumer: Consumer
  readonly username: string
  readonly hash: PasswordHash
}

/**
 * Every consumer's basic-auth credentials by user name, with their parsed hashes, and the problems
 * found: malformed entries, a password that is not a supported hash, one user name given twice. Pure:
 * the plugin's `validate` returns the issues, `CredentialStore` refuses them.
 */
export function indexCredentials(
  env: Pick<PluginCheckEnv, 'consumers'>,
  plugin: string,
): { byUsername: Map<string, BasicOwner>; issues: ConfigIssue[] } {
  const { entries, issues } = readCredentials<BasicCredential>(env, plugin, BasicCredentialSchema)
  const byUsername = new Map<string, BasicOwner>()
  const seen = new Map<string, string>()
  for (const entry of entries) {
    const { username, password } = entry.credential
    const hash = parseHash(password)
    if (typeof hash === 'string') {
      issues.push(credentialIssue(entry, 'password', plugin, hash))
      continue
    }
    const first = seen.get(username)
    if (first !== undefined) {
      issues.push(
        credentialIssue(entry, 'username', plugin, `user name "${username}" is already used at ${first}`),
      )
      continue
    }
    seen.set(username, entry.pointer)
    byUsername.set(username, { consumer: publicConsumer(entry.consumer), username, hash })
  }
  return { byUsername, issues }
}

/**
 * The basic-auth credentials of every consumer, by user name, with their parsed hashes. A check for an
 * unknown user name still runs a hash of the same kind (on a decoy), so the time an answer takes does
 * not tell which user names exist. Verified pairs are remembered as HMACs under a key made at start,
 * never as passwords, in a small LRU so a client's next request skips the slow hash.
 */
export class CredentialStore {
  private readonly byUsername: Map<string, BasicOwner>
  private readonly decoy: PasswordHash | undefined
  private readonly cache = new Map<string, BasicOwner>()
  private readonly cacheKey = randomBytes(32)

  constructor(
    env: Pick<PluginEnv, 'consumers'>,
    plugin: string,
    private readonly cacheSize: number,
  ) {
    const { byUsername, issues } = indexCredentials(env, plugin)
    if (issues.length > 0) throw new ConfigError(issues)
    this.byUsername = byUsername
    // The decoy costs what the first configured hash costs (same kind and parameters).
    this.decoy = byUsername.values().next().value?.hash
  }

  get size(): number {
    return this.byUsername.size
  }

  /** The owner when `username` exists and `password` matches its hash. */
  async verify(username: string, password: string): Promise<BasicOwner | undefined> {
    const tag = this.cacheSize > 0 ? this.tag(username, password) : ''
    if (tag !== '') {
      const hit = this.cache.get(tag)
      if (hit !== undefined) {
        // Move to the end: the map's order is the LRU order.
        this.cache.delete(tag)
        this.cache.set(tag, hit)
        return hit
      }
    }
    const owner = this.byUsername.get(username)
    if (owner === undefined) {
      if (this.decoy !== undefined) await verifyPassword(password, this.decoy).catch(() => false)
      return undefined
    }
    if (!(await verifyPassword(password, owner.hash))) return undefined
    if (tag !== '') {
      if (this.cache.size >= this.cacheSize) this.cache.delete(this.cache.keys().next().value!)
      this.cache.set(tag, owner)
    }
    return owner
  }

  private tag(username: string, password: string): string {
    return createHmac('sha256', this.cacheKey).update(username).update('\0').update(password).digest('base64')
  }
}
