import type { AccessContext, ErrorContext, Headers, Logger, ResponseContext } from '@gatehousejs/sdk'
import type { RedisConnection } from '@gatehousejs/sdk/redis'
import { canReplaceBody, decide, requestDirectives, sameHostUrl } from './decide.js'
import type { Directives } from './directives.js'
import {
  buildEntry,
  currentAge,
  type Entry,
  type NotStored,
  notModified,
  notModifiedHeaders,
  type PolicyRequest,
  policyRequest,
  revalidated,
  type VaryRecord,
} from './entry.js'
import { CacheMiss } from './errors.js'
import { fetchUpstream } from './fetch.js'
import { normaliseQuery, primaryKey, type QueryRules, urlKey, variantKey, varyNames } from './key.js'
import { MemoryStore } from './memory-store.js'
import { authorisePurge } from './purge.js'
import { RedisStore } from './redis-store.js'
import type { CacheConfig } from './schema.js'
import { type ForwardReason, forwardParams, StatusHeaders } from './status.js'
import type { CacheStore, PurgeSpec } from './store.js'

/** Counters since the instance started (GET /stats, `stats()`). */
export interface CacheStats {
  hits: number
  stale: number
  misses: number
  refreshes: number
  bypasses: number
  stored: number
  purged: number
  /** Stored responses (memory store only). */
  entries?: number
  /** Bytes held (memory store only). */
  bytes?: number
}

/** What the plugin remembers about one request between `access` and `response`/`error`. */
interface Pending {
  mode: 'lookup' | 'bypass' | 'invalidate'
  url: string
  primary: string
  key: string
  consumer: string | undefined
  forward: ForwardReason
  detail: string | undefined
  /** A stored entry that could not answer as is: revalidated, or served if the upstream fails. */
  stale: Entry | undefined
  revalidating: boolean
  /** The client's own If-None-Match/If-Modified-Since, held back from the upstream: answer 304 ourselves. */
  clientConditional: boolean
  noStore: boolean
  leader: Flight | undefined
  done: boolean
}

/** A miss in flight: concurrent misses for its key wait for it instead of asking the upstream. */
interface Flight {
  readonly startedAt: number
  readonly promise: Promise<void>
  resolve(): void
}

/** RFC 9110 §9.2.1: these never change state on the origin, so they invalidate nothing. */
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE'])
const ERROR_STATUSES = new Set([500, 502, 503, 504])
const CONDITIONALS = ['if-none-match', 'if-modified-since']

/**
 * One configured instance of the cache: its store, its in-flight misses and its counters. The
 * plugin's handlers call into it; `access` returns synchronously on a memory hit so a hit costs no
 * promise and no per-request state.
 */
export class Cache {
  readonly id: string
  readonly store: CacheStore
  private readonly memory: MemoryStore | undefined
  private readonly c: CacheConfig
  private readonly log: Logger
  private readonly status: StatusHeaders
  private readonly query: QueryRules
  private readonly methods: ReadonlySet<string>
  private readonly statuses: ReadonlySet<number>
  private readonly contentTypes: readonly string[]
  private readonly purgeToken: Buffer | undefined
  private readonly purgeGroups: ReadonlySet<string>
  private readonly pending = new WeakMap<object, Pending>()
  private readonly flights = new Map<string, Flight>()
  private readonly refreshing = new Set<string>()
  private readonly counters: CacheStats = {
    hits: 0,
    stale: 0,
    misses: 0,
    refreshes: 0,
    bypasses: 0,
    stored: 0,
    purged: 0,
  }

  constructor(id: string, config: CacheConfig, log: Logger, redis?: RedisConnection) {
    this.id = id
    this.c = config
    this.log = log
    if (redis) {
      this.store = new RedisStore(redis)
    } else {
      this.memory = new MemoryStore(config.store.maxSize)
      this.store = this.memory
    }
    this.status = new StatusHeaders(config.cacheName, config.statusHeaders)
    this.query = {
      include: config.query.include ? new Set(config.query.include) : undefined,
      ignore: new Set(config.query.ignore),
    }
    this.methods = new Set(config.methods)
    this.statuses = new Set(config.statuses)
    this.contentTypes = config.contentTypes.map((t) => t.toLowerCase())
    this.purgeToken = config.purge.token === undefined ? undefined : Buffer.from(config.purge.token)
    this.purgeGroups = new Set(config.purge.groups)
  }

  // ── access ───────────────────────────────────────────────────────────────────────────────────

