import { dirname, resolve } from 'node:path'
import type { ConfigIssue, PluginDefinition } from '@gatehousejs/sdk'
import type { GatewayConfig, TlsConfig } from '@gatehousejs/sdk/config'
import { loadTls } from '../server/tls.js'
import { validateGatewayConfig, validateWith } from './ajv.js'
import { checkConsumers } from './consumers.js'
import {
  checkInstances,
  pluginIssues,
  pluginRegistry,
  runPluginChecks,
  unshareInstanceConfigs,
} from './instances.js'
import type { Plan, PlanOptions } from './plan.js'
import { compileRedisSection } from './redis.js'
import { checkServices } from './services.js'
import { compileTrust } from './trust.js'

/**
 * Step 1 of a load (docs/architecture.md, "The generation model"): the whole configuration checked
 * and normalised, with no side effect. Nothing here opens a socket, starts a timer, watches a file or
 * calls a plugin's `init`: `gatehouse validate` runs this step alone. Each concept is checked in its
 * own module (services.ts, consumers.ts, references.ts, instances.ts, redis.ts) into the plan (plan.ts).
 */

/**
 * Validates `input` (a copy of it: the caller's object is not touched). The schema is checked first;
 * references, consumers and plugin instances are checked even when the schema found problems, so one
 * run reports everything. A problem the schema already reported at a pointer is not repeated there.
 */
export function planGeneration(input: GatewayConfig, opts: PlanOptions): Plan {
  const config = structuredClone(input ?? {}) as GatewayConfig
  const schemaIssues = validateWith(validateGatewayConfig, config, '')
  const plan: Plan = {
    config,
    services: new Map(),
    routes: [],
    mirrors: new Map(),
    consumers: [],
    planned: [],
    trust: () => false,
    redis: { connections: {}, key: '' },
    issues: [],
  }
  if (config === null || typeof config !== 'object' || Array.isArray(config)) {
    plan.issues = schemaIssues
    return plan
  }
  unshareInstanceConfigs(config)
  const issues: ConfigIssue[] = []
  try {
    plan.redis = compileRedisSection(config.redis, issues)
    checkServices(config, plan, opts, issues)
    const consumerIndex = checkConsumers(config, plan, issues)
    checkInstances(config, plan, opts, consumerIndex, issues)
    try {
      plan.trust = compileTrust(config.trustProxy)
    } catch (err) {
      issues.push({ pointer: '/trustProxy', message: (err as Error).message })
    }
  } catch (err) {
    // Only a shape the schema refused can make a check throw: those problems are reported already.
    if (schemaIssues.length === 0) throw err
  }
  const reported = new Set(schemaIssues.map((i) => i.pointer))
  plan.issues = [...schemaIssues, ...issues.filter((i) => !reported.has(i.pointer))]
  return plan
}

export interface ValidateOptions {
  /** The plugin definitions the configuration may name (as `createGateway`'s `plugins`). */
  plugins?: readonly PluginDefinition[]
  /** The file the configuration came from: named in each issue; relative TLS paths are read from its folder. */
  file?: string
  /** Also run each plugin's `check`, which may do I/O (a JWKS URL answers). Default false. */
  online?: boolean
}

/** What {@link validateConfig} found. */
export interface ConfigValidation {
  valid: boolean
  /** Every problem, each with its JSON pointer (and plugin, and file when given). */
  issues: ConfigIssue[]
  /** Routes and enabled plugin instances the configuration declares. */
  routes: number
  instances: number
}

/**
 * Checks a configuration as `createGateway` would, without building anything: no socket, timer,
 * file watcher or network (plugins' `init` is not called; TLS certificate files are read). Reports
 * every problem at once: schema, references, unknown plugins (with "did you mean"), each instance's
 * config and its plugin's `validate`; with `online`, its plugin's `check` too.
 *
 * @example
 * const { valid, issues } = await validateConfig(config, { plugins: [jwt, rateLimit] })
 */
export async function validateConfig(
  config: GatewayConfig,
  options: ValidateOptions = {},
): Promise<ConfigValidation> {
  const { registry, issues } = pluginRegistry(options.plugins)
  const plan = planGeneration(config, { plugins: registry, hints: true })
  issues.push(...plan.issues)
  issues.push(...(await runPluginChecks(plan, 'validate')))
  if (options.online) issues.push(...(await runPluginChecks(plan, 'check')))
  const tls = (config as { tls?: unknown } | undefined)?.tls
  if (tls !== null && typeof tls === 'object' && !issues.some((i) => i.pointer.startsWith('/tls'))) {
    try {
      loadTls(
        structuredClone(tls) as TlsConfig,
        options.file === undefined ? process.cwd() : dirname(resolve(options.file)),
      )
    } catch (err) {
      issues.push(...pluginIssues(err, '/tls', '', 'reading certificates').map(({ plugin: _p, ...i }) => i))
    }
  }
  if (config?.http2 === true && tls === undefined)
    issues.push({ pointer: '/http2', message: 'HTTP/2 is served over TLS only (ALPN): configure `tls` too' })
  const located = options.file ? issues.map((i) => ({ ...i, file: i.file ?? options.file })) : issues
  return {
    valid: located.length === 0,
    issues: located,
    routes: plan.routes.length,
    instances: plan.planned.length,
  }
}
