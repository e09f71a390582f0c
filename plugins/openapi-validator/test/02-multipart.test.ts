import { startGateway, startUpstream } from '@gatehousejs/sdk/testing'
import t from 'tap'
import openapiValidator from '../src/index.js'

type TestLike = { teardown(fn: () => unknown): void }

// multipart/form-data bodies through a real gateway to a real upstream: text fields are checked by
// their schema (coerced like form values, JSON for object properties), file parts by presence, size
// (`maxLength`/`minLength` in bytes) and content type (`encoding.<name>.contentType`, or 3.1's
// `contentMediaType`); a body busboy cannot parse is a problem too. The upstream gets the body as sent.

const SPEC = {
  openapi: '3.0.3',
  info: { title: 'Uploads', version: '1' },
  paths: {
    '/photos': {
      post: {
        requestBody: {
          required: true,
          content: {
            'multipart/form-data': {
              schema: { $ref: '#/components/schemas/Upload' },
              encoding: { image: { contentType: 'image/png, image/jpeg' } },
            },
          },
        },
        responses: { '201': { description: 'created' } },
      },
    },
  },
  components: {
    schemas: {
      Upload: {
        type: 'object',
        required: ['title', 'image'],
        additionalProperties: false,
        properties: {
          title: { type: 'string', minLength: 1 },
          rating: { type: 'integer', minimum: 1, maximum: 5 },
          tags: { type: 'array', items: { type: 'string' }, maxItems: 2 },
          meta: { type: 'object', required: ['camera'], properties: { camera: { type: 'string' } } },
          image: { type: 'string', format: 'binary', maxLength: 16 },
          extras: { type: 'array', items: { type: 'string', format: 'binary', minLength: 2 } },
        },
      },
    },
  },
}

const SPEC_31 = {
  openapi: '3.1.0',
  info: { title: 'Uploads', version: '1' },
  paths: {
    '/docs': {
      post: {
        requestBody: {
          content: {
            'multipart/form-data': {
              schema: {
                type: 'object',
                required: ['doc'],
                properties: { doc: { type: 'string', contentMediaType: 'application/pdf' } },
              },
            },
          },
        },
        responses: { '201': { description: 'created' } },
      },
    },
  },
}

async function setup(t: TestLike, spec: object) {
  const upstream = await startUpstream({ t })
  const gw = await startGateway({
    t,
    plugins: [openapiValidator],
    config: {
      services: [{ name: 'up', url: upstream.url, routes: [{ paths: ['/'], stripPath: false }] }],
      plugins: [{ name: 'openapi-validator', config: { spec } }],
    },
  })
  return { upstream, gw }
}

/** A multipart body as a browser would send it, through the platform's own FormData encoder. */
async function encode(parts: [string, string | Blob, string?][]): Promise<{ type: string; body: Buffer }> {
  const form = new FormData()
  for (const [name, value, filename] of parts) {
    if (typeof value === 'string') form.append(name, value)
    else form.append(name, value, filename)
  }
  const res = new Response(form)
  return {
    type: res.headers.get('content-type') as string,
    body: Buffer.from(await res.arrayBuffer()),
  }
}

const png = (bytes: number) => new Blob([Buffer.alloc(bytes, 1)], { type: 'image/png' })

t.test('a valid multipart body passes unchanged', async (t) => {
  const { upstream, gw } = await setup(t, SPEC)
  const form = await encode([
    ['title', 'Sunset'],
    ['rating', '4'],
    ['tags', 'sky'],
    ['tags', 'sea'],
    ['meta', '{"camera":"x100"}'],
    ['image', png(16), 'sunset.png'],
    ['extras', png(2), 'a.png'],
    ['extras', png(3), 'b.png'],
  ])
  const res = await gw.request({
    method: 'POST',
    path: '/photos',
    headers: { 'content-type': form.type },
    body: form.body,
  })
  t.equal(res.status, 200, res.text)
  t.same(upstream.last()?.body, form.body, 'the upstream gets the body byte for byte')
})

