import type { ServerResponse } from 'node:http'
import { Readable } from 'node:stream'
import type { GatehouseError, Headers } from '@gatehousejs/sdk'
import {
  RequestBodyInvalid,
  UpstreamBadResponse,
  UpstreamQueueFull,
  UpstreamQueueTimeout,
  UpstreamTimeout,
  UpstreamUnreachable,
} from '../errors.js'
import { bodyProxied } from '../server/body-gc.js'
import { upstreamRead } from '../server/heap-trim.js'
import { RETRY_AFTER } from '../server/protect.js'
import { forwardInterim, type InterimSink } from './interim.js'
import { limiterOf, type PoolLimiter } from './pools.js'
import { type Pool, parseHeaders } from './undici.js'

/**
 * One request to an upstream through a pool (undici's dispatcher API), its response body, and the
 * mapping of upstream failures to stable codes (docs/errors.md).
 */

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
  /** The client's response, when the upstream's 1xx responses are passed on to it (upstream/interim.ts). */
  interim?: InterimSink | undefined
}

/** The code of the (internal) error `sendUpstream` throws for a status outside 100–599. */
const BAD_STATUS = 'ERR_UPSTREAM_STATUS_INVALID'

export function sendUpstream(pool: Pool, opts: SendOptions): Promise<UpstreamResponse> {
  const limiter = limiterOf(pool)
  if (limiter !== undefined) {
    const { connections, queue } = limiter.limits
    if (limiter.inflight >= connections + queue)
      return Promise.reject(limiter.refuse(UpstreamQueueFull().withHeaders({ 'retry-after': RETRY_AFTER })))
    limiter.inflight++
  }
  return new Promise((resolve, reject) => {
    const body = new UpstreamBody(resolve, reject, opts.signal as AbortHookLike, opts.interim, limiter)
    pool.dispatch(
      {
        method: opts.method as 'GET',
        path: opts.path,
        headers: opts.headers as Record<string, string>,
        body: opts.body ?? null,
        headersTimeout: opts.readTimeout,
        bodyTimeout: opts.readTimeout,
      },
      body,
    )
  })
}

/** What core's abort signals offer (lifecycle's AbortHook, retry's hooks). */
interface AbortHookLike {
  aborted: boolean
  addEventListener(type: 'abort', listener: () => void): void
  removeEventListener(type: 'abort', listener: () => void): void
}

const UNDECIDED = 0
const STREAM = 1
const DIRECT = 2
/**
 * Bytes the client's response may hold before the upstream is paused, when a body is written straight
 * to it. Node's `write()` answers "wait for drain" for any chunk over its 16 KiB high-water mark, even
 * when the kernel took the whole chunk at once; honouring that paused and resumed the upstream for
 * every 64 KiB read. What is really still queued is what counts.
 */
const DIRECT_LIMIT = 64 * 1024
/**
 * Bytes of body held before anyone reads it (while the lifecycle decides where the body goes): below
 * this, undici keeps parsing, so a small body is complete by the time it is sent. Pausing the parser
 * at the first chunk, as before, made undici hand the unparsed rest back to the socket (`unshift`),
 * parse again on resume, and cost one more (empty) write to the client per 64 KiB response (strace).
 */
const PENDING_LIMIT = 128 * 1024
/**
 * The rest of a body, when the upstream declared its length, that is at most this many bytes away:
 * the client's response is corked until it arrives (or the event loop's next check phase), so the
 * last two reads leave in one `writev`. A 64 KiB file comes in two socket reads (the head takes some
 * of the first 64 KiB), and each was a write of its own.
 */
const TAIL = 64 * 1024
const kBody = Symbol('gatehouse.upstreamBody')
type Sink = ServerResponse & { [kBody]?: UpstreamBody }

/**
 * The upstream's answer, received through undici's dispatcher API (one handler object per request:
 * no api-request wrapper, no AsyncResource, no closure per chunk). The body is a Readable for
 * whoever reads it as one (response plugins, dispatched calls, HTTP/2), and is otherwise written
 * straight to the client's response by {@link UpstreamBody.sendTo}: each chunk read from the
 * upstream becomes one write, with no stream in between and no pause while the kernel keeps up; the
 * last read of a body of declared length, when it comes in the same turn, shares the write of the
 * read before it ({@link TAIL}).
 */
