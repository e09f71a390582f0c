import type { IncomingMessage, ServerResponse } from 'node:http'
import { validateHeaderName, validateHeaderValue } from 'node:http'
import type { Http2ServerResponse } from 'node:http2'
import type { InterimResponsesPolicy } from '@gatehousejs/sdk/config'
import { downstreamHeaders } from '../request/forwarding.js'

/**
 * Interim (1xx) responses from an upstream, passed on to the client. RFC 9110 §15.2: "A proxy MUST
 * forward 1xx responses unless the proxy itself requested the generation of the 1xx response"; the
 * gateway answers `Expect: 100-continue` itself (and never sends `Expect` upstream: undici refuses it),
 * so a 100 is never one of them. What each client protocol can carry on Node 20:
 *
 * - HTTP/2: any 1xx but 101, with its fields (`stream.additionalHeaders`).
 * - HTTP/1.1: only what `ServerResponse` can write: 103 Early Hints (`writeEarlyHints`, which writes
 *   only when there is a valid `Link`) and 102 Processing (`writeProcessing`, without fields). Node has
 *   no public way to write any other 1xx on HTTP/1.1; those are dropped.
 * - HTTP/1.0: nothing (RFC 9110 §15.2: "A server MUST NOT send a 1xx response to an HTTP/1.0 client").
 *
 * Fields are filtered like a final response's (hop-by-hop ones and those `Connection` names removed),
 * and `content-length` and `set-cookie` are left out: a 1xx has no content (RFC 9110 §8.6), and a
 * 103's fields are hints a client must not apply as the final response's (RFC 8297 §2).
 */
export type InterimSink = ServerResponse | Http2ServerResponse

/** Where this request's interim responses go, or undefined when they are dropped. */
export function interimSink(
  policy: InterimResponsesPolicy,
  raw: IncomingMessage,
  res: ServerResponse,
): InterimSink | undefined {
  if (policy === 'drop') return undefined
  // A dispatched call (env.dispatch) collects only the final answer: it has no `writeEarlyHints`.
  if (typeof (res as Partial<ServerResponse>).writeEarlyHints !== 'function') return undefined
  if (raw.httpVersionMajor === 2) return res
  if (policy === 'http2' || raw.httpVersionMajor !== 1 || raw.httpVersionMinor === 0) return undefined
  return res
}

/** Sends one interim response; false when it cannot be carried (see above) or the answer has begun. */
export function forwardInterim(
  sink: InterimSink,
  status: number,
  headers: Record<string, string | string[] | undefined>,
): boolean {
  if (status === 100 || status === 101 || status < 100 || status > 199) return false
  if (sink.headersSent || sink.writableEnded || sink.destroyed) return false
  const fields = interimFields(headers)
  try {
    if ((sink as Http2ServerResponse).stream !== undefined) {
      const stream = (sink as Http2ServerResponse).stream
      if (stream.destroyed || stream.headersSent) return false
      stream.additionalHeaders({ ...fields, ':status': status })
      return true
    }
    const res = sink as ServerResponse
    if (status === 102) {
      res.writeProcessing()
      return true
    }
    if (status !== 103) return false
    return writeEarlyHints(res, fields)
  } catch {
    // A field Node refuses to write (it validates names and values): the hint is not worth the answer.
    return false
  }
}

function interimFields(
  headers: Record<string, string | string[] | undefined>,
): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {}
  const kept = downstreamHeaders(headers)
  for (const name in kept) {
    const value = kept[name]
    if (value === undefined || name === 'content-length' || name === 'set-cookie') continue
    out[name] = Array.isArray(value) ? value.map(String) : String(value)
  }
  return out
}

/**
 * Node 20's `writeEarlyHints` checks each link-value with this pattern (lib/internal/validators.js)
 * and throws on the first it refuses, so a list is split and checked here first: the valid links
 * are sent, the others dropped. It writes every other field as given, so those are validated here.
 */
const NODE_LINK_VALUE = /^(?:<[^>]*>)(?:\s*;\s*[^;"\s]+(?:=(")?[^;"\s]*\1)?)*$/

function writeEarlyHints(res: ServerResponse, fields: Record<string, string | string[]>): boolean {
  const links: string[] = []
  const given = fields.link
  for (const value of given === undefined ? [] : Array.isArray(given) ? given : [given])
    for (const link of splitLinks(value)) if (NODE_LINK_VALUE.test(link)) links.push(link)
  if (links.length === 0) return false
  const hints: Record<string, string | string[]> = { link: links }
  for (const name in fields) {
    if (name === 'link') continue
    const v = fields[name]!
    const value = Array.isArray(v) ? v.join(', ') : v
    try {
      validateHeaderName(name)
      validateHeaderValue(name, value)
    } catch {
      continue
    }
    hints[name] = value
  }
  res.writeEarlyHints(hints)
  return true
}

/** RFC 8288 §3: a Link field is a comma-separated list; commas inside `<…>` or quotes are data. */
export function splitLinks(value: string): string[] {
  const out: string[] = []
  let start = 0
  let inUri = false
  let inQuote = false
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i)
    if (inQuote) {
      if (c === 92 /* \ */) i++
      else if (c === 34 /* " */) inQuote = false
    } else if (inUri) {
      if (c === 62 /* > */) inUri = false
    } else if (c === 60 /* < */) inUri = true
    else if (c === 34) inQuote = true
    else if (c === 44 /* , */) {
      const link = value.slice(start, i).trim()
      if (link !== '') out.push(link)
      start = i + 1
    }
  }
  const last = value.slice(start).trim()
  if (last !== '') out.push(last)
  return out
}
