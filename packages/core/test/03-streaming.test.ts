/**
 * Bodies stream through the gateway: a 100 MB upload and a 100 MB download pass with every byte intact
 * while the process's memory stays far below the body size. Client, gateway and upstream share this
 * process, so a gateway that buffered a body would show it in the samples.
 */
import { createHash, randomBytes } from 'node:crypto'
import { once } from 'node:events'
import http from 'node:http'
import { Readable } from 'node:stream'
import v8 from 'node:v8'
import { runInNewContext } from 'node:vm'
import { startGateway, startUpstream } from '@gatehousejs/sdk/testing'
import t from 'tap'

const MB = 1024 * 1024
const SIZE = 100 * MB
/** Growth allowed while 100 MB passes through: well under the body, with room for GC lag. */
const MAX_GROWTH = 60 * MB
/**
 * The first large transfers in a process grow rss by up to ~40 MB even with no gateway in the path (the
 * allocator's arenas reaching their working size). An unmeasured transfer of the same size comes
 * first, so the baseline is near the steady state and only growth that scales with the body counts.
 */
const WARM_UP = SIZE
/** An odd-sized chunk of random bytes, so chunk boundaries never line up with anything. */
const CHUNK = randomBytes(65_521)

/** Yields `size` bytes: CHUNK repeated, the last copy cut short. Reuses one buffer. */
function* pieces(size: number): Generator<Buffer> {
  for (let sent = 0; sent < size; sent += CHUNK.length) {
    yield size - sent >= CHUNK.length ? CHUNK : CHUNK.subarray(0, size - sent)
  }
}

function sha256Of(size: number): string {
  const hash = createHash('sha256')
  for (const piece of pieces(size)) hash.update(piece)
  return hash.digest('hex')
}

// A full GC before each sample makes the samples measure live memory, not how far V8 let garbage
// buffers pile up before collecting them (up to ~40 MB during a fast transfer).
v8.setFlagsFromString('--expose-gc')
const gc = runInNewContext('gc') as () => void

/** Samples the process's memory every 100 ms; `stop()` returns the largest growth over the baseline. */
function watchMemory() {
  gc()
  const base = process.memoryUsage()
  let rss = base.rss
  let arrayBuffers = base.arrayBuffers
  const timer = setInterval(() => {
    gc()
    const m = process.memoryUsage()
    rss = Math.max(rss, m.rss)
    arrayBuffers = Math.max(arrayBuffers, m.arrayBuffers)
  }, 100)
  return {
    stop() {
      clearInterval(timer)
      return { rss: rss - base.rss, arrayBuffers: arrayBuffers - base.arrayBuffers }
    },
  }
}

interface Counted {
  status: number
  headers: http.IncomingHttpHeaders
  bytes: number
  sha256: string
}

/** A GET whose response body is counted and hashed as it arrives, never kept. */
function download(baseUrl: string, path: string, timeout: number): Promise<Counted> {
  const url = new URL(path, baseUrl)
  return new Promise((resolve, reject) => {
    const req = http.get({ host: url.hostname, port: url.port, path, agent: false }, (res) => {
      const hash = createHash('sha256')
      let bytes = 0
      res.on('data', (c: Buffer) => {
        bytes += c.length
        hash.update(c)
      })
      res.on('error', reject)
      res.on('aborted', () => reject(new Error('response aborted')))
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, bytes, sha256: hash.digest('hex') }),
      )
    })
    req.setTimeout(timeout, () => req.destroy(new Error(`download not done within ${timeout} ms`)))
    req.on('error', reject)
  })
}

t.test('a 100 MB request body streams to the upstream', { timeout: 90_000 }, async (t) => {
  const upstream = await startUpstream({
    t,
    streaming: true,
    async handler(req, res) {
      const hash = createHash('sha256')
      let bytes = 0
      for await (const c of req as AsyncIterable<Buffer>) {
        bytes += c.length
        hash.update(c)
      }
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end(JSON.stringify({ bytes, sha256: hash.digest('hex') }))
    },
  })
  const gw = await startGateway({
    t,
    config: { services: [{ name: 'sink', url: upstream.url, routes: [{ paths: ['/upload'] }] }] },
  })
  const warm = await gw.request({
    method: 'POST',
    path: '/upload',
    body: Readable.from(pieces(WARM_UP)),
    timeout: 60_000,
  })
  t.equal(warm.json().bytes, WARM_UP, 'a warm-up upload passes')

  for (const [label, headers] of [
    ['chunked', {}],
    ['with Content-Length', { 'content-length': String(SIZE) }],
  ] as const) {
    const memory = watchMemory()
    const res = await gw.request({
      method: 'POST',
      path: '/upload',
      headers: { 'content-type': 'application/octet-stream', ...headers },
      body: Readable.from(pieces(SIZE)),
      timeout: 60_000,
    })
    const growth = memory.stop()
    t.equal(res.status, 200, `${label}: 200`)
    t.same(res.json(), { bytes: SIZE, sha256: sha256Of(SIZE) }, `${label}: every byte arrived, in order`)
    if (headers['content-length'])
      t.equal(upstream.last()?.headers['content-length'], String(SIZE), `${label}: length forwarded`)
    t.ok(growth.rss < MAX_GROWTH, `${label}: rss grew ${(growth.rss / MB).toFixed(1)} MB (< 60 MB)`)
    t.ok(
      growth.arrayBuffers < MAX_GROWTH,
      `${label}: arrayBuffers grew ${(growth.arrayBuffers / MB).toFixed(1)} MB (< 60 MB)`,
    )
  }
})

t.test('a 100 MB response body streams to the client', { timeout: 90_000 }, async (t) => {
  const upstream = await startUpstream({
    t,
    async handler(req, res) {
      const size = Number(new URL(req.url ?? '/', 'http://x').searchParams.get('size'))
      const chunked = req.url?.includes('chunked')
      res.writeHead(200, {
        'content-type': 'application/octet-stream',
        ...(chunked ? {} : { 'content-length': String(size) }),
      })
      const closed = once(res, 'close')
      for (const piece of pieces(size)) {
        if (!res.write(piece)) await Promise.race([once(res, 'drain'), closed])
        if (res.destroyed) return
      }
      res.end()
    },
  })
  const gw = await startGateway({
    t,
    config: { services: [{ name: 'source', url: upstream.url, routes: [{ paths: ['/download'] }] }] },
  })
  const warm = await download(gw.url, `/download?size=${WARM_UP}`, 60_000)
  t.equal(warm.bytes, WARM_UP, 'a warm-up download passes')

  for (const mode of ['length', 'chunked']) {
    const memory = watchMemory()
    const res = await download(gw.url, `/download?size=${SIZE}&mode=${mode}`, 60_000)
    const growth = memory.stop()
    t.equal(res.status, 200, `${mode}: 200`)
    t.equal(res.bytes, SIZE, `${mode}: every byte arrived`)
    t.equal(res.sha256, sha256Of(SIZE), `${mode}: in order`)
    if (mode === 'length') t.equal(res.headers['content-length'], String(SIZE), `${mode}: length kept`)
    t.ok(growth.rss < MAX_GROWTH, `${mode}: rss grew ${(growth.rss / MB).toFixed(1)} MB (< 60 MB)`)
    t.ok(
      growth.arrayBuffers < MAX_GROWTH,
      `${mode}: arrayBuffers grew ${(growth.arrayBuffers / MB).toFixed(1)} MB (< 60 MB)`,
    )
  }
})
