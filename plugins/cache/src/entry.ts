import type { Headers } from '@gatehousejs/sdk'
import CachePolicy from 'http-cache-semantics'
import { seconds } from './directives.js'
import { parseHttpDate } from './http-date.js'
import { requestCacheControl, responseView } from './view.js'

/**
 * A stored response and everything a hit needs precomputed: the headers to send, the instants it stops
 * being fresh and usable stale, and its validators. The freshness rules (storable or not, freshness
 * lifetime from s-maxage/max-age/Expires/heuristics, Age, Vary, revalidation merging) come from
 * http-cache-semantics; this module turns its answers into numbers a hit can compare cheaply.
 */
export interface Entry {
  readonly kind: 'entry'
  readonly key: string
  readonly url: string
  readonly status: number
  readonly body: Buffer
  readonly policy: CachePolicy
  /** Epoch ms when the response was received. */
  readonly storedAt: number
  /** The response's Age when received, in seconds. */
  readonly initialAge: number
  readonly freshUntil: number
  /** Until when it may be served stale while a refresh runs (RFC 5861 §3); 0 when never. */
  readonly swrUntil: number
  /** Until when it may be served when the upstream fails (RFC 5861 §4); 0 when never. */
  readonly sieUntil: number
  /** `public`, `s-maxage` or `must-revalidate`: may answer requests with Authorization (RFC 9111 §3.5). */
  readonly sharedWithAuth: boolean
  /** `must-revalidate` or `proxy-revalidate`: never served stale, whatever the request allows (§5.2.2.2). */
  readonly mustRevalidate: boolean
  readonly etag: string | undefined
  readonly lastModified: string | undefined
  readonly tags: readonly string[]
  /** The headers to send, without Age and the status headers. */
  readonly headers: Readonly<Record<string, string | string[]>>
  /** How long the store keeps it, in ms. */
  readonly ttl: number
  /** Headers of a hit, built once per entry; `age` is updated in place when it changes. */
  hitHeaders: Record<string, string | string[]> | undefined
  hitAge: number
}

/** Stored at a URL's primary key when its response varies: which request headers select the entry. */
export interface VaryRecord {
  readonly kind: 'vary'
  readonly url: string
  readonly vary: readonly string[]
  readonly ttl: number
}

export type CacheRecord = Entry | VaryRecord

export interface BuildOptions {
  key: string
  url: string
  status: number
  /** The upstream response headers (lower-case names). */
  headers: Readonly<Headers>
  body: Buffer
  /** The request headers the policy may look at (see {@link policyRequest}). */
  request: PolicyRequest
  now: number
  defaultTtl: number
  keepStale: number
  storeSetCookie: boolean
  tagHeader: string
  stripTagHeader: boolean
  /** The targeted cache-control field (RFC 9213) this cache obeys, lower case; none when undefined. */
  targetedField?: string | undefined
  /** Leave the targeted field out of the stored response (and so out of hits). */
  stripTargetedField?: boolean
}

export interface PolicyRequest {
  method: 'GET'
  headers: Record<string, string>
}

const POLICY_OPTIONS = { shared: true }
/** Framing and encoding belong to the upstream message, not to the stored, decoded body. */
const DROPPED = ['content-encoding', 'content-length', 'transfer-encoding', 'age', 'set-cookie']

/**
 * The request as the policy sees it: only what decides storability and variants, never cookies or
 * other credentials, because a Redis entry carries it. `authorization` is left out when the cache is
 * isolated per consumer (the key separates consumers, so sharing rules do not apply).
 */
export function policyRequest(
  headers: Readonly<Headers>,
  vary: readonly string[] | undefined,
  keepAuthorization: boolean,
): PolicyRequest {
  const h: Record<string, string> = {}
  // The library reads request directives case-sensitively: it gets the plugin's reading of them.
  const cc = requestCacheControl(headers['cache-control'])
  if (cc !== undefined) h['cache-control'] = cc
  copy(h, headers, 'pragma')
  if (h.pragma !== undefined) h.pragma = h.pragma.toLowerCase()
  if (keepAuthorization) copy(h, headers, 'authorization')
  if (vary) for (const name of vary) copy(h, headers, name)
  return { method: 'GET', headers: h }
}

