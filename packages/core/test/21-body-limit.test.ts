import http from 'node:http'
import type { BodyLimit } from '@gatehousejs/sdk'
import type { GatewayConfig } from '@gatehousejs/sdk/config'
import { startGateway, startUpstream } from '@gatehousejs/sdk/testing'
import t, { type Test } from 'tap'
import { bodyLimiter } from './helpers/body-limit.js'

/**
 * `ctx.upstream.bodyLimit`: a cap on the client body as it streams upstream, set by a plugin in
 * `access`. A declared length over it is refused before anything is sent; a chunked body is counted
 * and cut off, aborting the upstream request. Default error: 413 GH_REQUEST_BODY_TOO_LARGE.
 */

const LIMIT: BodyLimit = { bytes: 1000 }
const limiter = bodyLimiter(LIMIT)

async function setup(t: Test) {
  const ended: Array<{ bytes: number; complete: boolean }> = []
  const upstream = await startUpstream({
    t,
    streaming: true,
    handler: (req, res) => {
      const seen = { bytes: 0, complete: false }
      req.on('data', (c: Buffer) => {
        seen.bytes += c.length
      })
      req.on('error', () => {})
      req.on('end', () => {
        seen.complete = true
        res.end(String(seen.bytes))
      })
      req.on('close', () => ended.push(seen))
    },
  })
  const config: GatewayConfig = {
    services: [{ name: 's', url: upstream.url, routes: [{ name: 'r', paths: ['/'] }] }],
    plugins: [{ name: 'limiter' }],
  }
  const gw = await startGateway({ t, plugins: [limiter], config })
  return { upstream, gw, ended }
}

/** Writes 200-byte chunks (no Content-Length) until answered or 100 were sent. */
function chunked(url: string): Promise<{ status: number; body: string; connection?: string }> {
  return new Promise((resolve, reject) => {
    let answered = false
    const req = http.request(
      { host: '127.0.0.1', port: new URL(url).port, method: 'POST', path: '/', agent: false },
      (res) => {
        answered = true
        let body = ''
        res.on('data', (c) => (body += c))
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, body, connection: res.headers.connection }),
        )
      },
    )
    req.on('error', (err) => !answered && reject(err))
    let sent = 0
    const timer = setInterval(() => {
      if (answered || req.destroyed || sent >= 100) {
        clearInterval(timer)
        if (!answered && !req.destroyed) req.end()
        return
      }
      sent++
      req.write(Buffer.alloc(200, 0x62))
    }, 2)
  })
}

t.test('a body within the limit streams through whole', async (t) => {
  const { gw } = await setup(t)
  const res = await gw.request({ method: 'POST', path: '/', body: Buffer.alloc(1000, 1) })
  t.equal(res.status, 200)
  t.equal(res.text, '1000')
})

t.test(
  'a declared length over the limit: 413 GH_REQUEST_BODY_TOO_LARGE, nothing sent upstream',
  async (t) => {
    const { upstream, gw } = await setup(t)
    const res = await gw.request({ method: 'POST', path: '/', body: Buffer.alloc(1001, 1) })
    t.equal(res.status, 413)
    t.equal(res.json().code, 'GH_REQUEST_BODY_TOO_LARGE')
    t.equal(res.headers.connection, 'close')
    t.equal(upstream.requests.length, 0)
  },
)

t.test('a chunked body over the limit is cut off and the upstream request aborted', async (t) => {
  const { gw, ended } = await setup(t)
  const res = await chunked(gw.url)
  t.equal(res.status, 413)
  t.equal(JSON.parse(res.body).code, 'GH_REQUEST_BODY_TOO_LARGE')
  t.equal(res.connection, 'close')
  for (let i = 0; i < 300 && ended.length === 0; i++) await new Promise((r) => setTimeout(r, 10))
  t.equal(ended[0]?.complete, false, 'the upstream saw the request end unfinished')
  t.ok((ended[0]?.bytes ?? 0) <= 1000)
})
