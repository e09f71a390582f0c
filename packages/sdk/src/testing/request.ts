import http from 'node:http'
import type { Readable } from 'node:stream'

export interface TestRequest {
  method?: string
  path?: string
  headers?: Record<string, string | string[]>
  /** A string, Buffer or stream; an object is sent as JSON. */
  body?: string | Buffer | Readable | Record<string, unknown> | unknown[]
  /** Milliseconds before the request is aborted with an error. Default 30 s. */
  timeout?: number
}

export interface TestResponse {
  status: number
  headers: http.IncomingHttpHeaders
  body: Buffer
  text: string
  /** The body parsed as JSON (throws if it is not JSON). */
  json<T = any>(): T
}

/**
 * Sends one request with node:http (not fetch), so tests control every header, including hop-by-hop
 * ones and `Host`. Resolves with the whole response.
 */
export function request(baseUrl: string, req: TestRequest = {}): Promise<TestResponse> {
  const url = new URL(req.path ?? '/', baseUrl)
  const headers: Record<string, string | string[]> = { ...req.headers }
  let payload: string | Buffer | Readable | undefined
  if (req.body !== undefined) {
    if (typeof req.body === 'string' || Buffer.isBuffer(req.body)) payload = req.body
    else if (typeof (req.body as Readable).pipe === 'function') payload = req.body as Readable
    else {
      payload = JSON.stringify(req.body)
      if (!Object.keys(headers).some((h) => h.toLowerCase() === 'content-type'))
        headers['content-type'] = 'application/json'
    }
  }
  return new Promise((resolve, reject) => {
    const r = http.request(
      {
        host: url.hostname,
        port: url.port,
        method: req.method ?? 'GET',
        path: req.path ?? '/',
        headers,
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('error', reject)
        res.on('end', () => {
          const body = Buffer.concat(chunks)
          const text = body.toString('utf8')
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body,
            text,
            json: () => JSON.parse(text),
          })
        })
      },
    )
    r.setTimeout(req.timeout ?? 30_000, () => r.destroy(new Error(`request to ${url.pathname} timed out`)))
    r.on('error', reject)
    if (payload === undefined) r.end()
    else if (typeof payload === 'string' || Buffer.isBuffer(payload)) r.end(payload)
    else payload.pipe(r)
  })
}