  access(ctx: AccessContext): void | Promise<void> {
    const req = ctx.request
    const method = req.method
    if (method !== 'GET' && method !== 'HEAD') return this.otherMethod(ctx)
    if (!this.methods.has(method)) {
      this.track(ctx, 'bypass', '', undefined, 'method')
      return
    }
    const consumer = this.c.consumerIsolation ? ctx.consumer?.id : undefined
    const url = urlKey(req.host, req.path, normaliseQuery(req.querystring, this.query))
    const primary = primaryKey(url, consumer)
    // The hot path: a fresh entry from memory for a request with nothing that changes the answer.
    if (this.memory !== undefined && this.plain(req.headers, consumer)) {
      const record = this.memory.get(primary)
      if (record !== undefined && record.kind === 'entry') {
        const now = Date.now()
        if (now < record.freshUntil) {
          this.counters.hits++
          this.hit(ctx, record, now)
          return
        }
      }
    }
    return this.lookup(ctx, url, primary, consumer)
  }

  /** No client directive, no conditional, and no Authorization that the stored entry may not answer. */
  private plain(h: Readonly<Headers>, consumer: string | undefined): boolean {
    return (
      (!this.c.requestCacheControl || (h['cache-control'] === undefined && h.pragma === undefined)) &&
      h['if-none-match'] === undefined &&
      h['if-modified-since'] === undefined &&
      (consumer !== undefined || h.authorization === undefined)
    )
  }

  private hit(ctx: AccessContext, entry: Entry, now: number): void {
    let h = entry.hitHeaders
    if (h === undefined) {
      h = { ...entry.headers }
      this.status.set(h, 'Hit', 'hit')
      entry.hitHeaders = h
    }
    const age = currentAge(entry, now)
    if (age !== entry.hitAge) {
      h.age = String(age)
      entry.hitAge = age
    }
    // respond() copies the headers, so the shared object is never handed to later plugins.
    ctx.respond(
      entry.status,
      ctx.request.method === 'HEAD' ? undefined : entry.body,
      h as Record<string, string>,
    )
  }

  private async lookup(ctx: AccessContext, url: string, primary: string, consumer: string | undefined) {
    const req = ctx.request
    const h = req.headers
    const p = this.track(ctx, 'lookup', url, consumer, 'uri-miss')
    p.primary = primary
    p.key = primary
    const cc: Directives | undefined =
      this.c.requestCacheControl && (h['cache-control'] !== undefined || h.pragma !== undefined)
        ? requestDirectives(h)
        : undefined
    let entry: Entry | undefined
    try {
      entry = await this.find(p, h)
    } catch {
      this.toBypass(p, 'store-unavailable')
      if (cc?.['only-if-cached']) throw CacheMiss()
      return
    }
    const now = Date.now()
    // RFC 9111 §3.5: a shared cache answers a request with Authorization only from a response that allows it.
    if (
      entry !== undefined &&
      consumer === undefined &&
      h.authorization !== undefined &&
      !entry.sharedWithAuth
    ) {
      entry = undefined
      p.detail = 'authorization'
    }
    if (entry !== undefined) {
      const use = decide(entry, cc, now)
      if (use === 'fresh') return this.answer(ctx, p, entry, now, 'Hit', 'hit')
      if (use === 'max-stale') return this.answer(ctx, p, entry, now, 'Stale', 'hit; detail=max-stale')
      if (use === 'stale-while-revalidate') {
        this.refresh(ctx, p, entry)
        return this.answer(ctx, p, entry, now, 'Stale', 'hit; detail=stale-while-revalidate')
      }
      p.stale = entry
      p.forward = use === 'request' ? 'request' : 'stale'
    }
    if (cc?.['only-if-cached']) throw CacheMiss()
    if (cc?.['no-store']) p.noStore = true
    const up = ctx.upstream.headers
    if (!p.noStore && req.method === 'GET') {
      // Ask for the whole response so it can be stored; the client's condition is answered here.
      for (const name of CONDITIONALS) {
        if (up[name] !== undefined) {
          delete up[name]
          p.clientConditional = true
        }
      }
    }
    if (p.stale !== undefined) {
      // The varied request headers are part of the match: without them no validator is sent (§4.3.1).
      this.addValidators(up, p.stale, this.policyRequestFor(h, p, varyNames(p.stale.headers.vary)))
      p.revalidating = up['if-none-match'] !== undefined || up['if-modified-since'] !== undefined
    }
    if (this.c.coalesce && p.forward !== 'request' && !p.noStore) await this.coalesce(ctx, p)
  }

