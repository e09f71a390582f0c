/**
 * Low-level HTTP helpers for core's tests: raw sockets where node:http would fix up what we send,
 * a raw upstream that writes exactly the bytes we give it, and bounded waits.
 */
import type { EventEmitter } from 'node:events'
import net, { type AddressInfo } from 'node:net'

export interface RawResponse {
  /** 0 when the gateway closed the connection without answering. */
  status: number
  headers: Record<string, string | string[]>
  body: string
  /** Everything received, as latin1 text. */
  raw: string
}

/**
 * Writes `data` as-is to the server at `baseUrl` and reads until the server closes the connection, the
 * first response is complete (by Content-Length), or `timeout` ms pass (then it rejects).
 */
export function rawRequest(
  baseUrl: string,
  data: string | Buffer,
  { timeout = 5_000 }: { timeout?: number } = {},
): Promise<RawResponse> {
  const { hostname, port } = new URL(baseUrl)
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: hostname, port: Number(port) })
    const chunks: Buffer[] = []
    let received = 0
    /** Head and body length in bytes, once the head is in: Infinity without a content-length. */
    let expected: number | undefined
    let done = false
    const finish = (err?: Error) => {
      if (done) return
      done = true
      clearTimeout(timer)
      socket.destroy()
      if (err) reject(err)
      else resolve(parseRawResponse(Buffer.concat(chunks).toString('latin1')))
    }
    const timer = setTimeout(() => finish(new Error(`no complete answer within ${timeout} ms`)), timeout)
    socket.on('connect', () => socket.write(data))
    socket.on('data', (c: Buffer) => {
      chunks.push(c)
      received += c.length
      // The head is looked for until it is in, not on every chunk of a long body (10 MiB is 160 reads).
      expected ??= completeLength(Buffer.concat(chunks).toString('latin1'))
      if (expected !== undefined && received >= expected) finish()
    })
    socket.on('end', () => finish())
    socket.on('close', () => finish())
    // A reset after the answer was written still leaves us the answer.
    socket.on('error', (err) => (chunks.length > 0 ? finish() : finish(err)))
  })
}

/** The whole answer's length in bytes once its head is in `raw`; Infinity (read to the end) without a content-length. */
function completeLength(raw: string): number | undefined {
  const end = raw.indexOf('\r\n\r\n')
  if (end < 0) return undefined
  const m = /\r\ncontent-length:\s*(\d+)/i.exec(raw.slice(0, end + 2))
  return m === null ? Number.POSITIVE_INFINITY : end + 4 + Number(m[1])
}

export function parseRawResponse(raw: string): RawResponse {
  const end = raw.indexOf('\r\n\r\n')
  if (end < 0) return { status: 0, headers: {}, body: '', raw }
  const [statusLine, ...lines] = raw.slice(0, end).split('\r\n')
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine ?? '')?.[1] ?? 0)
  const headers: Record<string, string | string[]> = {}
  for (const line of lines) {
    const colon = line.indexOf(':')
    const name = line.slice(0, colon).trim().toLowerCase()
    const value = line.slice(colon + 1).trim()
    const prev = headers[name]
    headers[name] = prev === undefined ? value : Array.isArray(prev) ? [...prev, value] : [prev, value]
  }
  return { status, headers, body: raw.slice(end + 4), raw }
}

export interface RawUpstream {
  url: string
  port: number
  /** Every request head received (up to the blank line), as text. */
  readonly heads: string[]
  /** Connections accepted so far. */
  readonly connections: number
  close(): Promise<void>
}

/**
 * An upstream that hands the socket and each request head to `onRequest`, which writes raw bytes (or
 * resets the socket). For headers node:http would not let a server send.
 */
export async function startRawUpstream(
  t: { teardown(fn: () => unknown): void },
  onRequest: (socket: net.Socket, head: string) => void,
): Promise<RawUpstream> {
  const heads: string[] = []
  const sockets = new Set<net.Socket>()
  let connections = 0
  const server = net.createServer((socket) => {
    connections++
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
    socket.on('error', () => {})
    // Bodiless requests only: each blank line ends one request, so a kept-alive connection works.
    let buf = ''
    socket.on('data', function readHeads(c: Buffer) {
      buf += c.toString('latin1')
      for (let end = buf.indexOf('\r\n\r\n'); end >= 0; end = buf.indexOf('\r\n\r\n')) {
        const head = buf.slice(0, end)
        buf = buf.slice(end + 4)
        heads.push(head)
        onRequest(socket, head)
      }
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as AddressInfo).port
  const close = () =>
    new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy()
      server.close(() => resolve())
    })
  t.teardown(close)
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    heads,
    get connections() {
      return connections
    },
    close,
  }
}

/** A loopback port nothing listens on (it was free a moment ago). */
export async function unusedPort(): Promise<number> {
  const server = net.createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as AddressInfo).port
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}

/** Resolves when `emitter` emits `event`; rejects after `ms` so no test waits forever. */
export function eventWithin(emitter: EventEmitter, event: string, ms: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      emitter.off(event, on)
      reject(new Error(`no "${event}" within ${ms} ms`))
    }, ms)
    const on = () => {
      clearTimeout(timer)
      resolve()
    }
    emitter.once(event, on)
  })
}

/** Polls `check` every 10 ms until it is true; rejects after `ms`. */
export async function waitUntil(check: () => boolean, ms: number, what = 'condition'): Promise<void> {
  const deadline = Date.now() + ms
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`${what} not met within ${ms} ms`)
    await new Promise((r) => setTimeout(r, 10))
  }
}

/** The keys every gateway error body has, and nothing else. */
export const ERROR_BODY_KEYS = ['code', 'error', 'message', 'requestId', 'statusCode']