export class UpstreamBody extends Readable {
  statusCode = 0
  headers: Record<string, string | string[] | undefined> = {}
  private mode = UNDECIDED
  private resolve: ((res: UpstreamResponse) => void) | undefined
  private reject: ((err: unknown) => void) | undefined
  private readonly signal: AbortHookLike | undefined
  private abortUpstream: ((err?: Error) => void) | undefined = undefined
  /** undici's resume, for the response's 'drain' listener. */
  resumeUpstream: (() => void) | undefined = undefined
  /** Chunks received before anyone read, at most {@link PENDING_LIMIT} bytes of them (undici pauses after). */
  private pending: Buffer[] | undefined = undefined
  private pendingBytes = 0
  private complete = false
  /** Body bytes the upstream declared and has not sent yet; -1 when it declared none (chunked). */
  private left = -1
  /** The client's response is corked by {@link holdTail}, until the body ends or the next check phase. */
  private corked = false
  sink: Sink | undefined = undefined
  private readonly interim: InterimSink | undefined
  /** The limited pool this request counts in, until its end (undefined for an unlimited pool). */
  private limiter: PoolLimiter | undefined
  /** Set while it waits for a connection of a limited pool, for `queueTimeout`. */
  private queueTimer: NodeJS.Timeout | undefined = undefined
  /** It waited too long: answered 503 already; dropped unsent when its connection comes. */
  private queueTimedOut = false

  constructor(
    resolve: (res: UpstreamResponse) => void,
    reject: (err: unknown) => void,
    signal: AbortHookLike | undefined,
    interim?: InterimSink | undefined,
    limiter?: PoolLimiter,
  ) {
    super()
    this.resolve = resolve
    this.reject = reject
    this.signal = signal
    this.interim = interim
    this.limiter = limiter
    // Beyond `connections`, it waits in undici's queue: bounded in time too.
    if (
      limiter !== undefined &&
      limiter.inflight > limiter.limits.connections &&
      limiter.limits.queueTimeout > 0
    )
      this.queueTimer = setTimeout(onQueueTimeout, limiter.limits.queueTimeout, this)
  }

  /** The wait for a connection ran out: the client gets 503 now. */
  queueExpired(): void {
    this.queueTimer = undefined
    const reject = this.reject
    if (reject === undefined) return
    this.queueTimedOut = true
    this.resolve = undefined
    this.reject = undefined
    const err = UpstreamQueueTimeout().withHeaders({ 'retry-after': RETRY_AFTER })
    reject(this.limiter?.refuse(err) ?? err)
  }

  private release(): void {
    if (this.queueTimer !== undefined) clearTimeout(this.queueTimer)
    this.queueTimer = undefined
    if (this.limiter !== undefined) this.limiter.inflight--
    this.limiter = undefined
  }

  // ── undici's dispatch handler ────────────────────────────────────────────────────────────────
  onConnect(abort: (err?: Error) => void): void {
    if (this.queueTimer !== undefined) {
      clearTimeout(this.queueTimer)
      this.queueTimer = undefined
    }
    // Its client was answered 503 while it waited: it is dropped before a byte is sent.
    if (this.queueTimedOut) {
      abort()
      return
    }
    this.abortUpstream = abort
    const signal = this.signal
    if (signal === undefined) return
    if (signal.aborted) abort()
    else signal.addEventListener('abort', abort)
  }

  onHeaders(statusCode: number, raw: Buffer[], resume: () => void): boolean {
    // RFC 9110 §15: a status outside 100–599 is no HTTP status (Node could not even send it on): the
    // response is invalid, a failed attempt like any other (a retry may go to another target).
    if (statusCode < 100 || statusCode > 599) {
      const err = Object.assign(new Error(`upstream status ${statusCode} is outside 100-599`), {
        code: BAD_STATUS,
      })
      this.abortUpstream?.(err)
      return false
    }
    // 1xx (101 comes only to upgrades, server/upgrade.ts): passed on to the client when the policy says so
    // (upstream/interim.ts); the final answer follows on the same request.
    if (statusCode < 200) {
      if (this.interim !== undefined)
        forwardInterim(this.interim, statusCode, parseHeaders(raw) as Record<string, string | string[]>)
      return true
    }
    upstreamRead()
    this.statusCode = statusCode
    this.resumeUpstream = resume
    // The object `request()` makes: lower-case names, repeats as arrays (undici's own parser).
    this.headers = parseHeaders(raw) as Record<string, string | string[] | undefined>
    // undici's parser has checked it: digits only, one value, the body's exact length.
    const declared = this.headers['content-length']
    if (typeof declared === 'string') this.left = Number(declared)
    const resolve = this.resolve!
    this.resolve = undefined
    this.reject = undefined
    resolve({ statusCode, headers: this.headers, body: this })
    return true
  }