  /** The entry for the request: the primary key's, or through its vary record the variant's. */
  private async find(p: Pending, h: Readonly<Headers>): Promise<Entry | undefined> {
    let record = await this.store.get(p.primary)
    if (record?.kind === 'vary') {
      p.key = variantKey(p.primary, record.vary, h)
      record = await this.store.get(p.key)
      if (record?.kind !== 'entry') {
        p.forward = 'vary-miss'
        return undefined
      }
    }
    return record
  }

  /** Answers from a stored entry (or 304 when the client's own condition matches it). */
  private answer(
    ctx: AccessContext,
    p: Pending,
    entry: Entry,
    now: number,
    x: 'Hit' | 'Stale',
    params: string,
  ): void {
    p.done = true
    if (x === 'Hit') this.counters.hits++
    else this.counters.stale++
    if (notModified(entry, ctx.request.headers)) {
      const h = notModifiedHeaders(entry)
      h.age = String(currentAge(entry, now))
      this.status.set(h, x, params)
      ctx.respond(304, undefined, h as Record<string, string>)
      return
    }
    const h: Record<string, string | string[]> = { ...entry.headers, age: String(currentAge(entry, now)) }
    this.status.set(h, x, params)
    ctx.respond(
      entry.status,
      ctx.request.method === 'HEAD' ? undefined : entry.body,
      h as Record<string, string>,
    )
  }

  /**
   * Request coalescing: the first miss for a key leads (asks the upstream); later ones wait for it,
   * at most `coalesceTimeout`, then look again. If the leader's response was stored they are answered
   * from it; otherwise (not storable, an error, a timeout) they ask the upstream themselves.
   */
  private async coalesce(ctx: AccessContext, p: Pending): Promise<void> {
    const now = Date.now()
    const flight = this.flights.get(p.key)
    if (flight === undefined || now - flight.startedAt >= this.c.coalesceTimeout) {
      let resolve!: () => void
      const promise = new Promise<void>((r) => {
        resolve = r
      })
      p.leader = { startedAt: now, promise, resolve }
      this.flights.set(p.key, p.leader)
      return
    }
    const left = this.c.coalesceTimeout - (now - flight.startedAt)
    let timer: NodeJS.Timeout | undefined
    await Promise.race([flight.promise, new Promise<void>((r) => (timer = setTimeout(r, left)))])
    clearTimeout(timer)
    let entry: Entry | undefined
    try {
      entry = await this.find(p, ctx.request.headers)
    } catch {
      return
    }
    const at = Date.now()
    if (
      entry !== undefined &&
      at < entry.freshUntil &&
      (p.consumer !== undefined || ctx.request.headers.authorization === undefined || entry.sharedWithAuth)
    ) {
      this.answer(ctx, p, entry, at, 'Hit', 'hit; detail=coalesced')
    }
  }

  private otherMethod(ctx: AccessContext): void | Promise<void> {
    const method = ctx.request.method
    if (this.c.purge.enabled && method === this.c.purge.method) return this.httpPurge(ctx)
    if (SAFE_METHODS.has(method)) return
    // RFC 9111 §4.4: a successful unsafe request invalidates the target URI's stored responses.
    const req = ctx.request
    this.track(
      ctx,
      'invalidate',
      urlKey(req.host, req.path, normaliseQuery(req.querystring, this.query)),
      undefined,
      'method',
    )
  }

  private track(
    ctx: object,
    mode: Pending['mode'],
    url: string,
    consumer: string | undefined,
    forward: ForwardReason,
  ): Pending {
    const p: Pending = {
      mode,
      url,
      primary: url,
      key: url,
      consumer,
      forward,
      detail: undefined,
      stale: undefined,
      revalidating: false,
      clientConditional: false,
      noStore: false,
      leader: undefined,
      done: false,
    }
    this.pending.set(ctx, p)
    return p
  }

  private toBypass(p: Pending, detail: string): void {
    p.mode = 'bypass'
    p.forward = 'bypass'
    p.detail = detail
  }

  private policyRequestFor(h: Readonly<Headers>, p: Pending, vary?: readonly string[]): PolicyRequest {
    return policyRequest(h, vary, p.consumer === undefined)
  }

