import http from 'node:http'
import { Readable } from 'node:stream'
import { setTimeout as sleep } from 'node:timers/promises'
import zlib from 'node:zlib'
import { type BodySkipReason, definePlugin } from '@gatehousejs/sdk'
import type { GatewayConfig } from '@gatehousejs/sdk/config'
import { startGateway, startUpstream, type TestLike } from '@gatehousejs/sdk/testing'
import t from 'tap'

/**
 * Opt-in body access. A request body is read and parsed only for a plugin that declared
 * `needs.requestBody`; a response body is buffered and decoded only for `needs.responseBody`, and
 * re-encoded for the client when replaced. Everything else, and event streams always, streams through.
 */

// ---------------------------------------------------------------------------------------------------
// Request bodies

interface SeenRequest {
  body: unknown
  rawLength: number | undefined
}

function requestBodyPlugin() {
  const seen: SeenRequest[] = []
  const plugin = definePlugin({
    name: 'req-body',
    version: '1.0.0',
    priority: 1_000,
    init: () => ({
      needs: { requestBody: true },
      access(ctx) {
        seen.push({ body: ctx.request.body, rawLength: ctx.request.rawBody?.length })
        const replace = ctx.request.headers['x-replace']
        if (replace === 'json') ctx.upstream.body = { replaced: true, was: ctx.request.body, text: 'héllo' }
        else if (replace === 'form') ctx.upstream.body = { c: 'ü', d: ['1', '2'] }
        else if (replace === 'string') ctx.upstream.body = 'plain ✓'
      },
    }),
  })
  return { seen, plugin }
}

async function requestBodyGateway(t: TestLike) {
  const { seen, plugin } = requestBodyPlugin()
  const upstream = await startUpstream({ t })
  const gw = await startGateway({
    t,
    plugins: [plugin],
    config: {
      limits: { requestBody: '1kb' },
      services: [
        {
          name: 'svc',
          url: upstream.url,
          routes: [
            { name: 'reads', paths: ['/reads'], plugins: [{ name: 'req-body' }] },
            { name: 'streams', paths: ['/streams'] },
          ],
        },
      ],
    },
  })
  return { seen, upstream, gw }
}

t.test(
  'a plugin with needs.requestBody sees the parsed JSON; the upstream gets the same bytes',
  async (t) => {
    const { seen, upstream, gw } = await requestBodyGateway(t)
    const payload = '{ "a": 1, "list": [1, 2] }'
    const res = await gw.request({
      method: 'POST',
      path: '/reads',
      body: payload,
      headers: { 'content-type': 'application/json; charset=utf-8' },
    })
    t.equal(res.status, 200)
    t.same(seen, [{ body: { a: 1, list: [1, 2] }, rawLength: Buffer.byteLength(payload) }])
    t.equal(upstream.last()?.body.toString(), payload, 'unchanged bytes upstream')
    t.equal(upstream.last()?.headers['content-length'], String(Buffer.byteLength(payload)))
  },
)

t.test('a chunked JSON body is read too, and forwarded with a content-length', async (t) => {
  const { seen, upstream, gw } = await requestBodyGateway(t)
  const res = await gw.request({
    method: 'PUT',
    path: '/reads',
    body: Readable.from([Buffer.from('{"chunked":'), Buffer.from('true}')]),
    headers: { 'content-type': 'application/json' },
  })
  t.equal(res.status, 200)
  t.same(seen[0]?.body, { chunked: true })
  t.equal(upstream.last()?.body.toString(), '{"chunked":true}')
  t.equal(upstream.last()?.headers['content-length'], '16')
  t.notOk(upstream.last()?.headers['transfer-encoding'])
})

