import type { Readable } from 'node:stream'
import type { BodySkipReason, Headers, ResponseData, ResponseSource } from '@gatehousejs/sdk'

/** A response as core holds it: what handlers see (`ResponseData`), and the bytes kept to send it unchanged. */
export class Response implements ResponseData {
  status: number
  headers: Headers
  body: unknown
  bodySkipped: BodySkipReason | undefined = undefined
  readonly source: ResponseSource
  /** The decoded body as read, to tell whether a plugin replaced it. */
  original: Buffer | undefined = undefined
  /** The body as received (still encoded), to send unchanged when no plugin replaced it. */
  raw: Buffer | undefined = undefined
  /** The upstream body stream when it is passed through. */
  stream: Readable | undefined = undefined

  constructor(status: number, headers: Headers, body: unknown, source: ResponseSource) {
    this.status = status
    this.headers = headers
    this.body = body
    this.source = source
  }
}
