import type { ConfigIssue, ConsumerRecord, PluginDefinition, PluginScope } from '@gatehousejs/sdk'
import type { GatewayConfig, NestedPluginConfig, RedisConnectionConfig } from '@gatehousejs/sdk/config'
import type { CompiledRoute, CompiledService, Generation, MirrorRule } from '../model.js'
import type { TrustFn } from './trust.js'

/**
 * The plan: what step 1 of a load (config/validate.ts) makes of a configuration, checked and
 * normalised, and what steps 2 to 4 build a generation from.
 */
export interface Plan {
  /** The validated copy, defaults filled in, durations in milliseconds, sizes in bytes. */
  config: GatewayConfig
  services: Map<string, CompiledService>
  routes: RouteDraft[]
  mirrors: Map<string, MirrorRule[]>
  consumers: ConsumerRecord[]
  /** The enabled plugin instances, each with its definition and validated config: what step 2 builds. */
  planned: PlannedInstance[]
  trust: TrustFn
  /** The top-level `redis` section, validated, for `env.redis`; `key` changes when the section does. */
  redis: { connections: Readonly<Record<string, RedisConnectionConfig>>; key: string }
  /** Every problem found; the plan is usable only when this is empty. */
  issues: ConfigIssue[]
}

/** A route before its chains are compiled (step 4), with the declaration it came from. */
export interface RouteDraft {
  pointer: string
  route: Omit<CompiledRoute, 'chain' | 'consumerChains'>
  input: RouteInput
}

export type RouteInput = NonNullable<NonNullable<GatewayConfig['services']>[number]['routes']>[number]

/** A plugin instance as declared: its place, scope and (once checked) definition and config. */
export interface PlannedInstance {
  decl: NestedPluginConfig
  scope: PluginScope
  pointer: string
  def: PluginDefinition
  config: Record<string, unknown>
  /** Identity across reloads: same plugin, version, scope, consumers and config reuse the instance. */
  reuseKey: string
}

export interface PlanOptions {
  plugins: ReadonlyMap<string, PluginDefinition>
  /** The running generation: a balanced service keeps its targets' health state across a reload. */
  previous?: Generation | undefined
  /**
   * Append "did you mean" to messages about unknown names (plugins, routes, services, consumers).
   * `validateConfig` does; a load keeps its messages as they were (callers match them exactly).
   */
  hints?: boolean
}

/** The entries of a list the schema may have refused: only objects, none when it is not an array. */
export function list<T>(value: T[] | undefined): T[] {
  return Array.isArray(value) ? value.filter((v) => v !== null && typeof v === 'object') : []
}
