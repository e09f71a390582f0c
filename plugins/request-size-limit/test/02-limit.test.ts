import http from 'node:http'
import type { GatewayConfig } from '@gatehousejs/core'
import { definePlugin, PRIORITY } from '@gatehousejs/sdk'
import { startGateway, startUpstream } from '@gatehousejs/sdk/testing'
import t, { type Test } from 'tap'
import requestSizeLimit, { LengthRequired, RequestTooLarge } from '../src/index.js'

// Bodies over the limit get 413 GH_REQUEST_TOO_LARGE: declared ones before anything is sent upstream,
// chunked ones cut off while streaming, with the upstream request aborted.

interface Seen {
  bytes: number
  complete: boolean
}

/** An upstream that reads the body as it streams and records how each request ended. */
async function recordingUpstream(t: Test) {
  const seen: Seen[] = []
  let notify: (() => void) | undefined
  const upstream = await startUpstream({
    t,
    streaming: true,
    handler: (req, res) => {
      const record: Seen = { bytes: 0, complete: false }
      req.on('data', (c: Buffer) => {
        record.bytes += c.length
      })
      req.on('error', () => {})
      req.on('end', () => {
        record.complete = true
        res.writeHead(200, { 'content-type': 'application/json' })
        res.end(JSON.stringify({ bytes: record.bytes }))
      })
      req.on('close', () => {
        seen.push(record)
        notify?.()
      })
    },
  })
  /** Resolves once the upstream has seen `n` requests end, one way or another. */
  const ended = (n: number) =>
    new Promise<void>((resolve) => {
      if (seen.length >= n) return resolve()
      notify = () => seen.length >= n && resolve()
    })
  return { upstream, seen, ended }
}

async function setup(t: Test, config: Record<string, unknown>, extra: GatewayConfig['plugins'] = []) {
  const rec = await recordingUpstream(t)
  const gw = await startGateway({
    t,
    plugins: [requestSizeLimit, bodyReader],
    config: {
      services: [{ name: 'api', url: rec.upstream.url, routes: [{ name: 'api', paths: ['/api'] }] }],
      plugins: [{ name: 'request-size-limit', config }, ...(extra ?? [])],
    },
  })
  return { ...rec, gw }
}

/** A plugin that makes core buffer the request body (as a body-transforming plugin would). */
const bodyReader = definePlugin({
  name: 'body-reader',
  version: '1.0.0',
  priority: PRIORITY.requestTransform,
  init() {
    return { needs: { requestBody: true }, access() {} }
  },
})

/**
 * Sends a chunked body (no Content-Length), `chunk` bytes every few ms, until the response arrives or
 * `max` chunks were sent. Write errors after the gateway answered are expected: it closes the connection.
 */
function sendChunked(url: string, chunk: number, max: number) {
  return new Promise<{ status: number; headers: http.IncomingHttpHeaders; body: any; sent: number }>(
    (resolve, reject) => {
      const { port } = new URL(url)
      let sent = 0
      let answered = false
      const req = http.request(
        {
          host: '127.0.0.1',
          port,
          method: 'POST',
          path: '/api',
          agent: false,
          headers: { 'content-type': 'application/octet-stream' },
        },
        (res) => {
          answered = true
          let text = ''
          res.on('data', (c) => (text += c))
          res.on('end', () =>
            resolve({
              status: res.statusCode ?? 0,
              headers: res.headers,
              body: text ? JSON.parse(text) : undefined,
              sent,
            }),
          )
          res.on('error', reject)
        },
      )
      req.on('error', (err) => {
        if (!answered) reject(err)
      })
      const data = Buffer.alloc(chunk, 0x61)
      const timer = setInterval(() => {
        if (answered || req.destroyed) return clearInterval(timer)
        if (sent >= max) {
          clearInterval(timer)
          req.end()
          return
        }
        sent++
        req.write(data)
      }, 5)
    },
  )
}