  /** Adds If-None-Match / If-Modified-Since for the stored entry, as http-cache-semantics computes them. */
  private addValidators(up: Headers, entry: Entry, request: PolicyRequest): void {
    const v = entry.policy.revalidationHeaders(request)
    if (v['if-none-match'] !== undefined) up['if-none-match'] = v['if-none-match']
    if (v['if-modified-since'] !== undefined) up['if-modified-since'] = v['if-modified-since']
  }

  // ── response ─────────────────────────────────────────────────────────────────────────────────

  response(ctx: ResponseContext): void | Promise<void> {
    const field = this.c.targetedCacheControl
    if (field === undefined || this.c.forwardTargetedCacheControl) return this.handleResponse(ctx)
    // RFC 9213 §3: the field targeted at this cache may be removed once obeyed.
    const done = this.handleResponse(ctx)
    if (done === undefined) delete ctx.response.headers[field]
    else return done.then(() => void delete ctx.response.headers[field])
  }

  private handleResponse(ctx: ResponseContext): void | Promise<void> {
    const p = this.pending.get(ctx)
    if (p === undefined || p.done) return
    if (ctx.response.source !== 'upstream') {
      this.finish(p)
      return
    }
    if (p.mode === 'invalidate') return this.invalidate(ctx, p)
    if (p.mode === 'bypass') {
      this.counters.bypasses++
      this.status.set(
        ctx.response.headers,
        'Bypass',
        forwardParams(p.forward, ctx.response.status, false, p.detail),
      )
      this.finish(p)
      return
    }
    return this.storeResponse(ctx, p)
  }

  private async storeResponse(ctx: ResponseContext, p: Pending): Promise<void> {
    const res = ctx.response
    const req = ctx.request
    const now = Date.now()
    try {
      const stale = p.stale
      if (stale !== undefined && res.status === 304 && p.revalidating) {
        this.counters.refreshes++
        const updated = revalidated(stale, this.buildOptions(req.headers, p, res.headers, now, undefined))
        let entry = stale
        let stored = false
        if (updated !== undefined && typeof updated !== 'string') {
          entry = updated
          stored = await this.put(p.key, entry, undefined, p)
        }
        this.serveFromEntry(ctx, p, entry, now, 'Refresh', forwardParams('stale', 304, stored, undefined))
        return
      }
      if (
        stale !== undefined &&
        ERROR_STATUSES.has(res.status) &&
        now < stale.sieUntil &&
        canReplaceBody(res)
      ) {
        this.counters.stale++
        const params = forwardParams('stale', res.status, false, 'stale-if-error')
        this.serveFromEntry(ctx, p, stale, now, 'Stale', params)
        return
      }
      if (stale !== undefined) this.counters.refreshes++
      else this.counters.misses++
      const outcome = await this.storeFresh(ctx, p, now)
      const stored = typeof outcome !== 'string'
      if (this.c.stripTagHeader) delete res.headers[this.c.tagHeader]
      const x = stale !== undefined ? 'Refresh' : 'Miss'
      if (stored && p.clientConditional && res.status === 200 && notModified(outcome, req.headers)) {
        // Stored the full response; the client asked only whether its copy is current: it is.
        const h: Headers = notModifiedHeaders(outcome)
        this.status.set(h, x, forwardParams(p.forward, res.status, true, undefined))
        res.status = 304
        res.headers = h
        return
      }
      this.status.set(
        res.headers,
        x,
        forwardParams(p.forward, res.status, stored, stored ? undefined : outcome),
      )
    } finally {
      this.finish(p)
    }
  }

  /** Stores the upstream response if the configuration and RFC 9111 allow; says why not otherwise. */
  private async storeFresh(
    ctx: ResponseContext,
    p: Pending,
    now: number,
  ): Promise<Entry | NotStored | string> {
    const res = ctx.response
    const req = ctx.request
    if (req.method !== 'GET') return 'head'
    if (p.noStore) return 'no-store'
    if (!this.statuses.has(res.status)) return 'status'
    if (!this.contentTypeAllowed(res.headers['content-type'])) return 'content-type'
    let body: Buffer
    if (Buffer.isBuffer(res.body)) body = res.body
    else if (res.bodySkipped === 'no-body') body = EMPTY
    else return res.bodySkipped ?? 'no-body'
    if (body.length > this.c.maxBodySize) return 'too-large'
    const vary = varyNames(res.headers.vary)
    if (vary?.includes('*')) return 'vary-star'
    const key = vary === undefined ? p.primary : variantKey(p.primary, vary, req.headers)
    const entry = buildEntry({
      ...this.buildOptions(req.headers, p, res.headers, now, vary),
      key,
      url: p.url,
      status: res.status,
      body,
    })
    if (typeof entry === 'string') return entry
    return (await this.put(key, entry, vary, p)) ? entry : 'store-unavailable'
  }

