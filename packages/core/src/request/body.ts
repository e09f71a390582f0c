import type { IncomingMessage } from 'node:http'
import http2, { type Http2ServerRequest, type ServerHttp2Stream } from 'node:http2'
import { Socket } from 'node:net'
import { parse as parseQuery, stringify as stringifyQuery } from 'node:querystring'
import type { Readable, TransformCallback, Writable } from 'node:stream'
import { PassThrough, Transform } from 'node:stream'
import zlib from 'node:zlib'
import type { Headers } from '@gatehousejs/sdk'
import { RequestBodyInvalid, RequestBodyTooLarge, RequestEncodingUnsupported } from '../errors.js'
import type { Response } from './response.js'

/**
 * Opt-in body access. Core reads a body only when a plugin on the route declared it needs it; every
 * other body streams through untouched. Buffered bodies are decoded (gzip, deflate, br) for the
 * plugin and re-encoded for the client when a plugin replaced them.
 */

type Coding = 'gzip' | 'deflate' | 'br' | 'identity'

function codingOf(value: string | string[] | undefined): Coding | undefined {
  if (value === undefined || value === '') return 'identity'
  const v = (Array.isArray(value) ? value.join(',') : value).trim().toLowerCase()
  if (v === 'identity') return 'identity'
  if (v === 'gzip' || v === 'x-gzip') return 'gzip'
  if (v === 'deflate') return 'deflate'
  if (v === 'br') return 'br'
  return undefined
}

function decode(coding: Coding, buf: Buffer, limit: number): Buffer {
  const opts = { maxOutputLength: Math.max(limit, 1) }
  switch (coding) {
    case 'gzip':
      return zlib.gunzipSync(buf, opts)
    case 'deflate':
      // RFC 9110 §8.4.1.2: "deflate" is zlib-wrapped; some servers send raw deflate anyway.
      try {
        return zlib.inflateSync(buf, opts)
      } catch {
        return zlib.inflateRawSync(buf, opts)
      }
    case 'br':
      return zlib.brotliDecompressSync(buf, opts)
    default:
      return buf
  }
}

function encode(coding: Coding, buf: Buffer): Buffer {
  switch (coding) {
    case 'gzip':
      return zlib.gzipSync(buf)
    case 'deflate':
      return zlib.deflateSync(buf)
    case 'br':
      return zlib.brotliCompressSync(buf, { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 4 } })
    default:
      return buf
  }
}

/**
 * Reads a whole stream, refusing more than `limit` bytes. Returns the chunks read so far on overflow,
 * leaving the stream open and unread from there (`destroyOnReturn: false`): the caller replays the
 * chunks and pipes the rest, or drains it.
 */
export async function readLimited(
  stream: Readable,
  limit: number,
): Promise<{ ok: true; body: Buffer } | { ok: false; chunks: Buffer[] }> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of stream.iterator({ destroyOnReturn: false })) {
    const buf = chunk as Buffer
    size += buf.length
    chunks.push(buf)
    if (size > limit) return { ok: false, chunks }
  }
  return { ok: true, body: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size) }
}

/**
 * The client's body on its way upstream, counted: once more than `limit` bytes have passed it fails,
 * which makes undici abort the upstream request (so the upstream is not left waiting for the rest).
 * `exceeded` tells the caller the failure was the limit rather than the network.
 */
export class LimitedBody extends Transform {
  exceeded = false
  private seen = 0
  constructor(private readonly limit: number) {
    super()
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.seen += chunk.length
    if (this.seen > this.limit) {
      this.exceeded = true
      done(new Error(`request body over ${this.limit} bytes`))
      return
    }
    done(null, chunk)
  }
}

/** Pipes the client's body through a {@link LimitedBody} ({@link pipeBody}). */
export function limitBody(source: Readable, limit: number): LimitedBody {
  return pipeBody(source, new LimitedBody(limit))
}

/**
 * Pipes a request body through `out` (a limit, a mirror's tee) on its way upstream; a client error
 * fails `out` too. If the upstream ends the exchange before taking the whole body, undici destroys
 * `out`, which a pipe answers by pausing the source: the rest is then read and dropped instead
 * ({@link drainIfAbandoned} says why).
 */
export function pipeBody<T extends Writable>(source: Readable, out: T): T {
  source.on('error', (err) => out.destroy(err))
  out.once('close', () => {
    source.unpipe(out)
    drainRest(source)
  })
  source.pipe(out)
  return out
}

/** The rest of a client body that nobody will send on: read and dropped ({@link drainIfAbandoned} says why). */
export function drainRest(source: Readable): void {
  if (source.readableEnded || source.destroyed) return
  source.resume()
}