  onData(chunk: Buffer): boolean {
    upstreamRead()
    bodyProxied(chunk.length)
    if (this.left > 0) this.left -= chunk.length
    if (this.mode === DIRECT) {
      const sink = this.sink!
      if (!this.corked) this.holdTail(sink)
      sink.write(chunk)
      // Corked, it holds at most this chunk and the tail.
      return this.corked || sink.writableLength <= DIRECT_LIMIT
    }
    if (this.mode === STREAM) return this.push(chunk)
    ;(this.pending ??= []).push(chunk)
    this.pendingBytes += chunk.length
    return this.pendingBytes < PENDING_LIMIT
  }

  /**
   * A piece of the client's body written upstream: counted like a body read ({@link bodyProxied}), since
   * it is the same kind of garbage once written, a buffer copied out of the client's socket. undici
   * 7 passes the chunk (`lib/core/request.js`); its types say a size, which is taken too.
   */
  onBodySent(chunk: Buffer | string | number): void {
    bodyProxied(typeof chunk === 'number' ? chunk : chunk.length)
  }

  onComplete(): void {
    this.complete = true
    this.release()
    this.unlisten()
    if (this.mode === DIRECT) this.finishDirect()
    else if (this.mode === STREAM) this.push(null)
  }

  onError(err: Error): void {
    this.complete = true
    this.release()
    this.unlisten()
    if (this.queueTimedOut) return
    if (this.reject !== undefined) {
      const reject = this.reject
      this.resolve = undefined
      this.reject = undefined
      reject(err)
      return
    }
    if (this.mode === DIRECT) {
      this.corked = false
      this.sink!.destroy(err)
      // 'close' without 'error': nobody reads this stream, whoever counts on 'close' (the balancer's
      // in-flight count) still hears that the upstream exchange is over.
      this.destroy()
    } else this.destroy(err)
  }

  /** The upstream body is complete: end the client's response and close this (unread) stream. */
  private finishDirect(): void {
    const sink = this.sink!
    sink.off('close', onSinkClose)
    // end() uncorks the socket fully: what was held leaves with the rest.
    this.corked = false
    sink.end()
    this.destroy()
  }

  /** Corks the client's response when the rest of the body is at most {@link TAIL} bytes away. */
  private holdTail(sink: Sink): void {
    if (this.left <= 0 || this.left > TAIL) return
    this.corked = true
    sink.cork()
    setImmediate(releaseTail, this)
  }

  /** The tail did not come in this turn of the event loop: what was held is written now. */
  releaseTail(): void {
    if (!this.corked) return
    this.corked = false
    const sink = this.sink!
    if (!sink.destroyed) sink.uncork()
  }

  private unlisten(): void {
    if (this.signal !== undefined && this.abortUpstream !== undefined)
      this.signal.removeEventListener('abort', this.abortUpstream)
  }

  // ── the two ways out ───────────────────────────────────────────────────────────────────────
  /** Whether {@link sendTo} can still take over: nobody has read the body as a stream. */
  get direct(): boolean {
    return this.mode === UNDECIDED && !this.destroyed
  }

  /**
   * Writes the body straight to the client's response (HTTP/1.x), ending it with the body. The
   * response's headers must be set already; the first chunk goes out with them.
   */
  sendTo(res: ServerResponse): void {
    this.mode = DIRECT
    const sink = res as Sink
    this.sink = sink
    sink[kBody] = this
    sink.on('drain', onSinkDrain)
    const pending = this.pending
    this.pending = undefined
    if (!this.complete) this.holdTail(sink)
    if (pending !== undefined) for (const chunk of pending) sink.write(chunk)
    if (this.complete) {
      if (!this.destroyed) this.finishDirect()
      return
    }
    // The client went away before the body was complete: stop reading from the upstream.
    sink.once('close', onSinkClose)
    if (this.corked || sink.writableLength <= DIRECT_LIMIT) this.resumeUpstream?.()
  }

  override _read(): void {
    if (this.mode === UNDECIDED) {
      this.mode = STREAM
      const pending = this.pending
      this.pending = undefined
      if (pending !== undefined) for (const chunk of pending) this.push(chunk)
      if (this.complete) {
        this.push(null)
        return
      }
    }
    this.resumeUpstream?.()
  }

  override _destroy(err: Error | null, callback: (err: Error | null) => void): void {
    this.pending = undefined
    if (!this.complete) this.abortUpstream?.(err ?? undefined)
    callback(err)
  }
}

function onQueueTimeout(body: UpstreamBody): void {
  body.queueExpired()
}

function releaseTail(body: UpstreamBody): void {
  body.releaseTail()
}

function onSinkDrain(this: Sink): void {
  this[kBody]?.resumeUpstream?.()
}

function onSinkClose(this: Sink): void {
  const body = this[kBody]
  if (body !== undefined && !body.destroyed) body.destroy()
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
