/**
 * Server-sent events and other long responses stream: events an upstream sends 100 ms apart reach the
 * client 100 ms apart through the gateway, with a `response` plugin on the route (one that does not
 * read the body), over HTTP/1.1 and over HTTP/2. Timing bounds are generous: they catch buffering
 * (everything arriving at the end), not jitter.
 */
import http from 'node:http'
import http2 from 'node:http2'
import { definePlugin } from '@gatehousejs/sdk'
import type { GatewayConfig } from '@gatehousejs/sdk/config'
import { startGateway, startUpstream } from '@gatehousejs/sdk/testing'
import t, { type Test } from 'tap'
import { createGateway } from '../src/index.js'
import { makeCa, makeServerCert } from './helpers/certs.js'

const EVENTS = 6
const GAP = 100

const stamp = definePlugin({
  name: 'stamp',
  version: '1.0.0',
  priority: 1000,
  init() {
    return {
      response(ctx) {
        ctx.response.headers['x-stamped'] = 'yes'
      },
    }
  },
})

/** When the upstream wrote each event (performance.now(): client, gateway and upstream share a clock). */
let sentAt: number[] = []

async function startSse(t: Test) {
  sentAt = []
  return startUpstream({
    t,
    streaming: true,
    handler: async (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' })
      for (let i = 0; i < EVENTS; i++) {
        sentAt.push(performance.now())
        res.write(`id: ${i}\ndata: event ${i}\n\n`)
        await new Promise((r) => setTimeout(r, GAP))
      }
      res.end()
    },
  })
}

function config(url: string): GatewayConfig {
  return {
    services: [{ name: 'events', url, routes: [{ paths: ['/events'] }] }],
    plugins: [{ name: 'stamp' }],
  }
}

/** Feeds chunks in; returns the arrival time (ms since `start`) of each complete event. */
function eventClock(start: number) {
  const times: number[] = []
  let buffered = ''
  return {
    times,
    push(chunk: string) {
      buffered += chunk
      let end = buffered.indexOf('\n\n')
      while (end >= 0) {
        times.push(performance.now() - start)
        buffered = buffered.slice(end + 2)
        end = buffered.indexOf('\n\n')
      }
    },
  }
}

/**
 * Each event must reach the client soon after the upstream wrote it (a buffering gateway would hold
 * the first one until the end: 500 ms), and the events arrive about GAP apart. Bounds are generous so
 * a loaded machine's pauses do not fail it; a stall delays sending and receiving alike.
 */
function checkGaps(t: Test, times: number[], start: number) {
  t.equal(times.length, EVENTS, 'every event arrives')
  const delays = times.map((at, i) => start + at - sentAt[i]!)
  t.ok(
    delays.every((d) => d < 4 * GAP),
    `each event arrives right after it is sent (delays: ${delays.map((d) => d.toFixed(0)).join(', ')} ms)`,
  )
  const gaps = times.slice(1).map((v, i) => v - times[i]!)
  const median = [...gaps].sort((a, b) => a - b)[gaps.length >> 1]!
  t.ok(
    median >= GAP * 0.7 && median <= GAP * 2,
    `events arrive about ${GAP} ms apart (gaps: ${gaps.map((g) => g.toFixed(0)).join(', ')} ms)`,
  )
}

t.test('SSE over HTTP/1.1: events arrive as they are sent', async (t) => {
  const upstream = await startSse(t)
  const gw = await startGateway({ t, createGateway, plugins: [stamp], config: config(upstream.url) })
  const { port } = new URL(gw.url)
  const start = performance.now()
  const clock = eventClock(start)
  const headers = await new Promise<http.IncomingHttpHeaders>((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port: Number(port), path: '/events', agent: false }, (res) => {
      res.setEncoding('utf8')
      res.on('data', (c: string) => clock.push(c))
      res.on('end', () => resolve(res.headers))
    })
    req.on('error', reject)
  })
  t.equal(headers['content-type'], 'text/event-stream')
  t.equal(headers['x-stamped'], 'yes', 'the response plugin ran')
  checkGaps(t, clock.times, start)
})

t.test('SSE over HTTP/2: events arrive as they are sent', async (t) => {
  const ca = await makeCa()
  const cert = await makeServerCert(ca, ['sse.test'])
  const upstream = await startSse(t)
  const gw = await startGateway({
    t,
    createGateway,
    plugins: [stamp],
    config: {
      ...config(upstream.url),
      tls: { certificates: [{ cert: cert.cert, key: cert.key }] },
      http2: true,
    },
  })
  const session = http2.connect(gw.url, { ca: ca.cert, servername: 'sse.test' })
  t.teardown(() => session.close())
  const start = performance.now()
  const clock = eventClock(start)
  const headers = await new Promise<http2.IncomingHttpHeaders>((resolve, reject) => {
    const stream = session.request({ ':path': '/events', ':authority': 'sse.test' })
    let h: http2.IncomingHttpHeaders = {}
    stream.on('response', (r) => (h = r))
    stream.setEncoding('utf8')
    stream.on('data', (c: string) => clock.push(c))
    stream.on('end', () => resolve(h))
    stream.on('error', reject)
  })
  t.equal(headers[':status'], 200)
  t.equal(headers['x-stamped'], 'yes')
  checkGaps(t, clock.times, start)
})
