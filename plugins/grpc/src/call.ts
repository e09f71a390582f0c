import { Transform } from 'node:stream'
import type { GatehouseError } from '@gatehousejs/sdk'
import { type Client, Metadata, type ServiceError, type StatusObject } from '@grpc/grpc-js'
import type { AnyMethod } from './proto.js'
import { grpcError } from './status.js'

/** The request message is serialised by the plugin (to answer 400 on a bad one): sent as it is. */
const asIs = (b: Buffer): Buffer => b

/** Response metadata (initial headers, then trailers) copied to HTTP headers; `-bin` values in base64. */
export function metadataHeaders(
  names: readonly string[],
  ...sources: (Metadata | undefined)[]
): Record<string, string> {
  const out: Record<string, string> = {}
  if (names.length === 0) return out
  for (const md of sources) {
    if (md === undefined) continue
    for (const name of names) {
      const values = md.get(name)
      if (values.length === 0) continue
      out[name] = values.map((v) => (Buffer.isBuffer(v) ? v.toString('base64') : v)).join(', ')
    }
  }
  return out
}

/** The outgoing metadata: the configured headers as they are after other plugins ran, and the request id. */
export function requestMetadata(
  names: readonly string[],
  headers: Record<string, string | string[] | undefined>,
  requestId: string,
): Metadata {
  const md = new Metadata()
  for (const name of names) {
    const v = headers[name]
    if (v === undefined) continue
    for (const one of Array.isArray(v) ? v : [v]) {
      if (name.endsWith('-bin')) md.add(name, Buffer.from(one, 'base64'))
      else md.add(name, one)
    }
  }
  md.set('x-request-id', requestId)
  return md
}

export interface UnaryResult {
  readonly message: Record<string, unknown>
  readonly headers: Record<string, string>
}

/** A unary call, settled once the status (and so the trailers) arrived. */
export function callUnary(
  client: Client,
  method: AnyMethod,
  payload: Buffer,
  metadata: Metadata,
  deadline: number,
  responseHeaders: readonly string[],
): Promise<UnaryResult> {
  return new Promise((resolve, reject) => {
    let initial: Metadata | undefined
    let error: ServiceError | null = null
    let message: Record<string, unknown> | undefined
    const call = client.makeUnaryRequest(
      method.path,
      asIs,
      method.responseDeserialize as (b: Buffer) => Record<string, unknown>,
      payload,
      metadata,
      { deadline },
      function grpcUnaryDone(err, value) {
        error = err
        message = value
      },
    )
    call.on('metadata', (md: Metadata) => {
      initial = md
    })
    // grpc-js runs the callback, then emits `status` in the same tick: the trailers are in it.
    call.on('status', function grpcUnaryStatus(status: StatusObject) {
      const headers = metadataHeaders(responseHeaders, initial, status.metadata)
      if (error !== null || message === undefined) reject(grpcError(error ?? status, headers))
      else resolve({ message, headers })
    })
  })
}

/** How a server-streaming response is framed for HTTP. */
export type StreamFormat = 'ndjson' | 'sse'

export const STREAM_CONTENT_TYPES: Readonly<Record<StreamFormat, string>> = {
  ndjson: 'application/x-ndjson; charset=utf-8',
  sse: 'text/event-stream; charset=utf-8',
}

function frame(format: StreamFormat, value: unknown, event?: string): string {
  const json = JSON.stringify(value)
  if (format === 'ndjson') return `${json}\n`
  return `${event === undefined ? '' : `event: ${event}\n`}data: ${json}\n\n`
}

/** The last frame of a stream that failed after it started: the status can no longer change. */
function errorFrame(format: StreamFormat, err: GatehouseError, requestId: string): string {
  const body = { ...err.toBody(requestId), grpcStatus: Number(err.headers['grpc-status']) }
  return format === 'ndjson' ? frame(format, { error: body }) : frame(format, body, 'error')
}

/** Text already framed, queued behind the messages. */
class Framed {
  constructor(readonly text: string) {}
}

export interface StreamStart {
  /** The framed messages, streaming: each message is written as soon as it arrives. */
  readonly body: Transform
  readonly headers: Record<string, string>
}

/**
 * A server-streaming call. It settles when the first message (or the end) arrives, so an error before
 * any message still gets its own HTTP status; after that, an error becomes the stream's last frame.
 * The client going away destroys the body, which cancels the call.
 */
export function callServerStream(
  client: Client,
  method: AnyMethod,
  payload: Buffer,
  metadata: Metadata,
  deadline: number,
  format: StreamFormat,
  project: (message: Record<string, unknown>) => unknown,
  responseHeaders: readonly string[],
  requestId: string,
): Promise<StreamStart> {
  return new Promise((resolve, reject) => {
    const call = client.makeServerStreamRequest(
      method.path,
      asIs,
      method.responseDeserialize as (b: Buffer) => Record<string, unknown>,
      payload,
      metadata,
      { deadline },
    )
    let initial: Metadata | undefined
    let started = false
    let finished = false
    const body = new Transform({
      writableObjectMode: true,
      transform(message: Record<string, unknown> | Framed, _enc, done) {
        done(null, message instanceof Framed ? message.text : frame(format, project(message)))
      },
    })
    body.on('close', function grpcStreamClosed() {
      if (!finished) call.cancel()
    })
    function start(): void {
      started = true
      resolve({ body, headers: metadataHeaders(responseHeaders, initial) })
    }
    call.on('metadata', (md: Metadata) => {
      initial = md
    })
    call.once('data', function grpcFirstMessage(message: Record<string, unknown>) {
      call.pause()
      body.write(message)
      start()
      call.pipe(body)
    })
    call.on('end', function grpcStreamEnd() {
      finished = true
      if (!started) {
        start()
        body.end()
      }
    })
    call.on('error', function grpcStreamError(err: ServiceError) {
      finished = true
      const mapped = grpcError(err, metadataHeaders(responseHeaders, initial, err.metadata))
      if (!started) return reject(mapped)
      call.unpipe(body)
      // Written after the messages already queued, so the error frame is always the last one.
      if (!body.destroyed) body.end(new Framed(errorFrame(format, mapped, requestId)))
    })
  })
}
