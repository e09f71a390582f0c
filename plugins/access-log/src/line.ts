import type { Headers, LogContext } from '@gatehousejs/sdk'
import { REDACTED, redactQuery } from './redact.js'
import type { AccessLogConfig, Field } from './schema.js'

type Line = Record<string, unknown>
type Writer = (line: Line, ctx: LogContext) => void

/** Milliseconds, to the microsecond: enough to compare, short to read. */
function ms(n: number | undefined): number | undefined {
  return n === undefined ? undefined : Math.round(n * 1000) / 1000
}

function length(h: Headers, name: string, raw?: Buffer): number {
  if (raw !== undefined) return raw.length
  const v = h[name]
  const n = typeof v === 'string' ? Number(v) : Number.NaN
  return Number.isFinite(n) && n >= 0 ? n : 0
}

function header(h: Readonly<Headers>, name: string): string | undefined {
  const v = h[name]
  return Array.isArray(v) ? v.join(', ') : v
}

/**
 * One writer per configured field, chosen at `init`, so a request runs only what the line carries.
 */
function writerFor(field: Field, secret: ReadonlySet<string>): Writer {
  switch (field) {
    case 'method':
      return (l, c) => void (l.method = c.request.method)
    case 'path':
      return (l, c) => void (l.path = c.request.path)
    case 'query':
      return (l, c) => void (l.query = redactQuery(c.request.querystring, secret))
    case 'status':
      // A client that went away before any response: 499, as nginx logs it.
      return (l, c) => void (l.status = c.response?.status ?? 499)
    case 'latency':
      return (l, c) => void (l.latency = ms(c.timings.total))
    case 'upstreamLatency':
      return (l, c) => void (l.upstreamLatency = ms(c.timings.upstream))
    case 'gatewayLatency':
      return (l, c) => void (l.gatewayLatency = ms(c.timings.gateway))
    case 'requestId':
      return (l, c) => void (l.requestId = c.requestId)
    case 'clientIp':
      return (l, c) => void (l.clientIp = c.client.ip)
    case 'consumer':
      return (l, c) => void (l.consumer = c.consumer ? (c.consumer.username ?? c.consumer.id) : undefined)
    case 'service':
      return (l, c) => void (l.service = c.service?.name)
    case 'route':
      return (l, c) => void (l.route = c.route?.name)
    case 'upstream':
      return (l, c) => void (l.upstream = c.upstream ? `${c.upstream.target}${c.upstream.path}` : undefined)
    case 'bytesIn':
      return (l, c) =>
        void (l.bytesIn = length(c.request.headers as Headers, 'content-length', c.request.rawBody))
    case 'bytesOut':
      return (l, c) => void (l.bytesOut = c.response ? length(c.response.headers, 'content-length') : 0)
    case 'userAgent':
      return (l, c) => void (l.userAgent = header(c.request.headers, 'user-agent'))
    case 'referer':
      return (l, c) => void (l.referer = header(c.request.headers, 'referer'))
    case 'source':
      return (l, c) => void (l.source = c.aborted && !c.response ? 'aborted' : c.response?.source)
    case 'error':
      return (l, c) => void (l.error = c.error?.code)
  }
}

function headerWriter(
  key: 'requestHeaders' | 'responseHeaders',
  names: readonly string[],
  secret: ReadonlySet<string>,
): Writer | undefined {
  if (names.length === 0) return undefined
  const list = names.map((n) => n.toLowerCase())
  return (l, c) => {
    const from = key === 'requestHeaders' ? c.request.headers : c.response?.headers
    if (!from) return
    const out: Record<string, string> = {}
    for (const name of list) {
      const v = header(from, name)
      if (v !== undefined) out[name] = secret.has(name) ? REDACTED : v
    }
    l[key] = out
  }
}

/** Builds the function that turns a finished request into its log line. */
export function lineBuilder(config: AccessLogConfig, secret: ReadonlySet<string>): (ctx: LogContext) => Line {
  const writers: Writer[] = config.fields.map((f) => writerFor(f, secret))
  const req = headerWriter('requestHeaders', config.requestHeaders, secret)
  const res = headerWriter('responseHeaders', config.responseHeaders, secret)
  if (req) writers.push(req)
  if (res) writers.push(res)
  return function buildLine(ctx) {
    const line: Line = {}
    for (const w of writers) w(line, ctx)
    return line
  }
}
