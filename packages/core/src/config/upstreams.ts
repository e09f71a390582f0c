import type { ConfigIssue, RequestView } from '@gatehousejs/sdk'
import type { ServiceConfig } from '@gatehousejs/sdk/config'
import type { CompiledService, CompiledUpstream, RetryPolicy, SplitPolicy } from '../model.js'
import {
  type ActiveCheckConfig,
  type Algorithm,
  type PassiveCheckConfig,
  UpstreamGroup,
} from '../upstream/health.js'
import { poolKey } from '../upstream/pools.js'
import { IDEMPOTENT_METHODS, RetryBudget } from '../upstream/retry-budget.js'

/**
 * A service's upstream, compiled: a plain `url` (the direct path, unchanged and free), or targets with
 * balancing, health checks, retries and a total timeout (docs/upstreams.md). Traffic split rules are
 * resolved once every service is known.
 */

const DEFAULT_PASSIVE_STATUSES = [502, 503, 504]

export function compileUpstream(
  svc: ServiceConfig,
  pointer: string,
  issues: ConfigIssue[],
  previous: UpstreamGroup | undefined,
  hasTotalTimeout: boolean,
): CompiledUpstream {
  if (svc.url !== undefined && svc.targets !== undefined)
    issues.push({ pointer: `${pointer}/targets`, message: 'set either "url" or "targets", not both' })
  else if (svc.url === undefined && svc.targets === undefined)
    issues.push({ pointer, message: 'a service needs a "url" or "targets"' })
  if (svc.url !== undefined && svc.path !== undefined)
    issues.push({ pointer: `${pointer}/path`, message: '"path" goes with "targets"; put the path in "url"' })

  let targets: Array<{ url: string; origin: string; weight: number }> = []
  let basePath = ''
  if (svc.targets === undefined) {
    const url = parseUrl(svc.url ?? '')
    if (svc.url !== undefined && url === undefined)
      issues.push({
        pointer: `${pointer}/url`,
        // A URL with credentials (or from ${ENV}) may carry a secret: it is not echoed then.
        message: `${/@/.test(svc.url) ? 'this URL (not shown: it may hold credentials)' : `"${svc.url}"`} is not an http(s) URL without query, fragment or credentials`,
      })
    basePath = url ? url.pathname.replace(/\/+$/, '') : ''
    targets = [{ url: svc.url ?? '', origin: url ? url.origin : 'http://invalid', weight: 100 }]
  } else {
    basePath = (svc.path ?? '').replace(/\/+$/, '')
    const seen = new Set<string>()
    svc.targets.forEach((t, i) => {
      const url = parseUrl(t.url)
      if (url === undefined || url.pathname !== '/')
        issues.push({
          pointer: `${pointer}/targets/${i}/url`,
          message: `"${t.url}" is not an http(s) origin (scheme, host and port; the path goes in "path")`,
        })
      const origin = url ? url.origin : 'http://invalid'
      if (seen.has(origin))
        issues.push({ pointer: `${pointer}/targets/${i}/url`, message: `duplicate target "${t.url}"` })
      seen.add(origin)
      targets.push({ url: origin, origin, weight: t.weight ?? 100 })
    })
    if (targets.every((t) => t.weight === 0))
      issues.push({ pointer: `${pointer}/targets`, message: 'at least one target needs a weight above 0' })
  }
  const infoUrl = svc.url ?? `${targets[0]?.url ?? ''}${basePath}`
  const resilient =
    svc.targets !== undefined ||
    svc.healthchecks !== undefined ||
    svc.retries !== undefined ||
    hasTotalTimeout
  if (!resilient)
    return {
      origin: targets[0]!.origin,
      basePath,
      infoUrl,
      group: undefined,
      retry: undefined,
      hashKey: undefined,
    }

  const algorithm: Algorithm = svc.balancing?.algorithm ?? 'round-robin'
  const hashKey = compileHashKey(svc, pointer, issues, algorithm)
  const active = compileActive(svc, pointer, issues)
  const passive = compilePassive(svc)
  const retry = compileRetry(svc, pointer, issues)
  const key = JSON.stringify([targets, algorithm, svc.healthchecks ?? null])
  const group =
    previous?.key === key
      ? previous
      : new UpstreamGroup({ service: svc.name, targets, algorithm, active, passive }, key)
  return { origin: targets[0]!.origin, basePath, infoUrl, group, retry, hashKey }
}

