import http from 'node:http'
import https from 'node:https'
import type { Headers } from '@gatehousejs/sdk'

export interface FetchedResponse {
  status: number
  headers: Headers
  /** `undefined` when the body was larger than the limit (the response is then not stored). */
  body: Buffer | undefined
}

/**
 * One GET to the upstream for a background refresh (stale-while-revalidate), outside the request
 * lifecycle: the client already has its stale answer. Asks for an unencoded body (the cache stores
 * decoded bodies), reads at most `maxBody` bytes, and gives up after `timeout` ms.
 */
export function fetchUpstream(
  target: string,
  path: string,
  headers: Headers,
  timeout: number,
  maxBody: number,
): Promise<FetchedResponse> {
  const url = new URL(target)
  const client = url.protocol === 'https:' ? https : http
  const h: Record<string, string | string[]> = {}
  for (const name in headers) {
    const v = headers[name]
    if (v !== undefined) h[name] = v
  }
  h['accept-encoding'] = 'identity'
  delete h['content-length']
  delete h['transfer-encoding']
  return new Promise((resolve, reject) => {
    const req = client.request(
      {
        protocol: url.protocol,
        hostname: url.hostname,
        port: url.port,
        method: 'GET',
        path,
        headers: h,
        timeout,
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = []
        let size = 0
        let over = false
        res.on('data', (c: Buffer) => {
          size += c.length
          if (size > maxBody) {
            over = true
            res.destroy()
            return
          }
          chunks.push(c)
        })
        const done = () =>
          resolve({
            status: res.statusCode ?? 502,
            headers: res.headers as Headers,
            body: over ? undefined : Buffer.concat(chunks, size),
          })
        res.on('end', done)
        res.on('close', () => {
          if (over) done()
        })
        res.on('error', (err) => {
          if (!over) reject(err)
        })
      },
    )
    req.on('timeout', () => req.destroy(new Error(`upstream did not answer within ${timeout} ms`)))
    req.on('error', reject)
    req.end()
  })
}