t.test('replacing the body via ctx.upstream.body sends it with a correct content-length', async (t) => {
  const { upstream, gw } = await requestBodyGateway(t)
  const json = await gw.request({
    method: 'POST',
    path: '/reads',
    body: { a: 1 },
    headers: { 'x-replace': 'json' },
  })
  t.equal(json.status, 200)
  const got = upstream.last()!
  t.same(got.json, { replaced: true, was: { a: 1 }, text: 'héllo' })
  t.equal(got.headers['content-length'], String(got.body.length), 'content-length matches the new body')
  t.match(got.headers['content-type'], /^application\/json/)

  const form = await gw.request({
    method: 'POST',
    path: '/reads',
    body: 'a=1&b=2&b=3',
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-replace': 'form' },
  })
  t.equal(form.status, 200)
  const gotForm = upstream.last()!
  t.equal(gotForm.body.toString(), 'c=%C3%BC&d=1&d=2', 'a form body is serialised as a form')
  t.equal(gotForm.headers['content-length'], String(gotForm.body.length))

  // A chunked client body replaced by a string: no transfer-encoding left, a content-length instead.
  const str = await gw.request({
    method: 'POST',
    path: '/reads',
    body: Readable.from([Buffer.from('{"x":'), Buffer.from('1}')]),
    headers: { 'content-type': 'application/json', 'x-replace': 'string' },
  })
  t.equal(str.status, 200)
  t.equal(upstream.last()?.body.toString(), 'plain ✓')
  t.equal(upstream.last()?.headers['content-length'], String(Buffer.byteLength('plain ✓')))
})

t.test('a form body is parsed for the plugin', async (t) => {
  const { seen, upstream, gw } = await requestBodyGateway(t)
  const res = await gw.request({
    method: 'POST',
    path: '/reads',
    body: 'a=1&b=2&b=3&name=J%C3%BCrgen',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
  })
  t.equal(res.status, 200)
  t.same(seen[0]?.body, { a: '1', b: ['2', '3'], name: 'Jürgen' })
  t.equal(upstream.last()?.body.toString(), 'a=1&b=2&b=3&name=J%C3%BCrgen')
})

t.test('invalid JSON is 400 GH_REQUEST_BODY_INVALID and nothing is proxied', async (t) => {
  const { seen, upstream, gw } = await requestBodyGateway(t)
  const res = await gw.request({
    method: 'POST',
    path: '/reads',
    body: '{"a":',
    headers: { 'content-type': 'application/json' },
  })
  t.equal(res.status, 400)
  t.equal(res.json().code, 'GH_REQUEST_BODY_INVALID')
  t.equal(seen.length, 0, 'the plugin did not run')
  t.equal(upstream.requests.length, 0)
})

t.test('a body over limits.requestBody is 413 GH_REQUEST_BODY_TOO_LARGE', async (t) => {
  const { seen, upstream, gw } = await requestBodyGateway(t)
  const big = JSON.stringify({ pad: 'x'.repeat(2_000) })
  const declared = await gw.request({
    method: 'POST',
    path: '/reads',
    body: big,
    headers: { 'content-type': 'application/json' },
  })
  t.equal(declared.status, 413)
  t.equal(declared.json().code, 'GH_REQUEST_BODY_TOO_LARGE')
  const chunks = Array.from({ length: 4 }, () => Buffer.from('x'.repeat(600)))
  const chunked = await gw.request({
    method: 'POST',
    path: '/reads',
    body: Readable.from(chunks),
    headers: { 'content-type': 'application/octet-stream' },
  })
  t.equal(chunked.status, 413, 'also when no content-length announces it')
  t.equal(chunked.json().code, 'GH_REQUEST_BODY_TOO_LARGE')
  t.equal(seen.length, 0)
  t.equal(upstream.requests.length, 0)
  const small = await gw.request({ method: 'POST', path: '/reads', body: { ok: true } })
  t.equal(small.status, 200, 'the gateway keeps serving')
})

t.test('without needs.requestBody the body streams untouched, whatever its size or content', async (t) => {
  const { upstream, gw } = await requestBodyGateway(t)
  const bytes = Buffer.alloc(256 * 1024)
  for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 7) % 256
  const res = await gw.request({
    method: 'POST',
    path: '/streams',
    body: bytes,
    headers: { 'content-type': 'application/json' },
  })
  t.equal(res.status, 200, 'over the limit and not JSON, yet nobody read it')
  t.ok(upstream.last()?.body.equals(bytes), 'byte-identical upstream')
  t.equal(upstream.last()?.headers['content-length'], String(bytes.length))
})