function parseUrl(raw: string): URL | undefined {
  try {
    const url = new URL(raw)
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return undefined
    if (url.search || url.hash || url.username || url.password) return undefined
    return url
  } catch {
    return undefined
  }
}

function compileActive(
  svc: ServiceConfig,
  pointer: string,
  issues: ConfigIssue[],
): ActiveCheckConfig | undefined {
  const a = svc.healthchecks?.active
  if (a === undefined) return undefined
  const interval = (a.interval as number | undefined) ?? 5_000
  const timeout = (a.timeout as number | undefined) ?? 1_000
  // A zero interval would probe in a busy loop; a zero timeout would fail every probe.
  if (interval <= 0)
    issues.push({ pointer: `${pointer}/healthchecks/active/interval`, message: 'must be greater than 0' })
  if (timeout <= 0)
    issues.push({ pointer: `${pointer}/healthchecks/active/timeout`, message: 'must be greater than 0' })
  const statuses = a.healthyStatuses ? new Set(a.healthyStatuses) : undefined
  return {
    path: a.path ?? '/',
    interval,
    timeout,
    healthy: statuses ? (s) => statuses.has(s) : (s) => s >= 200 && s < 400,
    healthyThreshold: a.healthyThreshold ?? 2,
    unhealthyThreshold: a.unhealthyThreshold ?? 3,
  }
}

function compilePassive(svc: ServiceConfig): PassiveCheckConfig | undefined {
  const p = svc.healthchecks?.passive
  // On by default with targets or health checks: a circuit breaker is why one configures them.
  const enabled = p?.enabled ?? (svc.targets !== undefined || svc.healthchecks !== undefined)
  if (!enabled) return undefined
  return {
    failures: p?.failures ?? 3,
    statuses: new Set(p?.statuses ?? DEFAULT_PASSIVE_STATUSES),
    cooldown: (p?.cooldown as number | undefined) ?? 10_000,
  }
}

function compileRetry(svc: ServiceConfig, pointer: string, issues: ConfigIssue[]): RetryPolicy {
  const r = svc.retries
  const initial = (r?.backoff?.initial as number | undefined) ?? 20
  const max = (r?.backoff?.max as number | undefined) ?? 1_000
  if (initial > max)
    issues.push({
      pointer: `${pointer}/retries/backoff/initial`,
      message: 'must not be larger than backoff.max',
    })
  const window = (r?.budget?.window as number | undefined) ?? 10_000
  if (window <= 0)
    issues.push({ pointer: `${pointer}/retries/budget/window`, message: 'must be greater than 0' })
  return {
    attempts: r?.attempts ?? (svc.targets !== undefined || r !== undefined ? 2 : 0),
    methods: new Set(r?.methods ?? IDEMPOTENT_METHODS),
    backoffInitial: initial,
    backoffMax: max,
    budget: new RetryBudget(r?.budget?.ratio ?? 0.2, r?.budget?.minRetries ?? 10, window),
  }
}

