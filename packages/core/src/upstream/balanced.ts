import { Readable } from 'node:stream'
import { UpstreamTimeout, UpstreamUnavailable } from '../errors.js'
import type { ResilientService, RetryPolicy } from '../model.js'
import { drainRest } from '../request/body.js'
import type { Context } from '../request/context.js'
import type { InterimSink } from './interim.js'
import { POOL_REFUSALS, type Pools } from './pools.js'
import { sendUpstream, type UpstreamResponse } from './send.js'
import type { Target } from './target.js'

/**
 * Sending to a balanced service: pick a target, send, judge the outcome for passive health, and
 * retry on another target when that is safe. RFC 9110 §9.2.2: only idempotent methods may be
 * repeated once the upstream may have acted on them; any method may be when the connection never
 * opened (nothing was sent). A request whose body is streaming from the client cannot be replayed.
 */

/** Errors raised before a connection existed: the upstream cannot have seen the request. */
const NOT_SENT = new Set([
  'ECONNREFUSED',
  'UND_ERR_CONNECT_TIMEOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EADDRNOTAVAIL',
])

/** The client's fault, not the target's: no retry, no mark against the target. */
const CLIENT_SIDE = new Set(['UND_ERR_REQ_CONTENT_LENGTH_MISMATCH'])

/** Exponential backoff with "equal jitter": half the step fixed, half random, so retries spread out. */
function backoff(policy: RetryPolicy, attempt: number): number {
  const step = Math.min(policy.backoffMax, policy.backoffInitial * 2 ** attempt)
  return step / 2 + Math.random() * (step / 2)
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

function errorCode(err: unknown): string {
  return (err as { code?: string })?.code ?? ''
}

/** The abort hook the lifecycle hands undici; `abort()` also ends a `timeouts.total` wait. */
export interface Abortable {
  aborted: boolean
  abort(): void
}

export async function sendBalanced(
  pools: Pools,
  ctx: Context,
  service: ResilientService,
  path: string,
  body: Readable | Buffer | undefined,
  signal: Abortable,
  total: number,
  interim: InterimSink | undefined,
): Promise<UpstreamResponse> {
  const { group, retry } = service
  const up = ctx.upstream!
  const key = service.hashKey?.(ctx)
  retry.budget.request(performance.now())
  const buffered = body === undefined || Buffer.isBuffer(body)
  let attemptBody = buffered ? body : new DeferredBody(body)
  let timedOut = false
  const timer =
    total > 0
      ? setTimeout(() => {
          timedOut = true
          signal.abort()
        }, total)
      : undefined
  let tried: Set<Target> | undefined
  let lastError: unknown
  try {
    for (let attempt = 0; ; attempt++) {
      // A retry goes to a target not tried yet; the same one only when no other is usable.
      const target = group.pick(key, tried) ?? (tried !== undefined ? group.pick(key, undefined) : undefined)
      if (target === undefined) {
        // Every target failed or is out: the last failure says more than "unavailable".
        if (lastError !== undefined) throw lastError
        throw UpstreamUnavailable().withHeaders({ 'retry-after': String(group.retryAfter()) })
      }
      up.target = target.origin
      target.active++
      let res: UpstreamResponse
      try {
        res = await sendUpstream(pools.get(target.origin, up.timeouts.connect, service.pool), {
          method: up.method,
          path,
          headers: up.headers,
          body: attemptBody,
          readTimeout: up.timeouts.read,
          signal,
          interim,
        })
      } catch (err) {
        target.active--
        // The gateway's own pool was full (GH_UPSTREAM_QUEUE_*): not the target's fault, no retry.
        if (POOL_REFUSALS.has((err as { code?: string })?.code ?? '')) {
          group.reportAbandoned(target)
          throw err
        }
        const code = errorCode(err)
        const clientSide =
          CLIENT_SIDE.has(code) || (attemptBody instanceof DeferredBody && attemptBody.failed)
        if (signal.aborted || clientSide) {
          group.reportAbandoned(target)
          if (timedOut) throw withCause(UpstreamTimeout(), err)
          throw err
        }
        group.reportFailure(target, code || (err as Error)?.name || 'error')
        lastError = err
        const notSent = NOT_SENT.has(code)
        // A streamed body can go again only if not one byte of it was taken.
        const replayable = buffered || (notSent && !(attemptBody as DeferredBody).started)
        const safe = notSent || retry.methods.has(up.method)
        if (attempt >= retry.attempts || !replayable || !safe || !retry.budget.tryRetry(performance.now()))
          throw err
        if (!buffered) attemptBody = new DeferredBody(body as Readable)
        if (tried === undefined) tried = new Set()
        tried.add(target)
        ctx.requestLog.debug({ target: target.url, code, attempt: attempt + 1 }, 'retrying upstream request')
        await sleep(backoff(retry, attempt))
        if (signal.aborted) throw timedOut ? withCause(UpstreamTimeout(), err) : err
        continue
      }
      group.reportStatus(target, res.statusCode)
      // In flight until the body is done: least-connections counts streaming responses too.
      res.body.once('close', () => target.active--)
      return res
    }
  } finally {
    if (timer !== undefined) clearTimeout(timer)
    // No attempt follows: from here, the client's body is dropped once undici gives it up.
    if (attemptBody instanceof DeferredBody) attemptBody.lastAttempt()
  }
}

/**
 * A client body stream handed to undici in a wrapper that starts reading the client only when undici
 * first asks for data (once connected). undici destroys the body it was given when the request
 * fails; destroying the wrapper leaves the client stream unread and paused, so a request refused at
 * connect can be sent again with a new wrapper. Once no attempt follows ({@link lastAttempt}), the
 * rest of the client's body is read and dropped instead, when the request failed or the upstream
 * answered before taking all of it: left paused, it stalled the client's upload.
 */
class DeferredBody extends Readable {
  started = false
  /** The client's stream failed (went away, or over a body limit): not the target's fault. */
  failed = false
  private last = false
  private readonly source: Readable
  private readonly onData = (chunk: Buffer) => {
    if (!this.push(chunk)) this.source.pause()
  }
  private readonly onEnd = () => this.push(null)
  private readonly onError = (err: Error) => {
    this.failed = true
    this.destroy(err)
  }

  constructor(source: Readable) {
    super()
    this.source = source
  }

  override _read(): void {
    if (!this.started) {
      this.started = true
      this.source.on('data', this.onData)
      this.source.once('end', this.onEnd)
      this.source.once('error', this.onError)
    }
    this.source.resume()
  }

  /** No other attempt will send the body: the wrapper's end, now or later, drains the client's. */
  lastAttempt(): void {
    this.last = true
    if (this.destroyed) drainRest(this.source)
  }

  override _destroy(err: Error | null, callback: (err: Error | null) => void): void {
    this.source.off('data', this.onData)
    this.source.off('end', this.onEnd)
    this.source.off('error', this.onError)
    if (this.last) drainRest(this.source)
    else this.source.pause()
    callback(err)
  }
}

function withCause<E extends object>(error: E, cause: unknown): E {
  Object.defineProperty(error, 'cause', { value: cause, enumerable: false })
  return error
}
