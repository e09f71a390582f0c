import type { Readable } from 'node:stream'
import type { GatehouseError, Headers } from '@gatehousejs/sdk'
import { Pool } from 'undici'
import { RequestBodyInvalid, UpstreamBadResponse, UpstreamTimeout, UpstreamUnreachable } from './errors.js'

/**
 * Upstream connections: one undici Pool per origin and connect timeout, kept alive and shared by every
 * route to that origin. Pools outlive a reload when the new configuration still uses them, so a
 * reload does not drop warm connections.
 */
export class Pools {
  /** origin → connect timeout → pool: the per-request lookup builds no key string. */
  private readonly byOrigin = new Map<string, Map<number, Pool>>()

  get(origin: string, connectTimeout: number): Pool {
    let byTimeout = this.byOrigin.get(origin)
    let pool = byTimeout?.get(connectTimeout)
    if (pool !== undefined) return pool
    pool = new Pool(origin, { connect: { timeout: connectTimeout }, keepAliveTimeout: 4_000 })
    if (byTimeout === undefined) this.byOrigin.set(origin, (byTimeout = new Map()))
    byTimeout.set(connectTimeout, pool)
    return pool
  }

  /** Closes pools whose {@link poolKey} is not in `keep`, after their requests finish. */
  async retain(keep: Set<string>): Promise<void> {
    const closing: Promise<void>[] = []
    for (const [origin, byTimeout] of this.byOrigin) {
      for (const [timeout, pool] of byTimeout) {
        if (keep.has(poolKey(origin, timeout))) continue
        byTimeout.delete(timeout)
        closing.push(pool.close().catch(() => {}))
      }
      if (byTimeout.size === 0) this.byOrigin.delete(origin)
    }
    await Promise.all(closing)
  }

  async closeAll(): Promise<void> {
    await this.retain(new Set())
  }
}

export function poolKey(origin: string, connectTimeout: number): string {
  return `${origin}|${connectTimeout}`
}

export interface UpstreamResponse {
  statusCode: number
  headers: Record<string, string | string[] | undefined>
  body: Readable
}

export interface SendOptions {
  method: string
  path: string
  headers: Headers
  body: Readable | Buffer | string | undefined
  readTimeout: number
  /** Anything undici accepts as a signal: `addEventListener`, `removeEventListener`, `aborted`. */
  signal: { aborted: boolean }
}

/** The code of the (internal) error `sendUpstream` throws for a status outside 100–599. */
const BAD_STATUS = 'ERR_UPSTREAM_STATUS_INVALID'

export async function sendUpstream(pool: Pool, opts: SendOptions): Promise<UpstreamResponse> {
  const res = await pool.request({
    method: opts.method as 'GET',
    path: opts.path,
    headers: opts.headers as Record<string, string>,
    body: opts.body ?? null,
    headersTimeout: opts.readTimeout,
    bodyTimeout: opts.readTimeout,
    signal: opts.signal as unknown as import('node:events').EventEmitter,
  })
  // RFC 9110 §15: a status outside 100–599 is no HTTP status (Node could not even send it on): the
  // response is invalid, a failed attempt like any other (a retry may go to another target).
  if (res.statusCode < 100 || res.statusCode > 599) {
    res.body.on('error', () => {})
    res.body.destroy()
    throw Object.assign(new Error(`upstream status ${res.statusCode} is outside 100-599`), {
      code: BAD_STATUS,
    })
  }
  return { statusCode: res.statusCode, headers: res.headers, body: res.body as unknown as Readable }
}

const TIMEOUT_CODES = new Set([
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'ETIMEDOUT',
])

/** Maps an undici/socket error to the client-facing error; the original stays as `cause`. */
export function upstreamError(err: unknown): GatehouseError {
  const code = (err as { code?: string })?.code ?? ''
  let mapped: GatehouseError
  if (TIMEOUT_CODES.has(code)) mapped = UpstreamTimeout()
  else if (code === 'UND_ERR_REQ_CONTENT_LENGTH_MISMATCH')
    mapped = RequestBodyInvalid('its length does not match Content-Length')
  else if (
    code.startsWith('HPE_') ||
    // undici's HTTPParserError often carries no code (e.g. a response that is not HTTP at all).
    (err as { name?: string })?.name === 'HTTPParserError' ||
    code === 'UND_ERR_INFO' ||
    code === BAD_STATUS ||
    code === 'UND_ERR_RES_CONTENT_LENGTH_MISMATCH'
  ) {
    mapped = UpstreamBadResponse()
  } else mapped = UpstreamUnreachable()
  Object.defineProperty(mapped, 'cause', { value: err, enumerable: false })
  return mapped
}
