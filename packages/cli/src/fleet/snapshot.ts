import { createHash, createHmac, timingSafeEqual } from 'node:crypto'
import { type GatewayConfig, stableJson } from '@gatehousejs/sdk/config'

/**
 * A published configuration: immutable once written, addressed by the sha256 of its canonical form,
 * and signed so a node can tell it came from someone holding the fleet key. `config` is the file as
 * written, before `${ENV}` substitution: secrets stay references, resolved on each node.
 */
export interface Snapshot {
  /** Monotonic, from the store's counter (INCR). */
  version: number
  /** `sha256:<hex>` of the canonical JSON of `config`. */
  hash: string
  /** ISO 8601 time of publication. */
  createdAt: string
  message: string
  /** Set by `gatehouse rollback`: the version this one republishes. */
  rollbackOf?: number
  config: GatewayConfig
  /** `hmac-sha256:<hex>` over the canonical JSON of every other field. */
  signature?: string
}

/** What history and the stream say about a snapshot (no config). */
export type SnapshotSummary = Omit<Snapshot, 'config' | 'signature'>

/** Why a snapshot was refused; the message names the version. */
export class SnapshotRejectedError extends Error {
  readonly code: 'GH_FLEET_SNAPSHOT_UNSIGNED' | 'GH_FLEET_SIGNATURE_INVALID' | 'GH_FLEET_HASH_MISMATCH'
  constructor(code: SnapshotRejectedError['code'], message: string) {
    super(message)
    this.name = 'SnapshotRejectedError'
    this.code = code
  }
}

/**
 * Canonical JSON (RFC 8785 for the values a config holds: object keys sorted by code unit, no
 * whitespace, numbers and strings as ECMAScript's JSON.stringify writes them), so the same config
 * always has the same hash whatever the key order in the file.
 */
export const canonicalJson: (value: unknown) => string = stableJson

export function hashConfig(config: GatewayConfig): string {
  return `sha256:${createHash('sha256').update(canonicalJson(config)).digest('hex')}`
}

function signedPart(snapshot: Snapshot): string {
  const { signature: _ignored, ...rest } = snapshot
  return canonicalJson(rest)
}

export function sign(snapshot: Snapshot, key: string): Snapshot {
  const mac = createHmac('sha256', key).update(signedPart(snapshot)).digest('hex')
  return { ...snapshot, signature: `hmac-sha256:${mac}` }
}

/** Throws a SnapshotRejectedError unless the snapshot is signed with `key` and its hash is its config's. */
export function verify(snapshot: Snapshot, key: string): void {
  const v = snapshot.version
  if (typeof snapshot.signature !== 'string' || !snapshot.signature.startsWith('hmac-sha256:')) {
    throw new SnapshotRejectedError('GH_FLEET_SNAPSHOT_UNSIGNED', `snapshot v${v} is not signed: refused`)
  }
  const expected = Buffer.from(createHmac('sha256', key).update(signedPart(snapshot)).digest('hex'))
  const got = Buffer.from(snapshot.signature.slice('hmac-sha256:'.length))
  if (got.length !== expected.length || !timingSafeEqual(got, expected)) {
    throw new SnapshotRejectedError(
      'GH_FLEET_SIGNATURE_INVALID',
      `snapshot v${v} has a wrong signature (tampered with, or signed with another GATEHOUSE_CONFIG_KEY): refused`,
    )
  }
  if (hashConfig(snapshot.config) !== snapshot.hash) {
    throw new SnapshotRejectedError(
      'GH_FLEET_HASH_MISMATCH',
      `snapshot v${v}: its config does not match its hash ${snapshot.hash}: refused`,
    )
  }
}

export function summaryOf(snapshot: Snapshot): SnapshotSummary {
  const { config: _c, signature: _s, ...summary } = snapshot
  return summary
}

/** The key every node and `apply` share, from GATEHOUSE_CONFIG_KEY; a clear error without it. */
export function configKey(env: NodeJS.ProcessEnv = process.env): string {
  const key = env.GATEHOUSE_CONFIG_KEY
  if (!key || key.length < 32) {
    throw new FleetError(
      'GH_FLEET_KEY_MISSING',
      'GATEHOUSE_CONFIG_KEY must be set to the fleet signing key (at least 32 characters, the same on every node and where you apply), e.g. openssl rand -hex 32',
    )
  }
  return key
}

/** A fleet failure with a stable code (docs/errors.md § Fleet). */
export class FleetError extends Error {
  readonly code: string
  constructor(code: string, message: string) {
    super(message)
    this.name = 'FleetError'
    this.code = code
  }
}