t.test(
  'without needs.requestBody the body is streamed: the upstream reads it while it arrives',
  async (t) => {
    let firstChunkAt: number | undefined
    const received: Buffer[] = []
    const upstream = await startUpstream({
      t,
      streaming: true,
      async handler(req, res) {
        for await (const chunk of req) {
          firstChunkAt ??= Date.now()
          received.push(chunk as Buffer)
        }
        res.writeHead(200, { 'content-type': 'text/plain' }).end(String(Buffer.concat(received).length))
      },
    })
    const { plugin } = requestBodyPlugin()
    const gw = await startGateway({
      t,
      plugins: [plugin],
      config: {
        services: [
          {
            name: 'svc',
            url: upstream.url,
            routes: [
              { name: 'streams', paths: ['/streams'] },
              { name: 'reads', paths: ['/reads'], plugins: [{ name: 'req-body' }] },
            ],
          },
        ],
      },
    })
    let seenBeforeSecondChunk = false
    async function* body() {
      yield Buffer.from('first,')
      // Wait (bounded) for the upstream to receive the first chunk before sending the rest.
      for (let i = 0; i < 100 && firstChunkAt === undefined; i++) await sleep(20)
      seenBeforeSecondChunk = firstChunkAt !== undefined
      yield Buffer.from('second')
    }
    const res = await gw.request({ method: 'POST', path: '/streams', body: Readable.from(body()) })
    t.equal(res.status, 200)
    t.equal(res.text, '12')
    t.ok(seenBeforeSecondChunk, 'the upstream had the first chunk before the client sent the second')
    t.equal(Buffer.concat(received).toString(), 'first,second')
  },
)

// ---------------------------------------------------------------------------------------------------
// Response bodies

const PAYLOAD = JSON.stringify({ hello: 'world', items: Array.from({ length: 200 }, (_, i) => i) })
const ENCODERS: Record<string, (b: Buffer) => Buffer> = {
  gzip: (b) => zlib.gzipSync(b),
  br: (b) => zlib.brotliCompressSync(b),
  deflate: (b) => zlib.deflateSync(b),
}
const DECODERS: Record<string, (b: Buffer) => Buffer> = {
  gzip: (b) => zlib.gunzipSync(b),
  br: (b) => zlib.brotliDecompressSync(b),
  deflate: (b) => zlib.inflateSync(b),
}
/** What the upstream sent for each path, to compare byte for byte. */
const SENT: Record<string, Buffer> = {
  '/gzip': ENCODERS.gzip!(Buffer.from(PAYLOAD)),
  '/br': ENCODERS.br!(Buffer.from(PAYLOAD)),
  '/deflate': ENCODERS.deflate!(Buffer.from(PAYLOAD)),
  '/identity': Buffer.from(PAYLOAD),
  '/big': Buffer.from(JSON.stringify({ pad: 'y'.repeat(10_000) })),
  '/invalid': Buffer.from('{"not": json'),
}

interface SeenResponse {
  path: string
  status: number
  bodySkipped: BodySkipReason | undefined
  body: string | undefined
}

