import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { onTeardown, type TestLike } from './teardown.js'

/**
 * One request the upstream received. `TJson` types `json` (default `unknown`): take it from
 * `upstream.last<{ user: string }>()` rather than casting. The type is your claim, not a check.
 */
export interface RecordedRequest<TJson = unknown> {
  method: string
  /** Path and query as received. */
  url: string
  headers: http.IncomingHttpHeaders
  body: Buffer
  /** The body parsed as JSON, or undefined (no body, or not JSON). */
  json: TJson | undefined
}

/**
 * Answers a request. Without one, the upstream answers 200 with a JSON echo of what it received
 * (`{ method, url, headers, body }`).
 */
export type UpstreamHandler = (
  req: http.IncomingMessage,
  res: http.ServerResponse,
  recorded: RecordedRequest,
) => void | Promise<void>

export interface UpstreamOptions {
  t?: TestLike
  handler?: UpstreamHandler
  /** Don't read the body before calling the handler (for streaming tests). Default false. */
  streaming?: boolean
  host?: string
}

export interface TestUpstream {
  url: string
  port: number
  /** Every request received, in order. */
  readonly requests: RecordedRequest[]
  /** The latest request, its `json` typed as `TJson` (e.g. `upstream.last<{ id: number }>()?.json?.id`). */
  last<TJson = unknown>(): RecordedRequest<TJson> | undefined
  server: http.Server
  close(): Promise<void>
}

export async function startUpstream(options: UpstreamOptions = {}): Promise<TestUpstream> {
  const requests: RecordedRequest[] = []
  const handler = options.handler ?? echo
  const server = http.createServer(async (req, res) => {
    const recorded: RecordedRequest = {
      method: req.method ?? 'GET',
      url: req.url ?? '/',
      headers: req.headers,
      body: Buffer.alloc(0),
      json: undefined,
    }
    requests.push(recorded)
    try {
      if (!options.streaming) {
        const chunks: Buffer[] = []
        for await (const c of req) chunks.push(c as Buffer)
        recorded.body = Buffer.concat(chunks)
        try {
          recorded.json = recorded.body.length ? JSON.parse(recorded.body.toString('utf8')) : undefined
        } catch {}
      }
      await handler(req, res, recorded)
    } catch (err) {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' })
      res.end(String(err))
    }
  })
  await new Promise<void>((resolve) => server.listen(0, options.host ?? '127.0.0.1', resolve))
  const port = (server.address() as AddressInfo).port
  const host = options.host ?? '127.0.0.1'
  const upstream: TestUpstream = {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    port,
    requests,
    last: <TJson = unknown>() => requests[requests.length - 1] as RecordedRequest<TJson> | undefined,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
  onTeardown(options.t, upstream.close)
  return upstream
}

function echo(req: http.IncomingMessage, res: http.ServerResponse, recorded: RecordedRequest): void {
  const body = JSON.stringify({
    method: recorded.method,
    url: recorded.url,
    headers: req.headers,
    body: recorded.body.toString('utf8'),
  })
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) })
  res.end(body)
}
