import type { AccessContext, LogContext, RewriteContext } from '@gatehousejs/sdk'
import {
  type Context,
  defaultTextMapGetter,
  defaultTextMapSetter,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  type Tracer,
  type TraceState,
  trace,
} from '@opentelemetry/api'
import { W3CTraceContextPropagator } from '@opentelemetry/core'
import { type Sampler, SamplingDecision } from '@opentelemetry/sdk-trace-base'
import { newSpanId, newTraceId, type PinnedIds } from './ids.js'

/** What `access` decides and `log` needs: the ids, the parent, and when the request began. */
export interface RequestTrace {
  parent: Context
  /** Whether the parent came from the client's `traceparent` (then the trace id is the parent's). */
  remoteParent: boolean
  traceId: string
  traceState: TraceState | undefined
  serverSpanId: string
  upstreamSpanId: string
  sampled: boolean
  /** Epoch ms when this plugin's first handler ran, and which phase that was. */
  beganAt: number
  beganIn: 'rewrite' | 'access'
}

export interface TraceState_ {
  trace?: RequestTrace
}

const propagator = new W3CTraceContextPropagator()

/** Extracts the client's trace context and decides the ids and sampling, once per request. */
export function beginTrace(
  ctx: RewriteContext<TraceState_> | AccessContext<TraceState_>,
  sampler: Sampler,
): RequestTrace {
  const existing = ctx.plugin.trace
  if (existing) return existing
  const beganAt = performance.timeOrigin + performance.now()
  const parent = propagator.extract(ROOT_CONTEXT, ctx.request.headers, defaultTextMapGetter)
  const parentSpan = trace.getSpanContext(parent)
  const remoteParent = parentSpan !== undefined && trace.isSpanContextValid(parentSpan)
  const traceId = remoteParent ? parentSpan.traceId : newTraceId()
  const decision = sampler.shouldSample(parent, traceId, ctx.request.method, SpanKind.SERVER, {}, [])
  const t: RequestTrace = {
    parent,
    remoteParent,
    traceId,
    traceState: parentSpan?.traceState,
    serverSpanId: newSpanId(),
    upstreamSpanId: newSpanId(),
    sampled: decision.decision === SamplingDecision.RECORD_AND_SAMPLED,
    beganAt,
    beganIn: ctx.phase,
  }
  ctx.plugin.trace = t
  return t
}

/** W3C Trace Context: the upstream's parent is the gateway's upstream (client) span. */
export function injectUpstream(ctx: AccessContext<TraceState_>, t: RequestTrace): void {
  const spanContext = {
    traceId: t.traceId,
    spanId: t.upstreamSpanId,
    traceFlags: t.sampled ? 1 : 0,
    traceState: t.traceState,
  }
  const headers = ctx.upstream.headers
  delete headers.tracestate
  propagator.inject(trace.setSpanContext(ROOT_CONTEXT, spanContext), headers, defaultTextMapSetter)
}

/**
 * Makes the spans of a finished request with their real times: the server span, the upstream call
 * (to its response headers) and one per plugin handler run, all children of the server span.
 */
export function recordSpans(
  ctx: LogContext<TraceState_>,
  t: RequestTrace,
  tracer: Tracer,
  ids: PinnedIds,
  instanceId: string,
): void {
  const timings = ctx.timings
  // Request start in epoch ms: when we began, minus our handler's offset from the request's start.
  const own = timings.plugins?.find((p) => p.instance === instanceId && p.phase === t.beganIn)
  const start = t.beganAt - (own?.start ?? 0)
  const status = ctx.response?.status
  const route = ctx.route
  const attributes: Record<string, string | number | boolean> = {
    'http.request.method': ctx.request.method,
    'url.path': ctx.request.path,
    'url.scheme': ctx.client.protocol,
    'server.address': ctx.request.host,
    'client.address': ctx.client.ip,
    'gatehouse.request_id': ctx.requestId,
  }
  const ua = ctx.request.headers['user-agent']
  if (typeof ua === 'string') attributes['user_agent.original'] = ua
  if (ctx.request.querystring !== '') attributes['url.query'] = ctx.request.querystring
  if (route) {
    attributes['http.route'] = route.paths[0] ?? '/'
    attributes['gatehouse.route'] = route.name
  }
  if (ctx.service) attributes['gatehouse.service'] = ctx.service.name
  if (ctx.consumer) attributes['gatehouse.consumer'] = ctx.consumer.username ?? ctx.consumer.id
  if (status !== undefined) attributes['http.response.status_code'] = status
  if (ctx.aborted) attributes['gatehouse.aborted'] = true
  if (ctx.error) attributes['error.type'] = ctx.error.code
  else if (status !== undefined && status >= 500) attributes['error.type'] = String(status)

  ids.pin(t.remoteParent ? undefined : t.traceId, t.serverSpanId)
  const server = tracer.startSpan(
    route ? `${ctx.request.method} ${route.paths[0] ?? route.name}` : ctx.request.method,
    { kind: SpanKind.SERVER, startTime: start, attributes },
    t.parent,
  )
  if (ctx.aborted || (status !== undefined && status >= 500)) {
    server.setStatus({ code: SpanStatusCode.ERROR, message: ctx.error?.code })
  }
  const parent = trace.setSpan(t.parent, server)

  if (timings.upstreamStart !== undefined && ctx.upstream && ctx.service) {
    upstreamSpan(
      ctx,
      t,
      tracer,
      ids,
      parent,
      start,
      timings.upstreamStart,
      timings.upstream ?? timings.total - timings.upstreamStart,
    )
  }
  for (const p of timings.plugins ?? []) {
    tracer
      .startSpan(
        `${p.plugin} ${p.phase}`,
        {
          kind: SpanKind.INTERNAL,
          startTime: start + p.start,
          attributes: {
            'gatehouse.plugin': p.plugin,
            'gatehouse.plugin.instance': p.instance,
            'gatehouse.phase': p.phase,
          },
        },
        parent,
      )
      .end(start + p.start + p.duration)
  }
  server.end(start + timings.total)
}

function upstreamSpan(
  ctx: LogContext<TraceState_>,
  t: RequestTrace,
  tracer: Tracer,
  ids: PinnedIds,
  parent: Context,
  start: number,
  offset: number,
  duration: number,
): void {
  const up = ctx.upstream!
  const target = new URL(up.target)
  const fromUpstream = ctx.response?.source === 'upstream'
  const attributes: Record<string, string | number> = {
    'http.request.method': up.method,
    'server.address': target.hostname,
    'server.port': Number(target.port || (target.protocol === 'https:' ? 443 : 80)),
    'url.full': `${up.target}${up.path}`,
    'gatehouse.service': ctx.service!.name,
  }
  if (fromUpstream && ctx.response) attributes['http.response.status_code'] = ctx.response.status
  else if (ctx.error) attributes['error.type'] = ctx.error.code
  ids.pin(undefined, t.upstreamSpanId)
  const span: Span = tracer.startSpan(
    up.method,
    { kind: SpanKind.CLIENT, startTime: start + offset, attributes },
    parent,
  )
  if (!fromUpstream || (ctx.response !== undefined && ctx.response.status >= 400)) {
    span.setStatus({ code: SpanStatusCode.ERROR, message: ctx.error?.code })
  }
  span.end(start + offset + duration)
}
