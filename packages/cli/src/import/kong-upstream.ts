import type { BalancingConfig, HealthChecksConfig, TargetConfig } from '@gatehousejs/sdk/config'
import { asArray, isObject } from './names.js'
import type { ImportResult } from './output.js'

/** What a Kong upstream becomes on the service that uses it. */
export interface UpstreamParts {
  targets: TargetConfig[]
  balancing?: BalancingConfig
  healthchecks?: HealthChecksConfig
}

const num = (v: unknown): number => (typeof v === 'number' ? v : 0)

/** A Kong upstream (algorithm, hashing, health checks, targets) → a service's targets and policies. */
export function convertKongUpstream(
  u: Record<string, unknown>,
  at: string,
  protocol: string,
  out: ImportResult,
): UpstreamParts {
  const targets: TargetConfig[] = []
  asArray(u.targets).forEach((t, i) => {
    if (!isObject(t) || typeof t.target !== 'string') {
      out.warn(`${at}/targets/${i}`, 'a target needs target: host:port; left out')
      return
    }
    const hostPort =
      t.target.includes(':') || t.target.startsWith('[')
        ? t.target
        : `${t.target}:${protocol === 'https' ? 443 : 8000}`
    const target: TargetConfig = { url: `${protocol}://${hostPort}` }
    if (typeof t.weight === 'number') target.weight = t.weight
    targets.push(target)
  })
  const parts: UpstreamParts = { targets }

  const balancing: BalancingConfig = {}
  const algorithm = typeof u.algorithm === 'string' ? u.algorithm : 'round-robin'
  if (algorithm === 'consistent-hashing' || algorithm === 'least-connections') balancing.algorithm = algorithm
  else if (algorithm !== 'round-robin')
    out.warn(`${at}/algorithm`, `algorithm ${algorithm} has no equivalent; round-robin stands in`)
  const hashOn = typeof u.hash_on === 'string' ? u.hash_on : 'none'
  if (algorithm === 'consistent-hashing') {
    if (hashOn === 'ip' || hashOn === 'consumer' || hashOn === 'header' || hashOn === 'cookie')
      balancing.hashOn = hashOn
    else out.warn(`${at}/hash_on`, `hash_on ${hashOn} has no equivalent; the client IP stands in`)
    if (hashOn === 'header' && typeof u.hash_on_header === 'string')
      balancing.hashOnHeader = u.hash_on_header.toLowerCase()
    if (hashOn === 'cookie' && typeof u.hash_on_cookie === 'string') balancing.hashOnCookie = u.hash_on_cookie
    if (typeof u.hash_fallback === 'string' && u.hash_fallback !== 'none' && u.hash_fallback !== 'ip')
      out.warn(
        `${at}/hash_fallback`,
        `hash_fallback ${u.hash_fallback}: Gatehouse falls back to the client IP`,
      )
  }
  if (Object.keys(balancing).length > 0) parts.balancing = balancing

  const hc = isObject(u.healthchecks) ? u.healthchecks : {}
  const checks: HealthChecksConfig = {}
  const active = isObject(hc.active) ? hc.active : {}
  const aHealthy = isObject(active.healthy) ? active.healthy : {}
  const aUnhealthy = isObject(active.unhealthy) ? active.unhealthy : {}
  const interval = num(aHealthy.interval) || num(aUnhealthy.interval)
  if (interval > 0) {
    if (num(aHealthy.interval) && num(aUnhealthy.interval) && aHealthy.interval !== aUnhealthy.interval)
      out.warn(
        `${at}/healthchecks/active/unhealthy/interval`,
        'Gatehouse probes healthy and unhealthy targets at one interval: the healthy one is used',
      )
    const a: NonNullable<HealthChecksConfig['active']> = { interval: `${interval}s` }
    if (typeof active.http_path === 'string') a.path = active.http_path
    if (typeof active.timeout === 'number') a.timeout = `${active.timeout}s`
    if (Array.isArray(aHealthy.http_statuses) && aHealthy.http_statuses.length > 0)
      a.healthyStatuses = aHealthy.http_statuses as number[]
    if (num(aHealthy.successes) > 0) a.healthyThreshold = num(aHealthy.successes)
    const failures = Math.max(
      num(aUnhealthy.http_failures),
      num(aUnhealthy.tcp_failures),
      num(aUnhealthy.timeouts),
    )
    if (failures > 0) a.unhealthyThreshold = failures
    if (typeof active.type === 'string' && active.type !== 'http')
      out.warn(
        `${at}/healthchecks/active/type`,
        `active checks of type ${active.type}: Gatehouse probes with HTTP${active.type === 'https' ? 'S (the target URL decides)' : ''}`,
      )
    checks.active = a
  }
  const passive = isObject(hc.passive) ? hc.passive : {}
  const pUnhealthy = isObject(passive.unhealthy) ? passive.unhealthy : {}
  const pFailures = Math.max(
    num(pUnhealthy.http_failures),
    num(pUnhealthy.tcp_failures),
    num(pUnhealthy.timeouts),
  )
  if (pFailures > 0) {
    const p: NonNullable<HealthChecksConfig['passive']> = { enabled: true, failures: pFailures }
    if (Array.isArray(pUnhealthy.http_statuses) && pUnhealthy.http_statuses.length > 0)
      p.statuses = pUnhealthy.http_statuses as number[]
    checks.passive = p
  }
  if (Object.keys(checks).length > 0) parts.healthchecks = checks
  return parts
}