t.test('fields and files that break the description: 400 with one problem each', async (t) => {
  const { upstream, gw } = await setup(t, SPEC)
  const form = await encode([
    ['title', ''],
    ['rating', 'nine'],
    ['tags', 'a'],
    ['tags', 'b'],
    ['tags', 'c'],
    ['meta', '{"lens":"35mm"}'],
    ['image', new Blob([Buffer.alloc(17)], { type: 'image/gif' }), 'big.gif'],
    ['extras', png(1), 'tiny.png'],
    ['unknown', 'x'],
  ])
  const res = await gw.request({
    method: 'POST',
    path: '/photos',
    headers: { 'content-type': form.type },
    body: form.body,
  })
  t.equal(res.status, 400, res.text)
  const body = res.json()
  t.equal(body.code, 'GH_OPENAPI_REQUEST_INVALID')
  const found = body.problems.map(
    (p: { in: string; pointer: string; message: string }) => `${p.pointer} ${p.message}`,
  )
  t.match(found.join('\n'), /\/image must be of type image\/png, image\/jpeg \(got image\/gif\)/)
  t.match(found.join('\n'), /\/image must NOT be larger than 16 bytes/)
  t.match(found.join('\n'), /\/extras must NOT be smaller than 2 bytes/)
  t.match(found.join('\n'), /\/title must NOT have fewer than 1 characters/)
  t.match(found.join('\n'), /\/rating must be integer/)
  t.match(found.join('\n'), /\/tags must NOT have more than 2 items/)
  t.match(found.join('\n'), /\/meta\/camera must have required property 'camera'/)
  t.match(found.join('\n'), / must NOT have additional properties/)
  t.ok(
    body.problems.every((p: { in: string }) => p.in === 'body'),
    'every problem is in the body',
  )

  // A required file missing, and two files where one is described.
  const missing = await encode([['title', 'No image']])
  let r = await gw.request({
    method: 'POST',
    path: '/photos',
    headers: { 'content-type': missing.type },
    body: missing.body,
  })
  t.equal(r.status, 400)
  t.match(r.json().problems, [
    { in: 'body', pointer: '/image', message: "must have required property 'image'" },
  ])
  const two = await encode([
    ['title', 'Two'],
    ['image', png(4), 'a.png'],
    ['image', png(4), 'b.png'],
  ])
  r = await gw.request({
    method: 'POST',
    path: '/photos',
    headers: { 'content-type': two.type },
    body: two.body,
  })
  t.equal(r.status, 400)
  t.match(r.json().problems, [{ in: 'body', pointer: '/image', message: 'must be a single file' }])

  // Not multipart at all under a multipart content type.
  r = await gw.request({
    method: 'POST',
    path: '/photos',
    headers: { 'content-type': 'multipart/form-data; boundary=zzz' },
    body: 'this is not multipart',
  })
  t.equal(r.status, 400)
  t.equal(r.json().code, 'GH_OPENAPI_REQUEST_INVALID')
  t.match(r.json().problems, [{ in: 'body' }])
  t.equal(upstream.requests.length, 0, 'nothing invalid reached the upstream')
})

t.test('OpenAPI 3.1: contentMediaType names the file part and its type', async (t) => {
  const { upstream, gw } = await setup(t, SPEC_31)
  const good = await encode([['doc', new Blob(['%PDF-1.7'], { type: 'application/pdf' }), 'a.pdf']])
  let r = await gw.request({
    method: 'POST',
    path: '/docs',
    headers: { 'content-type': good.type },
    body: good.body,
  })
  t.equal(r.status, 200, r.text)
  const bad = await encode([['doc', new Blob(['hello'], { type: 'text/plain' }), 'a.txt']])
  r = await gw.request({
    method: 'POST',
    path: '/docs',
    headers: { 'content-type': bad.type },
    body: bad.body,
  })
  t.equal(r.status, 400)
  t.match(r.json().problems, [{ in: 'body', pointer: '/doc', message: /must be of type application\/pdf/ }])
  t.equal(upstream.requests.length, 1)
})