/**
 * An HTTP/1.x client body handed to undici as it is: if the upstream answers before taking all of it
 * (a 401 or 413 decided on the head, nginx's `return`), undici destroys the body once the answer is
 * complete, detached from its socket (`raw.socket = null`), and that socket stays paused by the
 * backpressure of the last write: the client's upload stalled, its answer already received, until the
 * keep-alive timeout closed the connection (72 s). The rest of the body is then read and dropped, as
 * Node does with a body nobody reads (`_dump`, whose flag tells Node's parser to drop body bytes) and
 * nginx with one it discards, so the client finishes sending, reads the answer and may reuse the
 * connection. How long it may go on sending is bounded as for any request, by `server.requestTimeout`.
 * Reading it through a stream of ours instead cost 5–12% more CPU per 1 MiB upload (4 rounds).
 */
export function drainIfAbandoned(raw: IncomingMessage): void {
  if (raw.httpVersionMajor === 2) {
    resetIfAbandoned((raw as unknown as Http2ServerRequest).stream)
    return
  }
  const socket = raw.socket
  // A client's connection (a call through env.dispatch has no socket of its own).
  if (!(socket instanceof Socket)) return
  raw.once('close', () => {
    if (raw.complete || socket.destroyed) return
    ;(raw as IncomingMessage & { _dumped: boolean })._dumped = true
    socket.resume()
  })
}

/**
 * HTTP/2: once the answer is written, a request stream the client is still sending on is reset with
 * NO_ERROR, which RFC 9113 §8.1 gives a server to stop an upload it has answered (a Node client sees
 * 'aborted'). Left open, the client waited for flow-control credit that never came. The connection
 * and its other streams go on. The stream's own 'finish' is the signal: the compatibility response's
 * comes only once the stream has closed.
 */
function resetIfAbandoned(stream: ServerHttp2Stream | undefined): void {
  stream?.once('finish', () => {
    if (!stream.destroyed && !stream.readableEnded) stream.close(http2.constants.NGHTTP2_NO_ERROR)
  })
}

function isJson(contentType: string | undefined): boolean {
  if (!contentType) return false
  const ct = contentType.toLowerCase()
  return ct.startsWith('application/json') || /^application\/[^;]*\+json/.test(ct)
}

function isForm(contentType: string | undefined): boolean {
  return contentType?.toLowerCase().startsWith('application/x-www-form-urlencoded') ?? false
}

/** RFC 9110 §12.5.3: a 415 for a content coding says which codings the server takes. */
const ACCEPTED_CODINGS = 'gzip, deflate, br'

/**
 * Reads and parses the request body for plugins: JSON and url-encoded forms are parsed, other types
 * are left as raw bytes. Over the limit is 413; malformed JSON is 400; a body in a coding core cannot
 * decode (zstd, or stacked codings) is 415, so a plugin that asked for the body never silently gets none.
 */
export async function readRequestBody(
  req: Readable & { headers: Record<string, string | string[] | undefined> },
  limit: number,
): Promise<{ raw: Buffer; parsed: unknown }> {
  const declared = Number(req.headers['content-length'])
  if (Number.isFinite(declared) && declared > limit) {
    req.resume()
    throw RequestBodyTooLarge(limit)
  }
  const encoding = req.headers['content-encoding']
  const coding = codingOf(encoding)
  if (coding === undefined) {
    req.resume()
    throw RequestEncodingUnsupported(String(encoding)).withHeaders({ 'accept-encoding': ACCEPTED_CODINGS })
  }
  const result = await readLimited(req, limit)
  if (!result.ok) {
    req.resume()
    throw RequestBodyTooLarge(limit)
  }
  const raw = result.body
  let decoded: Buffer
  try {
    decoded = decode(coding, raw, limit)
  } catch {
    throw RequestBodyInvalid(`it is not valid ${coding}`)
  }
  const ct = req.headers['content-type'] as string | undefined
  if (isJson(ct)) {
    if (decoded.length === 0) return { raw, parsed: undefined }
    try {
      return { raw, parsed: JSON.parse(decoded.toString('utf8')) }
    } catch {
      throw RequestBodyInvalid('it is not valid JSON')
    }
  }
  if (isForm(ct)) return { raw, parsed: { ...parseQuery(decoded.toString('utf8')) } }
  return { raw, parsed: undefined }
}

/** Serialises a body a plugin set on `ctx.upstream.body` the way its content type says. */
export function serialiseRequestBody(body: unknown, headers: Headers): Buffer {
  if (Buffer.isBuffer(body)) return body
  if (typeof body === 'string') return Buffer.from(body)
  if (isForm(headers['content-type'] as string | undefined)) {
    return Buffer.from(stringifyQuery(body as Record<string, string>))
  }
  if (!isJson(headers['content-type'] as string | undefined)) headers['content-type'] = 'application/json'
  return Buffer.from(JSON.stringify(body))
}

const NO_BODY_STATUS = new Set([204, 205, 304])

/**
 * Buffers and decodes an upstream body for the response plugins. A body that cannot be buffered
 * (HEAD/204/304, event stream, over the limit, an unknown encoding) is left to stream unchanged and
 * `bodySkipped` says why.
 */
