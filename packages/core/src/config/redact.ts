import type { GatewayConfig } from '@gatehousejs/sdk/config'
import type { PluginInstanceSummary } from '../model.js'

/**
 * Secrets out of a configuration before anyone sees it (the admin API's `GET /config`, the status
 * listener's config hash): fields plugins mark `Secret()`, credentials, pointers a caller names.
 */

const REDACTED = '[redacted]'
/** Credential fields that identify rather than prove: shown; every other credential field is redacted. */
const CREDENTIAL_IDENTIFIERS = new Set(['id', 'username', 'algorithm', 'kid', 'iss', 'issuer'])

function pointerGet(root: unknown, pointer: string): unknown {
  if (pointer === '') return root
  let node = root as Record<string, unknown> | undefined
  for (const raw of pointer.slice(1).split('/')) {
    const seg = raw.replace(/~1/g, '/').replace(/~0/g, '~')
    if (node === null || typeof node !== 'object') return undefined
    node = (node as Record<string, unknown>)[seg] as Record<string, unknown> | undefined
  }
  return node
}

function pointerRedact(root: unknown, pointer: string): void {
  const segs = pointer.slice(1).split('/')
  const last = segs.pop()
  if (last === undefined) return
  const parent = pointerGet(root, segs.length ? `/${segs.join('/')}` : '')
  const key = last.replace(/~1/g, '/').replace(/~0/g, '~')
  if (parent && typeof parent === 'object' && key in (parent as object)) {
    ;(parent as Record<string, unknown>)[key] = REDACTED
  }
}

/** Replaces every value whose schema node is a `Secret()` with `[redacted]`. */
function redactBySchema(value: unknown, schema: unknown): unknown {
  if (!schema || typeof schema !== 'object') return value
  const s = schema as Record<string, unknown>
  if (s.gatehouse === 'secret' || s.writeOnly === true) return value === undefined ? value : REDACTED
  let out = value
  for (const key of ['anyOf', 'oneOf', 'allOf']) {
    const list = s[key]
    if (Array.isArray(list)) for (const sub of list) out = redactBySchema(out, sub)
  }
  if (Array.isArray(out)) return out.map((v) => redactBySchema(v, s.items))
  if (out && typeof out === 'object') {
    const props = (s.properties ?? {}) as Record<string, unknown>
    const obj = out as Record<string, unknown>
    for (const k of Object.keys(obj)) {
      const sub =
        props[k] ?? (typeof s.additionalProperties === 'object' ? s.additionalProperties : undefined)
      if (sub) obj[k] = redactBySchema(obj[k], sub)
    }
  }
  return out
}

/**
 * The running config with secrets replaced: fields plugins mark `Secret()`, every credential field
 * that is not an identifier, and any pointer in `extra`.
 */
export function redactConfig(
  config: GatewayConfig,
  plugins: readonly Pick<PluginInstanceSummary, 'pointer' | 'schema'>[],
  extra: Iterable<string> = [],
): GatewayConfig {
  const copy = structuredClone(config) as GatewayConfig
  for (const inst of plugins) {
    const entry = pointerGet(copy, inst.pointer) as { config?: unknown } | undefined
    if (entry && typeof entry === 'object' && entry.config !== undefined && inst.schema) {
      entry.config = redactBySchema(entry.config, inst.schema)
    }
  }
  for (const consumer of copy.consumers ?? []) {
    for (const list of Object.values(consumer.credentials ?? {})) {
      for (const cred of list) {
        for (const k of Object.keys(cred)) if (!CREDENTIAL_IDENTIFIERS.has(k)) cred[k] = REDACTED
      }
    }
  }
  for (const pointer of extra) pointerRedact(copy, pointer)
  return copy
}