function copy(to: Record<string, string>, from: Readonly<Headers>, name: string): void {
  const v = from[name]
  if (v !== undefined) to[name] = Array.isArray(v) ? v.join(', ') : v
}

/** Why a response was not stored, for `Cache-Status: …; detail=` and the debug log. */
export type NotStored = 'set-cookie' | 'not-storable' | 'no-freshness'

/** Builds the entry to store, or says why the response must not be stored. */
export function buildEntry(o: BuildOptions): Entry | NotStored {
  const resHeaders: Record<string, string> = {}
  for (const name in o.headers) {
    const v = o.headers[name]
    if (v !== undefined) resHeaders[name] = Array.isArray(v) ? v.join(', ') : v
  }
  if (resHeaders['set-cookie'] !== undefined) {
    // A cookie is one client's state: never replayed to another (RFC 9111 §7.3 leaves it to the cache).
    if (!o.storeSetCookie) return 'set-cookie'
    delete resHeaders['set-cookie']
  }
  const view = responseView(resHeaders, o.targetedField)
  const policyHeaders = view.policyHeaders
  const explicit = policyHeaders['cache-control'] !== undefined || policyHeaders.expires !== undefined
  if (o.defaultTtl > 0 && !explicit)
    policyHeaders['cache-control'] = `max-age=${Math.ceil(o.defaultTtl / 1000)}`
  const policy = new CachePolicy(o.request, { status: o.status, headers: policyHeaders }, POLICY_OPTIONS)
  return fromPolicy(o, policy, resHeaders, view)
}

/** Fields the library normalised for its own reading: the client gets them as the upstream sent them. */
const AS_SENT = ['cache-control', 'expires', 'date', 'last-modified', 'pragma']

function fromPolicy(
  o: BuildOptions,
  policy: CachePolicy,
  resHeaders: Record<string, string>,
  view: ReturnType<typeof responseView>,
): Entry | NotStored {
  if (!policy.storable()) return 'not-storable'
  const cc = view.directives
  const etag = resHeaders.etag
  const lastModified = resHeaders['last-modified']
  const lifetime = policy.maxAge()
  const age = policy.age()
  const freshFor = Math.max(0, lifetime - age) * 1000
  // A response that is never fresh is still worth keeping when it can be revalidated (a 304 is cheap).
  if (freshFor <= 0 && etag === undefined && lastModified === undefined) return 'no-freshness'
  const mustRevalidate = cc['must-revalidate'] === true || cc['proxy-revalidate'] === true
  const freshUntil = o.now + freshFor
  const swr = mustRevalidate ? 0 : seconds(cc, 'stale-while-revalidate') * 1000
  const sie = mustRevalidate ? 0 : seconds(cc, 'stale-if-error') * 1000
  const validators = etag !== undefined || lastModified !== undefined
  const ttl = Math.max(1, freshFor + Math.max(swr, sie, validators ? o.keepStale : 0))

  // responseHeaders() drops hop-by-hop fields (and those named in Connection) and sets Date/Age.
  const headers = policy.responseHeaders() as Record<string, string | string[]>
  for (const name of DROPPED) delete headers[name]
  for (const name of AS_SENT) {
    if (resHeaders[name] === undefined) delete headers[name]
    else headers[name] = resHeaders[name]
  }
  // RFC 9111 §5.2.2.4/§5.2.2.7: the fields named by no-cache="…"/private="…" are never replayed.
  for (const name of view.omit) delete headers[name]
  if (o.stripTagHeader) delete headers[o.tagHeader]
  if (o.targetedField !== undefined && o.stripTargetedField) delete headers[o.targetedField]
  if (o.status !== 204 && o.status !== 304) headers['content-length'] = String(o.body.length)
  return {
    kind: 'entry',
    key: o.key,
    url: o.url,
    status: o.status,
    body: o.body,
    policy,
    storedAt: o.now,
    initialAge: age,
    freshUntil,
    swrUntil: swr > 0 ? freshUntil + swr : 0,
    sieUntil: sie > 0 ? freshUntil + sie : 0,
    sharedWithAuth: cc.public === true || cc['s-maxage'] !== undefined || cc['must-revalidate'] === true,
    mustRevalidate,
    etag,
    lastModified,
    tags: tagsOf(resHeaders[o.tagHeader]),
    headers,
    ttl,
    hitHeaders: undefined,
    hitAge: -1,
  }
}

