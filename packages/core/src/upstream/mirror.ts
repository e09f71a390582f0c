import { type Readable, Transform, type TransformCallback } from 'node:stream'
import type { ConfigIssue, Headers, Logger, RequestView } from '@gatehousejs/sdk'
import type { MirrorConfig, ServiceConfig } from '@gatehousejs/sdk/config'
import type { CompiledService, MirrorRule, MirrorStats } from '../model.js'
import { pipeBody } from '../request/body.js'
import type { Context } from '../request/context.js'
import { joinPaths } from '../request/path.js'
import type { Pools } from './pools.js'

/**
 * Traffic mirroring (shadow traffic, docs/upstreams.md): a share of a route's requests is copied to
 * another service, fire-and-forget. The client's answer never waits for a copy nor depends on it:
 * - a copy is sent only once the request body is complete (buffered, or teed while it streams to the
 *   primary upstream, up to `bodyLimit`), on its own, unawaited promise;
 * - its answer is drained and ignored; its failures are counted ({@link MirrorStats}) and logged
 *   (one warning when a mirror starts failing, then debug), never thrown; while a mirror fails, one
 *   copy a second probes it and the others are dropped, so a dead mirror costs no connect per request;
 * - at most `maxInflight` copies per rule are in flight, so a slow mirror holds bounded memory and
 *   sockets, and costs the client nothing.
 * The copy carries `X-Gatehouse-Mirror: 1` so the mirror service knows its answers go nowhere.
 */

export const MIRROR_HEADER = 'x-gatehouse-mirror'
const DEFAULT_BODY_LIMIT = 64 * 1024
const DEFAULT_TIMEOUT = 5_000
const DEFAULT_MAX_INFLIGHT = 64
/** While a mirror fails, one copy per this many ms probes it; the others are dropped (no connect storm). */
const FAILING_PROBE_EVERY = 1_000

/**
 * Each route's mirror rules (its own `mirror`, else its service's), by route name. Routes without
 * rules have no entry, so the per-request check is one Map lookup on a gateway with mirrors at all.
 */
export function compileMirrors(
  configs: readonly ServiceConfig[],
  services: Map<string, CompiledService>,
  issues: ConfigIssue[],
): Map<string, MirrorRule[]> {
  const byRoute = new Map<string, MirrorRule[]>()
  configs.forEach((svc, si) => {
    ;(svc.routes ?? []).forEach((route, ri) => {
      const own = route.mirror !== undefined
      const list = route.mirror ?? svc.mirror
      if (list === undefined || list.length === 0) return
      const base = own ? `/services/${si}/routes/${ri}/mirror` : `/services/${si}/mirror`
      // A service-level list is checked once (for its first route), not once per route.
      const report = own || ri === 0 ? issues : []
      const name = route.name ?? `${svc.name}.${ri}`
      const rules: MirrorRule[] = []
      list.forEach((m, mi) => {
        const rule = compileRule(m, `${base}/${mi}`, svc.name, name, services, report)
        if (rule !== undefined) rules.push(rule)
      })
      if (rules.length > 0) byRoute.set(name, rules)
    })
  })
  return byRoute
}

function compileRule(
  m: MirrorConfig,
  pointer: string,
  own: string,
  route: string,
  services: Map<string, CompiledService>,
  issues: ConfigIssue[],
): MirrorRule | undefined {
  const service = services.get(m.service)
  if (service === undefined) {
    issues.push({ pointer: `${pointer}/service`, message: `no service named "${m.service}"` })
    return undefined
  }
  if (m.service === own) {
    issues.push({ pointer: `${pointer}/service`, message: 'a service cannot mirror to itself' })
    return undefined
  }
  if (m.value !== undefined && m.header === undefined)
    issues.push({ pointer: `${pointer}/value`, message: '"value" goes with "header"' })
  const header = m.header
  const value = m.value
  const test =
    header === undefined
      ? undefined
      : (req: RequestView) => {
          const v = req.headers[header]
          const text = Array.isArray(v) ? v.join(',') : v
          return text !== undefined && (value === undefined || text === value)
        }
  return {
    service,
    share: (m.percent ?? 100) / 100,
    test,
    bodyLimit: (m.bodyLimit as number | undefined) ?? DEFAULT_BODY_LIMIT,
    timeout: (m.timeout as number | undefined) ?? DEFAULT_TIMEOUT,
    maxInflight: m.maxInflight ?? DEFAULT_MAX_INFLIGHT,
    failing: false,
    probedAt: 0,
    next: 0,
    stats: { route, service: m.service, sent: 0, failed: 0, skipped: 0, dropped: 0, inflight: 0 },
  }
}

/** Every rule's counters, for `gateway.mirrors()`. */
export function mirrorStats(mirrors: Map<string, MirrorRule[]>): MirrorStats[] {
  const out: MirrorStats[] = []
  for (const rules of mirrors.values()) for (const r of rules) out.push({ ...r.stats })
  return out
}

