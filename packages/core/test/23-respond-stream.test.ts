import { request as httpRequest } from 'node:http'
import { PassThrough } from 'node:stream'
import { definePlugin } from '@gatehousejs/sdk'
import type { GatewayConfig } from '@gatehousejs/sdk/config'
import { startGateway, startUpstream } from '@gatehousejs/sdk/testing'
import t, { type Test } from 'tap'

/**
 * `ctx.respond(status, readable)`: a plugin answering with a stream (gRPC server streaming, a feed)
 * gets it sent as it is written, unbuffered; `response` handlers still run (headers only), and the
 * stream is destroyed when the client goes away.
 */

function streamingPlugin(streams: PassThrough[], seen: { body?: unknown; source?: string }) {
  return definePlugin({
    name: 'streamer',
    version: '1.0.0',
    priority: 1000,
    init() {
      return {
        access(ctx) {
          const body = new PassThrough()
          streams.push(body)
          ctx.respond(200, body, { 'content-type': 'application/x-ndjson' })
        },
        response(ctx) {
          seen.body = ctx.response.body
          seen.source = ctx.response.source
          ctx.response.headers['x-seen'] = '1'
        },
      }
    },
  })
}

async function setup(t: Test) {
  const upstream = await startUpstream({ t })
  const streams: PassThrough[] = []
  const seen: { body?: unknown; source?: string } = {}
  const config: GatewayConfig = {
    services: [{ name: 's', url: upstream.url, routes: [{ name: 'r', paths: ['/'] }] }],
    plugins: [{ name: 'streamer' }],
  }
  const gw = await startGateway({ t, plugins: [streamingPlugin(streams, seen)], config })
  return { upstream, streams, seen, gw }
}

t.test('a Readable body is sent chunk by chunk as the plugin writes it', async (t) => {
  const { upstream, streams, seen, gw } = await setup(t)
  const received: string[] = []
  const done = new Promise<{ status: number; xSeen: unknown }>((resolve, reject) => {
    httpRequest(`${gw.url}/feed`, (res) => {
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => {
        received.push(chunk)
        // The next line is written only once the first has reached the client: nothing is buffered.
        if (received.length === 1) streams[0]!.end('{"n":2}\n')
      })
      res.on('end', () => resolve({ status: res.statusCode ?? 0, xSeen: res.headers['x-seen'] }))
    })
      .on('error', reject)
      .end()
  })
  while (streams.length === 0) await new Promise((r) => setImmediate(r))
  streams[0]!.write('{"n":1}\n')
  const res = await done
  t.equal(res.status, 200)
  t.equal(res.xSeen, '1', 'response handlers still ran')
  t.same(received.join(''), '{"n":1}\n{"n":2}\n')
  t.equal(seen.body, undefined, 'the stream is not a body response handlers can read')
  t.equal(seen.source, 'plugin')
  t.equal(upstream.requests.length, 0)
})

t.test('the stream is destroyed when the client goes away', async (t) => {
  const { streams, gw } = await setup(t)
  await new Promise<void>((resolve, reject) => {
    const req = httpRequest(`${gw.url}/feed`, (res) => {
      res.once('data', () => {
        req.destroy()
        resolve()
      })
    })
    req.on('error', (err) => (req.destroyed ? undefined : reject(err)))
    req.end()
    const write = () => (streams.length === 0 ? setImmediate(write) : streams[0]!.write('x\n'))
    write()
  })
  const stream = streams[0]!
  if (!stream.destroyed) await new Promise((r) => stream.once('close', r))
  t.ok(stream.destroyed)
})