async function responseGateway(t: TestLike) {
  const seen: SeenResponse[] = []
  let sseFinished = false
  /** Events the SSE test's client has received so far. */
  let sseReceived = 0
  const resBody = definePlugin({
    name: 'res-body',
    version: '1.0.0',
    priority: 1_000,
    init: () => ({
      needs: { responseBody: true },
      response(ctx) {
        const body = ctx.response.body
        seen.push({
          path: ctx.request.path,
          status: ctx.response.status,
          bodySkipped: ctx.response.bodySkipped,
          body: Buffer.isBuffer(body) ? body.toString('utf8') : undefined,
        })
        ctx.response.headers['x-seen'] = ctx.response.bodySkipped ?? 'body'
        if (ctx.request.headers['x-rewrite'] !== 'yes' || !Buffer.isBuffer(body)) return
        let parsed: Record<string, unknown>
        try {
          parsed = JSON.parse(body.toString('utf8'))
        } catch {
          return // not JSON: leave it alone
        }
        ctx.response.body = { ...parsed, items: (parsed.items as number[]).length, rewritten: 'ünïcode' }
      },
    }),
  })
  const upstream = await startUpstream({
    t,
    async handler(req, res) {
      const path = new URL(req.url ?? '/', 'http://x').pathname
      if (path === '/sse') {
        res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' })
        // Each event is sent once the client has the one before (5 s at most): the events cannot
        // merge into one chunk, and the client sees the first long before the upstream finishes.
        for (let i = 1; i <= 3; i++) {
          res.write(`data: event ${i}\n\n`)
          for (let w = 0; i < 3 && w < 250 && sseReceived < i; w++) await sleep(20)
        }
        sseFinished = true
        res.end()
        return
      }
      if (path === '/204') return void res.writeHead(204, { 'x-up': '1' }).end()
      if (path === '/304') return void res.writeHead(304, { etag: '"v1"' }).end()
      if (path === '/big-chunked') {
        res.writeHead(200, { 'content-type': 'application/json' })
        res.write(SENT['/big']!.subarray(0, 3000))
        await sleep(10)
        res.end(SENT['/big']!.subarray(3000))
        return
      }
      const body = SENT[path]
      if (!body) return void res.writeHead(404).end()
      const coding = path.slice(1)
      const headers: Record<string, string> = {
        'content-type': 'application/json',
        'content-length': String(body.length),
        vary: 'accept-encoding',
      }
      if (ENCODERS[coding]) headers['content-encoding'] = coding
      res.writeHead(200, headers)
      res.end(req.method === 'HEAD' ? undefined : body)
    },
  })
  const config: GatewayConfig = {
    limits: { responseBody: '4kb' },
    services: [
      {
        name: 'svc',
        url: upstream.url,
        routes: [{ name: 'buffered', paths: ['/b'], plugins: [{ name: 'res-body' }] }],
      },
    ],
  }
  const gw = await startGateway({ t, plugins: [resBody], config })
  return {
    seen,
    gw,
    upstream,
    sseFinished: () => sseFinished,
    sseReceived: (n: number) => {
      sseReceived = n
    },
  }
}

t.test('a replaced body is re-encoded as the upstream encoded it, with a correct length', async (t) => {
  const { seen, gw } = await responseGateway(t)
  for (const coding of ['gzip', 'br', 'deflate']) {
    const res = await gw.request({
      path: `/b/${coding}`,
      headers: { 'accept-encoding': 'gzip, deflate, br', 'x-rewrite': 'yes' },
    })
    t.equal(res.status, 200, coding)
    t.equal(seen.at(-1)?.body, PAYLOAD, `${coding}: the plugin saw the decoded body`)
    t.equal(res.headers['content-encoding'], coding, `${coding}: still ${coding}`)
    t.equal(res.headers['content-length'], String(res.body.length), `${coding}: content-length fixed`)
    t.notOk(res.headers['transfer-encoding'])
    const decoded = JSON.parse(DECODERS[coding]!(res.body).toString('utf8'))
    t.same(decoded, { hello: 'world', items: 200, rewritten: 'ünïcode' }, `${coding}: the new body`)
  }
})

t.test('a client that accepts no encoding gets the replaced body as identity', async (t) => {
  const { gw } = await responseGateway(t)
  for (const coding of ['gzip', 'br', 'deflate']) {
    const res = await gw.request({ path: `/b/${coding}`, headers: { 'x-rewrite': 'yes' } })
    t.equal(res.status, 200)
    t.notOk(res.headers['content-encoding'], `${coding}: no content-encoding`)
    t.equal(res.headers['content-length'], String(res.body.length))
    t.same(res.json(), { hello: 'world', items: 200, rewritten: 'ünïcode' })
  }
  // A client that accepts only gzip, for a br upstream body: identity as well.
  const onlyGzip = await gw.request({
    path: '/b/br',
    headers: { 'x-rewrite': 'yes', 'accept-encoding': 'gzip' },
  })
  t.notOk(onlyGzip.headers['content-encoding'])
  t.same(onlyGzip.json().rewritten, 'ünïcode')
})