export async function bufferResponseBody(
  res: Response,
  stream: Readable,
  method: string,
  limit: number,
): Promise<void> {
  const h = res.headers
  let skip: Response['bodySkipped']
  const coding = codingOf(h['content-encoding'])
  if (method === 'HEAD' || NO_BODY_STATUS.has(res.status) || res.status < 200) skip = 'no-body'
  else if (
    String(h['content-type'] ?? '')
      .toLowerCase()
      .startsWith('text/event-stream')
  )
    skip = 'event-stream'
  else if (Number(h['content-length']) > limit) skip = 'too-large'
  else if (coding === undefined) skip = 'unsupported-encoding'
  if (skip !== undefined) {
    res.bodySkipped = skip
    res.stream = stream
    return
  }
  const read = await readLimited(stream, limit)
  if (!read.ok) {
    res.bodySkipped = 'too-large'
    res.stream = replay(read.chunks, stream)
    return
  }
  let decoded: Buffer
  try {
    decoded = decode(coding!, read.body, limit)
  } catch {
    res.bodySkipped = read.body.length > 0 ? 'unsupported-encoding' : 'no-body'
    res.raw = read.body
    return
  }
  res.raw = read.body
  res.original = decoded
  res.body = decoded
}

function replay(chunks: Buffer[], rest: Readable): Readable {
  const out = new PassThrough()
  for (const c of chunks) out.write(c)
  rest.on('error', (err) => out.destroy(err))
  rest.pipe(out)
  return out
}

/**
 * What to send for a buffered response: the original bytes when no plugin replaced the body;
 * otherwise the new body, encoded as the upstream had encoded it (when the client accepts that),
 * with `content-length` fixed.
 */
export function finalResponseBody(
  res: Response,
  acceptEncoding: string | string[] | undefined,
): Buffer | undefined {
  const h = res.headers
  if (res.body === res.original && res.raw !== undefined) {
    h['content-length'] = String(res.raw.length)
    return res.raw
  }
  if (res.body === undefined || res.body === null) {
    if (res.raw !== undefined) {
      h['content-length'] = String(res.raw.length)
      return res.raw
    }
    return undefined
  }
  let buf: Buffer
  if (Buffer.isBuffer(res.body)) buf = res.body
  else if (typeof res.body === 'string') buf = Buffer.from(res.body)
  else {
    buf = Buffer.from(JSON.stringify(res.body))
    if (!isJson(h['content-type'] as string | undefined))
      h['content-type'] = 'application/json; charset=utf-8'
  }
  const coding = res.source === 'upstream' ? codingOf(h['content-encoding']) : 'identity'
  if (coding && coding !== 'identity' && accepts(acceptEncoding, coding)) {
    buf = encode(coding, buf)
  } else {
    delete h['content-encoding']
  }
  if (res.source === 'upstream') describeReplacedBody(h)
  h['content-length'] = String(buf.length)
  return buf
}

/**
 * A plugin replaced the upstream's body: validators and digests computed over the old bytes would
 * now lie. As nginx does when a filter rewrites a body it keeps `Last-Modified` for (gzip,
 * `sub_filter_last_modified`), a strong ETag becomes weak: the body is a deterministic rewrite of the
 * same representation, and RFC 9110 §13.1.2 compares If-None-Match weakly, so revalidation against
 * the upstream keeps working. Digests of the bytes (`Content-MD5`, RFC 3230 `Digest`, RFC 9530
 * `Content-Digest`/`Repr-Digest`) cannot be fixed up and are removed.
 */
function describeReplacedBody(h: Headers): void {
  const etag = h.etag
  if (typeof etag === 'string' && etag.startsWith('"')) h.etag = `W/${etag}`
  delete h['content-md5']
  delete h.digest
  delete h['content-digest']
  delete h['repr-digest']
}

function accepts(header: string | string[] | undefined, coding: Coding): boolean {
  if (header === undefined) return false
  const v = (Array.isArray(header) ? header.join(',') : header).toLowerCase()
  for (const part of v.split(',')) {
    const [name, ...params] = part.trim().split(';')
    if (name !== coding && name !== '*' && !(coding === 'gzip' && name === 'x-gzip')) continue
    const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='))
    return q === undefined || Number(q.slice(2)) > 0
  }
  return false
}

/** Whether the client sends a body (a declared length above 0, chunked, or an open HTTP/2 stream). */
export function hasBody(raw: IncomingMessage): boolean {
  const cl = raw.headers['content-length']
  if (cl !== undefined) return cl !== '0'
  if (raw.headers['transfer-encoding'] !== undefined) return true
  // RFC 9113 §8.1: an HTTP/2 request need not declare a length; END_STREAM on its headers says none.
  return (
    raw.httpVersionMajor === 2 && (raw as unknown as Http2ServerRequest).stream?.endAfterHeaders === false
  )
}