/** RFC 9111 §3.2: what a 304 may not change in the stored response (framing, the body's coding). */
const NOT_UPDATED = new Set([
  'content-length',
  'content-encoding',
  'transfer-encoding',
  'content-range',
  'set-cookie',
  'connection',
  'keep-alive',
  'proxy-connection',
  'te',
  'trailer',
  'upgrade',
])

/**
 * After a 304 to a revalidation: the stored response with the 304's header fields added or
 * replacing its own (RFC 9111 §3.2, §4.3.4), the stored body kept. `undefined` when the 304's
 * validator does not select the stored response (§4.3.4; the library's check).
 */
export function revalidated(
  entry: Entry,
  o: Omit<BuildOptions, 'status' | 'body' | 'key' | 'url'>,
): Entry | NotStored | undefined {
  const res: Record<string, string> = {}
  for (const name in o.headers) {
    const v = o.headers[name]
    if (v !== undefined && !NOT_UPDATED.has(name)) res[name] = Array.isArray(v) ? v.join(', ') : v
  }
  const { matches } = entry.policy.revalidatedPolicy(o.request, {
    status: 304,
    headers: responseView(res, o.targetedField).policyHeaders,
  })
  if (!matches) return undefined
  const merged: Record<string, string | string[]> = { ...entry.headers, ...res }
  // The 304's Age (or none) is the new response's: the stored one described the old response.
  if (res.age === undefined) delete merged.age
  return buildEntry({
    ...o,
    key: entry.key,
    url: entry.url,
    status: entry.status,
    body: entry.body,
    headers: merged,
  })
}

/** `a, b c` → `['a', 'b', 'c']`: Cache-Tag lists use commas, Surrogate-Key spaces. */
export function tagsOf(value: string | undefined): string[] {
  if (value === undefined) return []
  return [...new Set(value.split(/[\s,]+/).filter((t) => t !== ''))]
}

/** Seconds since the response was generated (RFC 9111 §4.2.3): its Age plus the time stored. */
export function currentAge(entry: Entry, now: number): number {
  return Math.max(0, Math.floor(entry.initialAge + (now - entry.storedAt) / 1000))
}

/** Whether the client's conditional request matches the entry (RFC 9110 §13.1.2, §13.1.3): answer 304. */
export function notModified(entry: Entry, headers: Readonly<Headers>): boolean {
  const inm = headers['if-none-match']
  if (inm !== undefined) {
    if (entry.etag === undefined) return false
    const list = Array.isArray(inm) ? inm.join(',') : inm
    if (list.trim() === '*') return true
    // Weak comparison: W/"x" and "x" match.
    const tag = weak(entry.etag)
    return list.split(',').some((t) => weak(t.trim()) === tag)
  }
  const ims = headers['if-modified-since']
  if (ims === undefined || entry.lastModified === undefined || Array.isArray(ims)) return false
  // RFC 9110 §13.1.3: an If-Modified-Since that is not a valid HTTP-date is ignored.
  const since = parseHttpDate(ims)
  const modified = parseHttpDate(entry.lastModified)
  return since !== undefined && modified !== undefined && modified <= since
}

function weak(tag: string): string {
  return tag.startsWith('W/') ? tag.slice(2) : tag
}

/** RFC 9110 §15.4.5: what a 304 carries from the stored response. */
const NOT_MODIFIED_HEADERS = [
  'cache-control',
  'content-location',
  'date',
  'etag',
  'expires',
  'vary',
  'last-modified',
]