t.test('a body the plugin did not replace goes through byte-identical', async (t) => {
  const { seen, gw } = await responseGateway(t)
  for (const path of ['/gzip', '/br', '/deflate', '/identity']) {
    const res = await gw.request({ path: `/b${path}`, headers: { 'accept-encoding': 'gzip, deflate, br' } })
    t.equal(res.status, 200)
    t.equal(seen.at(-1)?.body, PAYLOAD, `${path}: the plugin saw the decoded body`)
    t.ok(res.body.equals(SENT[path]!), `${path}: the exact bytes the upstream sent`)
    t.equal(res.headers['content-length'], String(SENT[path]!.length))
    t.equal(res.headers['content-encoding'], ENCODERS[path.slice(1)] ? path.slice(1) : undefined)
  }
})

t.test('a body over limits.responseBody passes through unchanged with bodySkipped too-large', async (t) => {
  const { seen, gw } = await responseGateway(t)
  for (const path of ['/big', '/big-chunked']) {
    const res = await gw.request({ path: `/b${path}`, headers: { 'x-rewrite': 'yes' } })
    t.equal(res.status, 200)
    t.match(seen.at(-1), { bodySkipped: 'too-large', body: undefined }, `${path}: skipped`)
    t.equal(res.headers['x-seen'], 'too-large', 'the response handler still ran')
    t.ok(res.body.equals(SENT['/big']!), `${path}: unchanged and complete`)
  }
})

t.test('invalid JSON from the upstream passes through unchanged', async (t) => {
  const { seen, gw } = await responseGateway(t)
  const res = await gw.request({ path: '/b/invalid', headers: { 'x-rewrite': 'yes' } })
  t.equal(res.status, 200)
  t.equal(seen.at(-1)?.body, '{"not": json')
  t.ok(res.body.equals(SENT['/invalid']!))
  t.equal(res.headers['content-type'], 'application/json')
})

t.test('text/event-stream is never buffered: events reach the client as they are sent', async (t) => {
  const { seen, gw, sseFinished, sseReceived } = await responseGateway(t)
  const arrivals: Array<{ chunk: string; upstreamFinished: boolean }> = []
  let text = ''
  const status = await new Promise<number>((resolve, reject) => {
    const req = http.get(`${gw.url}/b/sse`, { headers: { 'x-rewrite': 'yes' } }, (res) => {
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => {
        arrivals.push({ chunk, upstreamFinished: sseFinished() })
        text += chunk
        sseReceived(text.split('\n\n').length - 1)
      })
      res.on('end', () => resolve(res.statusCode ?? 0))
      res.on('error', reject)
    })
    req.setTimeout(5_000, () => req.destroy(new Error('SSE request timed out')))
    req.on('error', reject)
  })
  t.equal(status, 200)
  t.match(seen.at(-1), { bodySkipped: 'event-stream', body: undefined })
  t.ok(arrivals.length >= 2, `events arrived as separate chunks (${arrivals.length})`)
  t.match(arrivals[0]?.chunk, /^data: event 1\n\n/)
  t.equal(arrivals[0]?.upstreamFinished, false, 'the first event arrived before the upstream finished')
  t.equal(arrivals.map((a) => a.chunk).join(''), 'data: event 1\n\ndata: event 2\n\ndata: event 3\n\n')
})

t.test('HEAD, 204 and 304 responses are left untouched', async (t) => {
  const { seen, gw } = await responseGateway(t)
  const head = await gw.request({ method: 'HEAD', path: '/b/gzip', headers: { 'x-rewrite': 'yes' } })
  t.equal(head.status, 200)
  t.equal(head.body.length, 0)
  t.equal(head.headers['content-length'], String(SENT['/gzip']!.length), 'HEAD keeps the upstream length')
  t.equal(head.headers['content-encoding'], 'gzip')
  t.match(seen.at(-1), { bodySkipped: 'no-body' })

  const noContent = await gw.request({ path: '/b/204', headers: { 'x-rewrite': 'yes' } })
  t.equal(noContent.status, 204)
  t.equal(noContent.body.length, 0)
  t.equal(noContent.headers['x-up'], '1')
  t.match(seen.at(-1), { status: 204, bodySkipped: 'no-body' })

  const notModified = await gw.request({ path: '/b/304', headers: { 'x-rewrite': 'yes' } })
  t.equal(notModified.status, 304)
  t.equal(notModified.body.length, 0)
  t.equal(notModified.headers.etag, '"v1"')
  t.match(seen.at(-1), { status: 304, bodySkipped: 'no-body' })
})

