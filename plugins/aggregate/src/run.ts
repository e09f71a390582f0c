import { brotliDecompressSync, gunzipSync, inflateSync } from 'node:zlib'
import type { AccessContext, Dispatch, DispatchResponse } from '@gatehousejs/sdk'
import { CALL_BAD_RESPONSE, CALL_FAILED, CALL_SKIPPED, CALL_TIMEOUT } from './errors.js'
import type { CompiledCall } from './plan.js'

/** One call's outcome, as templates (`$(calls.<name>.body.x)`) and a code `merge` function see it. */
export interface CallResult {
  readonly ok: boolean
  /** The call's HTTP status; absent when it never answered (timeout, skipped). */
  readonly status: number | undefined
  readonly headers: Readonly<Record<string, string | string[] | undefined>>
  /** The parsed JSON body (`null` for an empty one), when it answered. */
  readonly body: unknown
  readonly error: CallFailure | undefined
}

/** An entry of the failure list (`_errors`). */
export interface CallFailure {
  readonly call: string
  readonly code: string
  readonly message: string
  readonly status?: number
}

/**
 * Runs the calls: every call whose dependencies have succeeded starts at once, so independent calls
 * never wait for each other; a call whose dependency failed is skipped. Resolves when all are settled
 * or `budget` ms have passed (what is still running counts as timed out).
 */
export function runCalls(
  calls: readonly CompiledCall[],
  ctx: AccessContext,
  dispatch: Dispatch,
  budget: number,
): Promise<CallResult[]> {
  const results = new Array<CallResult | undefined>(calls.length)
  const outcomes: Record<string, CallResult> = {}
  const scope = {
    params: ctx.request.params,
    query: ctx.request.query,
    headers: ctx.request.headers,
    consumer: ctx.consumer,
    calls: outcomes,
  }
  const deadline = performance.now() + budget
  return new Promise((resolve) => {
    let pending = calls.length
    const settle = (call: CompiledCall, result: CallResult) => {
      if (results[call.index] !== undefined) return
      results[call.index] = result
      outcomes[call.name] = result
      for (const j of call.dependents) {
        const next = calls[j]!
        if (!next.deps.every((d) => results[d] !== undefined)) continue
        const failed = next.deps.find((d) => !results[d]!.ok)
        if (failed === undefined) start(next)
        else settle(next, skipped(next, calls[failed]!.name))
      }
      if (--pending === 0) resolve(results as CallResult[])
    }
    const start = (call: CompiledCall) => {
      callOne(call, ctx, dispatch, scope, deadline).then((r) => settle(call, r))
    }
    for (const call of calls) if (call.deps.length === 0) start(call)
  })
}

async function callOne(
  call: CompiledCall,
  ctx: AccessContext,
  dispatch: Dispatch,
  scope: object,
  deadline: number,
): Promise<CallResult> {
  const left = deadline - performance.now()
  const timeout = Math.min(call.timeout ?? left, left)
  if (timeout <= 0) return failure(call, CALL_TIMEOUT, 'the total time budget ran out before the call')
  const headers: Record<string, string | string[]> = {}
  for (const h of call.passHeaders) {
    const v = ctx.request.headers[h]
    if (v !== undefined) headers[h] = v
  }
  for (const [name, t] of call.setHeaders) headers[name] = t.render(scope)
  let body: string | undefined
  if (call.body !== undefined) {
    body = call.body.render(scope)
    headers['content-type'] = 'application/json'
  }
  let res: DispatchResponse
  try {
    res = await dispatch({
      from: ctx,
      route: call.route,
      service: call.service,
      method: call.method,
      path: call.path.render(scope),
      headers,
      body,
      timeout: Math.ceil(timeout),
    })
  } catch (err) {
    const code = (err as { code?: unknown })?.code
    if (code === 'GH_DISPATCH_TIMEOUT')
      return failure(call, CALL_TIMEOUT, `no answer within ${Math.ceil(timeout)} ms`)
    ctx.log.error({ err, call: call.name }, 'aggregate call failed')
    return failure(call, CALL_FAILED, 'the call could not be made')
  }
  let doc: unknown
  try {
    doc = parseBody(res)
  } catch {
    if (res.status >= 400) return failure(call, CALL_FAILED, `answered ${res.status}`, res)
    return failure(call, CALL_BAD_RESPONSE, 'the answer is not JSON', res)
  }
  if (res.status < 200 || res.status >= 300) {
    const e = doc as { code?: unknown; message?: unknown } | null
    const code = typeof e?.code === 'string' && e.code.startsWith('GH_') ? e.code : CALL_FAILED
    const message = typeof e?.message === 'string' ? e.message : `answered ${res.status}`
    return failure(call, code, message, res, doc)
  }
  return { ok: true, status: res.status, headers: res.headers, body: doc, error: undefined }
}

/** The JSON of an answer, decoded if an upstream compressed it anyway; `null` for no body. */
function parseBody(res: DispatchResponse): unknown {
  let buf = res.body
  if (buf.length === 0) return null
  const coding = String(res.headers['content-encoding'] ?? '').toLowerCase()
  if (coding === 'gzip' || coding === 'x-gzip') buf = gunzipSync(buf)
  else if (coding === 'deflate') buf = inflateSync(buf)
  else if (coding === 'br') buf = brotliDecompressSync(buf)
  return JSON.parse(buf.toString('utf8'))
}

function failure(
  call: CompiledCall,
  code: string,
  message: string,
  res?: DispatchResponse,
  body?: unknown,
): CallResult {
  const error: CallFailure =
    res === undefined
      ? { call: call.name, code, message }
      : { call: call.name, code, message, status: res.status }
  return { ok: false, status: res?.status, headers: res?.headers ?? {}, body: body ?? null, error }
}

function skipped(call: CompiledCall, dependency: string): CallResult {
  return failure(call, CALL_SKIPPED, `not made: call "${dependency}" it depends on failed`)
}