  private buildOptions(
    reqHeaders: Readonly<Headers>,
    p: Pending,
    resHeaders: Readonly<Headers>,
    now: number,
    vary: readonly string[] | undefined,
  ) {
    return {
      headers: resHeaders,
      request: this.policyRequestFor(reqHeaders, p, vary ?? varyNames(resHeaders.vary)),
      now,
      defaultTtl: this.c.defaultTtl,
      keepStale: this.c.keepStale,
      storeSetCookie: this.c.storeSetCookie,
      tagHeader: this.c.tagHeader,
      stripTagHeader: this.c.stripTagHeader,
      targetedField: this.c.targetedCacheControl,
      stripTargetedField: !this.c.forwardTargetedCacheControl,
    }
  }

  /** Writes the entry (and its vary record); `false` when the store is unavailable. */
  private async put(
    key: string,
    entry: Entry,
    vary: readonly string[] | undefined,
    p: Pending,
  ): Promise<boolean> {
    try {
      if (vary !== undefined) {
        const record: VaryRecord = { kind: 'vary', url: entry.url, vary, ttl: entry.ttl }
        await this.store.set(p.primary, record)
      }
      await this.store.set(key, entry)
      this.counters.stored++
      return true
    } catch {
      return false
    }
  }

  /** Replaces the upstream's answer (a 304, or a 5xx under stale-if-error) with the stored response. */
  private serveFromEntry(
    ctx: ResponseContext,
    p: Pending,
    entry: Entry,
    now: number,
    x: 'Refresh' | 'Stale',
    params: string,
  ) {
    const res = ctx.response
    if (x === 'Refresh' && p.clientConditional && notModified(entry, ctx.request.headers)) {
      const h: Headers = notModifiedHeaders(entry)
      h.age = String(currentAge(entry, now))
      this.status.set(h, x, params)
      res.status = 304
      res.headers = h
      return
    }
    const h: Headers = { ...entry.headers, age: String(currentAge(entry, now)) }
    this.status.set(h, x, params)
    // The stored bytes are the upstream's own representation: its strong ETag and digests stay true.
    ctx.serveStored(entry.status, h, entry.body)
  }

  private contentTypeAllowed(value: Headers[string]): boolean {
    if (this.contentTypes.length === 0) return true
    if (value === undefined) return false
    const type = (Array.isArray(value) ? value[0]! : value).split(';', 1)[0]!.trim().toLowerCase()
    const major = type.slice(0, type.indexOf('/') + 1)
    return this.contentTypes.some((t) => t === type || (t.endsWith('/*') && t.slice(0, -1) === major))
  }

  private async invalidate(ctx: ResponseContext, p: Pending): Promise<void> {
    const status = ctx.response.status
    if (status < 200 || status >= 400) return
    const urls = new Set([p.url])
    // RFC 9111 §4.4: Location and Content-Location may be invalidated too, when on the same host.
    for (const name of ['location', 'content-location']) {
      const target = sameHostUrl(ctx.response.headers[name], ctx.request.host, this.query)
      if (target !== undefined) urls.add(target)
    }
    try {
      for (const url of urls) this.counters.purged += await this.store.purgeUrl(url)
    } catch {
      ctx.log.debug({ url: p.url }, 'cache store unavailable: could not invalidate')
    }
  }

  // ── error ────────────────────────────────────────────────────────────────────────────────────

  /** stale-if-error (RFC 5861 §4): the upstream could not be reached; serve the stored response. */
  error(ctx: ErrorContext): void {
    const p = this.pending.get(ctx)
    if (p === undefined || p.done) return
    const stale = p.stale
    const now = Date.now()
    if (stale !== undefined && ctx.error.code.startsWith('GH_UPSTREAM_') && now < stale.sieUntil) {
      p.done = true
      this.counters.stale++
      const h: Record<string, string | string[]> = { ...stale.headers, age: String(currentAge(stale, now)) }
      this.status.set(h, 'Stale', forwardParams('stale', undefined, false, 'stale-if-error'))
      ctx.respond(
        stale.status,
        ctx.request.method === 'HEAD' ? undefined : stale.body,
        h as Record<string, string>,
      )
    }
    this.finish(p)
  }