t.test('a replaced body gets a weak ETag and no digests; an untouched one keeps them', async (t) => {
  const replacer = definePlugin({
    name: 'replacer',
    version: '1.0.0',
    priority: 1_000,
    init: () => ({
      needs: { responseBody: true },
      response(ctx) {
        if (ctx.request.headers['x-replace'] === 'yes') ctx.response.body = { replaced: true }
      },
    }),
  })
  const upstream = await startUpstream({
    t,
    handler(req, res) {
      const weak = req.url?.includes('weak')
      res
        .writeHead(200, {
          'content-type': 'application/json',
          etag: weak ? 'W/"w1"' : '"s1"',
          'content-md5': 'bWQ1',
          digest: 'sha-256=abc',
          'content-digest': 'sha-256=:abc:',
          'repr-digest': 'sha-256=:abc:',
          'last-modified': 'Mon, 02 Jan 2006 15:04:05 GMT',
        })
        .end('{"original":true}')
    },
  })
  const gw = await startGateway({
    t,
    plugins: [replacer],
    config: {
      services: [
        {
          name: 's',
          url: upstream.url,
          routes: [{ name: 'r', paths: ['/'], plugins: [{ name: 'replacer' }] }],
        },
      ],
    },
  })
  const replaced = await gw.request({ path: '/strong', headers: { 'x-replace': 'yes' } })
  t.same(replaced.json(), { replaced: true })
  t.equal(replaced.headers.etag, 'W/"s1"', 'a strong ETag becomes weak')
  for (const h of ['content-md5', 'digest', 'content-digest', 'repr-digest'])
    t.equal(replaced.headers[h], undefined, h)
  t.equal(replaced.headers['last-modified'], 'Mon, 02 Jan 2006 15:04:05 GMT')
  const weak = await gw.request({ path: '/weak', headers: { 'x-replace': 'yes' } })
  t.equal(weak.headers.etag, 'W/"w1"', 'a weak ETag stays weak, not W/W/')
  const kept = await gw.request({ path: '/strong' })
  t.equal(kept.text, '{"original":true}')
  t.equal(kept.headers.etag, '"s1"')
  t.equal(kept.headers['content-md5'], 'bWQ1')
})

t.test(
  'a response plugin may give a bodiless 304 a body of its own (a cache answering its revalidation)',
  async (t) => {
    const upstream = await startUpstream({
      t,
      handler(_req, res) {
        res.writeHead(304, { etag: 'W/"v1"' })
        res.end()
      },
    })
    const stored = definePlugin({
      name: 'stored',
      version: '1.0.0',
      priority: 10,
      init() {
        return {
          needs: { responseBody: true },
          response(ctx) {
            if (ctx.response.bodySkipped !== 'no-body' || ctx.response.status !== 304) return
            ctx.response.status = 200
            ctx.response.headers = { 'content-type': 'text/plain', etag: 'W/"v1"' }
            ctx.response.body = Buffer.from('the stored body')
          },
        }
      },
    })
    const gw = await startGateway({
      t,
      plugins: [stored],
      config: {
        services: [
          {
            name: 's',
            url: upstream.url,
            routes: [{ name: 'r', paths: ['/'], plugins: [{ name: 'stored' }] }],
          },
        ],
      },
    })
    const res = await gw.request({ path: '/doc' })
    t.equal(res.status, 200)
    t.equal(res.text, 'the stored body')
    t.equal(res.headers['content-length'], '15')
  },
)