t.test('a declared Content-Length over the limit: 413 before anything reaches the upstream', async (t) => {
  const { upstream, gw } = await setup(t, { allowedPayloadSize: '1kb' })
  const res = await gw.request({ method: 'POST', path: '/api', body: Buffer.alloc(2048, 1) })
  t.equal(res.status, 413)
  t.match(res.json(), { code: 'GH_REQUEST_TOO_LARGE', statusCode: 413, message: /1024 bytes/ })
  t.equal(res.headers.connection, 'close', 'the rest of the body is not read')
  t.equal(RequestTooLarge.code, 'GH_REQUEST_TOO_LARGE')
  t.equal(upstream.requests.length, 0)
})

t.test('bodies up to the limit stream through whole, declared or chunked', async (t) => {
  const { gw, seen, ended } = await setup(t, { allowedPayloadSize: '64kb' })
  const declared = await gw.request({ method: 'POST', path: '/api', body: Buffer.alloc(65536, 1) })
  t.equal(declared.status, 200)
  t.same(declared.json(), { bytes: 65536 })
  const chunked = await sendChunked(gw.url, 8192, 8)
  t.equal(chunked.status, 200)
  t.same(chunked.body, { bytes: 65536 }, 'exactly the limit passes')
  await ended(2)
  t.same(seen, [
    { bytes: 65536, complete: true },
    { bytes: 65536, complete: true },
  ])
})

t.test('a chunked body over the limit is cut off: 413, and the upstream request is aborted', async (t) => {
  const { gw, seen, ended } = await setup(t, { allowedPayloadSize: '64kb' })
  const res = await sendChunked(gw.url, 8192, 1000)
  t.equal(res.status, 413)
  t.equal(res.body.code, 'GH_REQUEST_TOO_LARGE')
  t.equal(res.headers.connection, 'close')
  t.ok(res.sent < 1000, `the client stopped early (${res.sent} chunks sent)`)
  await ended(1)
  t.equal(seen.length, 1)
  t.equal(seen[0]?.complete, false, 'the upstream saw an aborted request, not a finished one')
  t.ok((seen[0]?.bytes ?? 0) <= 65536, `the upstream got no byte past the limit (${seen[0]?.bytes})`)
  // The gateway is still healthy and the next request on a new connection works.
  const after = await gw.request({ method: 'POST', path: '/api', body: 'small' })
  t.equal(after.status, 200)
})

t.test('a buffered body (another plugin asked for it) over the limit is refused too', async (t) => {
  const { upstream, gw } = await setup(t, { allowedPayloadSize: '16kb' }, [{ name: 'body-reader' }])
  const res = await sendChunked(gw.url, 4096, 6)
  t.equal(res.status, 413)
  t.equal(res.body.code, 'GH_REQUEST_TOO_LARGE')
  t.equal(upstream.requests.length, 0)
  const small = await sendChunked(gw.url, 4096, 2)
  t.equal(small.status, 200)
  t.same(small.body, { bytes: 8192 })
})

t.test('requireContentLength: a chunked body gets 411 GH_LENGTH_REQUIRED; others pass', async (t) => {
  const { upstream, gw } = await setup(t, { allowedPayloadSize: '64kb', requireContentLength: true })
  const chunked = await sendChunked(gw.url, 1024, 3)
  t.equal(chunked.status, 411)
  t.match(chunked.body, { code: 'GH_LENGTH_REQUIRED', statusCode: 411 })
  t.equal(LengthRequired.code, 'GH_LENGTH_REQUIRED')
  t.equal(upstream.requests.length, 0)
  const get = await gw.request({ path: '/api' })
  t.equal(get.status, 200, 'a request without a body needs no Content-Length')
  const declared = await gw.request({ method: 'POST', path: '/api', body: 'hello' })
  t.equal(declared.status, 200)
  t.same(declared.json(), { bytes: 5 })
})

t.test('without requireContentLength a chunked body under the limit is fine', async (t) => {
  const { gw } = await setup(t, { allowedPayloadSize: '64kb' })
  const res = await sendChunked(gw.url, 1024, 3)
  t.equal(res.status, 200)
  t.same(res.body, { bytes: 3072 })
})