  /** The request is done with the cache: wake the requests waiting for this miss. */
  private finish(p: Pending): void {
    p.done = true
    const leader = p.leader
    if (leader === undefined) return
    p.leader = undefined
    if (this.flights.get(p.key) === leader) this.flights.delete(p.key)
    if (p.key !== p.primary && this.flights.get(p.primary) === leader) this.flights.delete(p.primary)
    leader.resolve()
  }

  // ── stale-while-revalidate ───────────────────────────────────────────────────────────────────

  /** Refreshes a stale entry in the background (once at a time per key); the client already has it. */
  private refresh(ctx: AccessContext, p: Pending, entry: Entry): void {
    if (this.refreshing.has(entry.key)) return
    this.refreshing.add(entry.key)
    const up = ctx.upstream
    const headers: Headers = { ...up.headers }
    for (const name of CONDITIONALS) delete headers[name]
    const request = this.policyRequestFor(ctx.request.headers, p, varyNames(entry.headers.vary))
    this.addValidators(headers, entry, request)
    const path = up.querystring === '' ? up.path : `${up.path}?${up.querystring}`
    const reqHeaders = { ...ctx.request.headers }
    const log = this.log
    fetchUpstream(up.target, path, headers, up.timeouts.read, this.c.maxBodySize)
      .then(async (res) => {
        const now = Date.now()
        const o = this.buildOptions(reqHeaders, p, res.headers, now, undefined)
        let next: Entry | NotStored | undefined
        if (res.status === 304) next = revalidated(entry, o)
        else if (this.statuses.has(res.status) && res.body !== undefined && !ERROR_STATUSES.has(res.status))
          next = buildEntry({ ...o, key: entry.key, url: entry.url, status: res.status, body: res.body })
        if (next !== undefined && typeof next !== 'string') {
          this.counters.refreshes++
          const vary = varyNames(next.headers.vary)
          await this.put(next.key, next, vary, { ...p, primary: p.primary })
        }
      })
      .catch((err: Error) => log.debug({ err: err.message, key: entry.key }, 'background refresh failed'))
      .finally(() => this.refreshing.delete(entry.key))
  }

  // ── purge ────────────────────────────────────────────────────────────────────────────────────

  /** `PURGE /path` (that URL), `PURGE /prefix*` (a path prefix on this host), or with the tag header. */
  private async httpPurge(ctx: AccessContext): Promise<void> {
    authorisePurge(ctx, this.purgeToken, this.purgeGroups)
    const req = ctx.request
    const tagValue = req.headers[this.c.tagHeader]
    let spec: PurgeSpec
    if (tagValue !== undefined)
      spec = {
        tag: String(tagValue)
          .split(/[\s,]+/)
          .filter((t) => t !== ''),
      }
    else if (req.path.endsWith('*')) spec = { prefix: req.path.slice(0, -1), host: req.host }
    else spec = { url: urlKey(req.host, req.path, normaliseQuery(req.querystring, this.query)) }
    const purged = await this.purge(spec)
    ctx.respond(200, { purged })
  }

  /** Removes entries; resolves to how many stored responses were removed. */
  async purge(spec: PurgeSpec): Promise<number> {
    let n = 0
    if ('key' in spec) n = await this.store.purgeKey(spec.key)
    else if ('url' in spec)
      n = await this.store.purgeUrl(/^https?:\/\//i.test(spec.url) ? this.keyFor(spec.url) : spec.url)
    else if ('prefix' in spec) n = await this.store.purgePrefix(spec.prefix, spec.host?.toLowerCase())
    else if ('tag' in spec) {
      for (const tag of typeof spec.tag === 'string' ? [spec.tag] : spec.tag)
        n += await this.store.purgeTag(tag)
    } else if ('all' in spec && spec.all === true) n = await this.store.clear()
    this.counters.purged += n
    return n
  }

  stats(): CacheStats {
    const s = { ...this.counters }
    if (this.memory !== undefined) {
      s.entries = this.memory.countEntries()
      s.bytes = this.memory.bytes
    }
    return s
  }

  /** The key the cache uses for a URL (`http://host/path?query`), for `purge({ key })`. */
  keyFor(url: string, consumer?: string): string {
    const u = new URL(url)
    return primaryKey(
      urlKey(u.hostname.toLowerCase(), u.pathname, normaliseQuery(u.search.slice(1), this.query)),
      consumer,
    )
  }

  async close(): Promise<void> {
    for (const flight of this.flights.values()) flight.resolve()
    this.flights.clear()
    await this.store.close()
  }
}

const EMPTY = Buffer.alloc(0)
