import zlib from 'node:zlib'
import type { TestLike } from '@gatehousejs/sdk/testing'
import t from 'tap'
import { type Reply, transformGateway } from './helpers/gateway.js'

// Compressed upstream bodies: core decodes them for the plugin and re-encodes the new body.

const original = {
  id: 1,
  secret: 'x',
  items: Array.from({ length: 50 }, (_, i) => ({ i, note: 'repeated text' })),
}
const expected = { id: 1, items: original.items }

function encoded(coding: string, encode: (b: Buffer) => Buffer): Reply {
  return (_req, res) => {
    const body = encode(Buffer.from(JSON.stringify(original)))
    res
      .writeHead(200, {
        'content-type': 'application/json',
        'content-encoding': coding,
        'content-length': body.length,
        vary: 'accept-encoding',
      })
      .end(body)
  }
}

const decoders: Record<string, (b: Buffer) => Buffer> = {
  gzip: zlib.gunzipSync,
  br: zlib.brotliDecompressSync,
  deflate: zlib.inflateSync,
}

async function gateway(t: TestLike) {
  return transformGateway(t, {
    routes: {
      '/gzip': encoded('gzip', zlib.gzipSync),
      '/br': encoded('br', zlib.brotliCompressSync),
      '/deflate': encoded('deflate', zlib.deflateSync),
    },
    config: { remove: { body: ['secret'] } },
  })
}

for (const coding of ['gzip', 'br', 'deflate']) {
  t.test(
    `${coding}: a client that accepts it gets the new body, ${coding}-encoded, with a correct length`,
    async (t) => {
      const { gw } = await gateway(t)
      const res = await gw.request({ path: `/${coding}`, headers: { 'accept-encoding': coding } })
      t.equal(res.status, 200)
      t.equal(res.headers['content-encoding'], coding)
      t.equal(res.headers['content-length'], String(res.body.length))
      t.same(JSON.parse(decoders[coding]!(res.body).toString()), expected)
    },
  )

  t.test(`${coding}: a client that does not accept it gets the new body plain`, async (t) => {
    const { gw } = await gateway(t)
    const res = await gw.request({ path: `/${coding}`, headers: { 'accept-encoding': 'identity' } })
    t.equal(res.status, 200)
    t.equal(res.headers['content-encoding'], undefined)
    t.equal(res.headers['content-length'], String(res.body.length))
    t.same(res.json(), expected)
  })
}