export function notModifiedHeaders(entry: Entry): Record<string, string | string[]> {
  const h: Record<string, string | string[]> = {}
  for (const name of NOT_MODIFIED_HEADERS) {
    const v = entry.headers[name]
    if (v !== undefined) h[name] = v
  }
  return h
}

// ── Serialisation (Redis): [4-byte meta length][meta JSON][body] ─────────────────────────────────

/** 2: every decision reads the headers through one parser; entries written by 1 are misses. */
const FORMAT = 2

interface EntryMeta {
  v: typeof FORMAT
  k: 'entry'
  key: string
  url: string
  status: number
  headers: Record<string, string | string[]>
  storedAt: number
  initialAge: number
  freshUntil: number
  swrUntil: number
  sieUntil: number
  sharedWithAuth: boolean
  mustRevalidate: boolean
  etag?: string
  lastModified?: string
  tags: readonly string[]
  ttl: number
  policy: CachePolicy.CachePolicyObject
}

interface VaryMeta {
  v: typeof FORMAT
  k: 'vary'
  url: string
  vary: readonly string[]
  ttl: number
}

export function serialise(record: CacheRecord): Buffer {
  const meta: EntryMeta | VaryMeta =
    record.kind === 'vary'
      ? { v: FORMAT, k: 'vary', url: record.url, vary: record.vary, ttl: record.ttl }
      : {
          v: FORMAT,
          k: 'entry',
          key: record.key,
          url: record.url,
          status: record.status,
          headers: record.headers as Record<string, string | string[]>,
          storedAt: record.storedAt,
          initialAge: record.initialAge,
          freshUntil: record.freshUntil,
          swrUntil: record.swrUntil,
          sieUntil: record.sieUntil,
          sharedWithAuth: record.sharedWithAuth,
          mustRevalidate: record.mustRevalidate,
          ...(record.etag !== undefined ? { etag: record.etag } : {}),
          ...(record.lastModified !== undefined ? { lastModified: record.lastModified } : {}),
          tags: record.tags,
          ttl: record.ttl,
          policy: record.policy.toObject(),
        }
  const json = Buffer.from(JSON.stringify(meta))
  const head = Buffer.allocUnsafe(4)
  head.writeUInt32BE(json.length, 0)
  return record.kind === 'vary' ? Buffer.concat([head, json]) : Buffer.concat([head, json, record.body])
}

/** The record, or `undefined` for bytes this version did not write (treated as a miss). */
export function deserialise(buf: Buffer): CacheRecord | undefined {
  try {
    const len = buf.readUInt32BE(0)
    const meta = JSON.parse(buf.subarray(4, 4 + len).toString('utf8')) as EntryMeta | VaryMeta
    if (meta.v !== FORMAT) return undefined
    if (meta.k === 'vary') return { kind: 'vary', url: meta.url, vary: meta.vary, ttl: meta.ttl }
    return {
      kind: 'entry',
      key: meta.key,
      url: meta.url,
      status: meta.status,
      body: buf.subarray(4 + len),
      policy: CachePolicy.fromObject(meta.policy),
      storedAt: meta.storedAt,
      initialAge: meta.initialAge,
      freshUntil: meta.freshUntil,
      swrUntil: meta.swrUntil,
      sieUntil: meta.sieUntil,
      sharedWithAuth: meta.sharedWithAuth,
      mustRevalidate: meta.mustRevalidate,
      etag: meta.etag,
      lastModified: meta.lastModified,
      tags: meta.tags,
      headers: meta.headers,
      ttl: meta.ttl,
      hitHeaders: undefined,
      hitAge: -1,
    }
  } catch {
    return undefined
  }
}

/** Approximate bytes an entry holds in memory, for the LRU's bound. */
export function sizeOf(record: CacheRecord): number {
  if (record.kind === 'vary') return 64 + record.url.length * 2
  let size = record.body.length + record.key.length * 2 + 256
  for (const name in record.headers) size += name.length + String(record.headers[name]).length
  return size
}