function compileHashKey(
  svc: ServiceConfig,
  pointer: string,
  issues: ConfigIssue[],
  algorithm: Algorithm,
): CompiledUpstream['hashKey'] {
  const b = svc.balancing
  if (algorithm !== 'consistent-hashing') return undefined
  const on = b?.hashOn ?? 'ip'
  if (on === 'header' || on === 'cookie') {
    const field = on === 'header' ? 'hashOnHeader' : 'hashOnCookie'
    const name = b?.[field]
    if (name === undefined) {
      issues.push({ pointer: `${pointer}/balancing/${field}`, message: `required when hashOn is "${on}"` })
      return undefined
    }
    const read = reader(on, name)
    return (ctx) => read(ctx.request) ?? ctx.client.ip
  }
  if (on === 'consumer') return (ctx) => ctx.consumer?.id ?? ctx.client.ip
  return (ctx) => ctx.client.ip
}

/** Reads a header (several values joined with ",") or a cookie from the request. */
function reader(kind: 'header' | 'cookie', name: string): (req: RequestView) => string | undefined {
  if (kind === 'cookie') return (req) => cookieValue(req, name)
  return (req) => {
    const v = req.headers[name]
    return Array.isArray(v) ? v.join(',') : v
  }
}

/** The first cookie of that name (RFC 6265 §5.4 `name=value; …`), or undefined. */
export function cookieValue(req: RequestView, name: string): string | undefined {
  const header = req.headers.cookie
  if (header === undefined) return undefined
  const all = Array.isArray(header) ? header.join('; ') : header
  for (const part of all.split(';')) {
    const eq = part.indexOf('=')
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim()
  }
  return undefined
}

/** Resolves each service's `split` rules against the compiled services; reports bad rules. */
export function compileSplits(
  configs: readonly ServiceConfig[],
  services: Map<string, CompiledService>,
  issues: ConfigIssue[],
): void {
  configs.forEach((svc, si) => {
    if (svc.split === undefined || svc.split.length === 0) return
    const policy: SplitPolicy = { match: [], shares: [] }
    let sum = 0
    svc.split.forEach((rule, ri) => {
      const pointer = `/services/${si}/split/${ri}`
      const target = services.get(rule.service)
      if (target === undefined)
        issues.push({ pointer: `${pointer}/service`, message: `no service named "${rule.service}"` })
      else if (rule.service === svc.name)
        issues.push({ pointer: `${pointer}/service`, message: 'a service cannot split to itself' })
      const kinds = [rule.weight, rule.header, rule.cookie].filter((k) => k !== undefined).length
      if (kinds !== 1) {
        issues.push({ pointer, message: 'a rule needs exactly one of "weight", "header" or "cookie"' })
        return
      }
      if (rule.value !== undefined && rule.weight !== undefined)
        issues.push({ pointer: `${pointer}/value`, message: '"value" goes with "header" or "cookie"' })
      if (rule.weight !== undefined) sum += rule.weight
      if (target === undefined) return
      if (rule.weight !== undefined) {
        policy.shares.push({ upTo: sum, service: target })
      } else {
        const read =
          rule.header !== undefined ? reader('header', rule.header) : reader('cookie', rule.cookie!)
        const value = rule.value
        policy.match.push({
          service: target,
          test: (req) => {
            const v = read(req)
            return v !== undefined && (value === undefined || v === value)
          },
        })
      }
    })
    if (sum > 100)
      issues.push({
        pointer: `/services/${si}/split`,
        message: `the weights add up to ${sum}, more than 100`,
      })
    services.get(svc.name)!.split = policy
  })
}

/** The {@link poolKey} of every pool a route to `service` may use (its targets, its split services'). */
export function poolKeysOf(service: CompiledService, connectTimeout: number): string[] {
  const origins = service.group ? service.group.targets.map((t) => t.origin) : [service.origin]
  const keys = origins.map((origin) => poolKey(origin, connectTimeout, service.pool))
  if (service.split !== undefined) {
    for (const m of service.split.match)
      keys.push(...poolKeysOf({ ...m.service, split: undefined }, connectTimeout))
    for (const s of service.split.shares)
      keys.push(...poolKeysOf({ ...s.service, split: undefined }, connectTimeout))
  }
  return keys
}
