import { randomUUID } from 'node:crypto'
import http from 'node:http'
import type { Socket } from 'node:net'
import type { GatehouseError } from '@gatehousejs/sdk'
import type { FastifyReply } from 'fastify'
import { RequestHeadersTooLarge, RequestMalformed, RequestTimeout } from '../errors.js'
import type { Generation } from '../model.js'
import type { Guard } from './protect.js'

/**
 * Errors before the lifecycle: on a raw socket before a request exists (bad HTTP, huge headers, a
 * slow client, CONNECT), and those Fastify raises itself (a bad URL, a last-resort fault). Each gets
 * the JSON body and the request id every other error has.
 */

const CLIENT_ERRORS: Record<string, () => GatehouseError> = {
  HPE_HEADER_OVERFLOW: RequestHeadersTooLarge,
  ERR_HTTP_REQUEST_TIMEOUT: RequestTimeout,
}

/** Errors Node raises before a request exists (bad HTTP, huge headers): a JSON answer, then close. */
export function writeClientError(
  err: Error & { code?: string },
  socket: Socket,
  gen: Generation,
  guard: Guard,
): void {
  // Logged once per client address and 10 s, never once per connection or per byte (server/protect.ts).
  if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') guard.slowClient(socket.remoteAddress)
  // RFC 9112 §9.6: a response already begun cannot be followed by another: only closing is left.
  const started = (socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage?.headersSent
  if (!socket.writable || err.code === 'ECONNRESET' || started === true) {
    socket.destroy()
    return
  }
  writeError((CLIENT_ERRORS[err.code ?? ''] ?? RequestMalformed)(), socket, gen)
}

/**
 * Writes a JSON error on a raw socket (no request object exists yet) and closes it. It still gets a
 * request id of its own, in the body and (as configured) the request id header, so a client can quote
 * one whatever went wrong.
 */
export function writeError(e: GatehouseError, socket: Socket, gen: Generation): void {
  const requestId = randomUUID()
  const body = JSON.stringify(e.toBody(requestId))
  const idLine = gen.requestId.responseHeader ? `${gen.requestId.header}: ${requestId}\r\n` : ''
  socket.end(
    `HTTP/1.1 ${e.statusCode} ${http.STATUS_CODES[e.statusCode]}\r\ncontent-type: application/json; charset=utf-8\r\n` +
      `${idLine}content-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
  )
}

/** An error Fastify raised before the lifecycle (a bad URL, a last-resort fault), with its request id. */
export function sendLastError(
  reply: FastifyReply,
  e: GatehouseError,
  requestId: string,
  gen: Generation,
): void {
  reply.code(e.statusCode).header('content-type', 'application/json; charset=utf-8')
  if (gen.requestId.responseHeader) reply.header(gen.requestId.header, requestId)
  reply.send(JSON.stringify(e.toBody(requestId)))
}