/**
 * Called where the upstream request is sent. Starts a copy for every rule that picks this request
 * and returns the body to send to the primary upstream: the same one, or (when a streamed body must
 * be copied) a pass-through that keeps the first `bodyLimit` bytes for the copies.
 */
export function mirrorRequest(
  pools: Pools,
  ctx: Context,
  rules: MirrorRule[],
  body: Readable | Buffer | undefined,
): Readable | Buffer | undefined {
  let chosen: MirrorRule[] | undefined
  for (const rule of rules) {
    if (rule.test !== undefined && !rule.test(ctx.request)) continue
    if (rule.share < 1 && Math.random() >= rule.share) continue
    if (rule.stats.inflight >= rule.maxInflight || (rule.failing && !probeDue(rule))) {
      rule.stats.dropped++
      continue
    }
    ;(chosen ??= []).push(rule)
  }
  if (chosen === undefined) return body
  const up = ctx.upstream!
  // The upstream path without the primary service's base path, so each mirror gets its own.
  const base = ctx.upstreamService!.basePath
  const rest = base !== '' && base !== '/' && up.path.startsWith(base) ? up.path.slice(base.length) : up.path
  const copy: Copy = {
    method: up.method,
    rest,
    querystring: up.querystring,
    headers: { ...up.headers, [MIRROR_HEADER]: '1' },
  }
  const log = ctx.requestLog
  if (body === undefined || Buffer.isBuffer(body)) {
    for (const rule of chosen) send(pools, rule, copy, body, log)
    return body
  }
  // A streamed body: copy it as it goes to the primary; the copies leave once it is complete.
  const limit = Math.max(...chosen.map((r) => r.bodyLimit))
  const tee = new BodyTee(limit)
  tee.once('complete', (buffer: Buffer | undefined) => {
    for (const rule of chosen) {
      if (buffer === undefined || buffer.length > rule.bodyLimit) rule.stats.skipped++
      else send(pools, rule, copy, buffer, log)
    }
  })
  return pipeBody(body, tee)
}

interface Copy {
  method: string
  rest: string
  querystring: string
  headers: Headers
}

function send(pools: Pools, rule: MirrorRule, copy: Copy, body: Buffer | undefined, log: Logger): void {
  const service = rule.service
  const origin = originOf(rule)
  const headers: Headers = { ...copy.headers }
  delete headers['transfer-encoding']
  if (body !== undefined) headers['content-length'] = String(body.length)
  const path = joinPaths(service.basePath, copy.rest)
  rule.stats.inflight++
  pools
    .get(origin, service.timeouts.connect, service.pool)
    .request({
      method: copy.method as 'GET',
      path: copy.querystring === '' ? path : `${path}?${copy.querystring}`,
      headers: headers as Record<string, string>,
      body: body ?? null,
      headersTimeout: rule.timeout,
      bodyTimeout: rule.timeout,
    })
    .then(
      (res) => {
        // The answer goes nowhere: drain it so the connection returns to the pool.
        res.body.resume()
        res.body.on('error', () => {})
        rule.stats.sent++
        if (rule.failing) log.info({ mirror: rule.stats.service }, 'mirror answers again')
        rule.failing = false
      },
      (err: unknown) => {
        rule.stats.failed++
        if (rule.failing) log.debug({ err, mirror: rule.stats.service }, 'mirror copy failed')
        else log.warn({ err, mirror: rule.stats.service }, 'mirror copy failed (the client is not affected)')
        rule.failing = true
      },
    )
    .finally(() => {
      rule.stats.inflight--
    })
}

/** A failing mirror gets one copy per FAILING_PROBE_EVERY, so a dead mirror costs no connect per request. */
function probeDue(rule: MirrorRule): boolean {
  const now = performance.now()
  if (now - rule.probedAt < FAILING_PROBE_EVERY) return false
  rule.probedAt = now
  return true
}

/** A balanced mirror service: its healthy targets in turn (never a half-open trial: that is for real traffic). */
function originOf(rule: MirrorRule): string {
  const group = rule.service.group
  if (group === undefined) return rule.service.origin
  const usable = group.targets.filter((t) => t.weight > 0 && t.state === 'healthy')
  const list = usable.length > 0 ? usable : group.targets
  return list[rule.next++ % list.length]!.origin
}

/**
 * Passes a request body through unchanged, keeping a copy of its first `limit` bytes; emits
 * `complete` with the whole body when it ended within the limit, with undefined when it did not.
 */
class BodyTee extends Transform {
  private chunks: Buffer[] = []
  private size = 0
  private over = false

  constructor(private readonly limit: number) {
    super()
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    if (!this.over) {
      this.size += chunk.length
      if (this.size > this.limit) {
        this.over = true
        this.chunks = []
      } else this.chunks.push(chunk)
    }
    done(null, chunk)
  }

  override _flush(done: TransformCallback): void {
    this.emit('complete', this.over ? undefined : Buffer.concat(this.chunks, this.size))
    done()
  }
}
