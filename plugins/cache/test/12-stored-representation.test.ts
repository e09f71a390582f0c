import { createHash } from 'node:crypto'
import { definePlugin, PRIORITY } from '@gatehousejs/sdk'
import t from 'tap'
import { type Reply, setup } from './helpers/setup.js'

// RFC 9111 §4.3.4: a 304 refreshes the stored response's metadata; the representation the client
// gets is still the origin's own, so its strong ETag and its digests stay as the origin sent them.

const body = 'the stored representation'
const md5 = createHash('md5').update(body).digest('base64')
const sha = `sha-256=${createHash('sha256').update(body).digest('base64')}`

const origin =
  (status304or500: 304 | 500) =>
  (_req: unknown, n: number): Reply =>
    n === 1
      ? {
          headers: {
            'cache-control': 'max-age=0, stale-if-error=60',
            etag: '"r1"',
            'content-md5': md5,
            digest: sha,
            'repr-digest': `sha-256=:${createHash('sha256').update(body).digest('base64')}:`,
          },
          body,
        }
      : status304or500 === 304
        ? {
            status: 304,
            headers: { etag: '"r1"', 'cache-control': 'max-age=0, stale-if-error=60' },
            body: '',
          }
        : { status: 500, body: 'origin down' }

/** Upper-cases every buffered response body; a lower priority than the cache's runs after it. */
const rewriter = definePlugin({
  name: 'response-rewriter',
  version: '1.0.0',
  priority: PRIORITY.cache - 1,
  init() {
    return {
      needs: { responseBody: true },
      response(ctx) {
        if (Buffer.isBuffer(ctx.response.body)) ctx.response.body = ctx.response.body.toString().toUpperCase()
      },
    }
  },
})

for (const upstream of [304, 500] as const) {
  t.test(`served after a ${upstream}: strong ETag and digests unchanged`, async (t) => {
    const s = await setup(t, {}, origin(upstream))
    const first = await s.get('/doc')
    t.equal(first.headers.etag, '"r1"')
    const again = await s.get('/doc')
    t.equal(again.headers['x-cache-status'], upstream === 304 ? 'Refresh' : 'Stale')
    t.equal(again.status, 200)
    t.equal(again.text, body)
    t.equal(again.headers.etag, '"r1"', 'the ETag is not made weak')
    t.equal(again.headers['content-md5'], md5)
    t.equal(again.headers.digest, sha)
    t.equal(again.headers['repr-digest'], first.headers['repr-digest'])
    t.equal(again.headers['content-length'], String(Buffer.byteLength(body)))
    t.equal(createHash('md5').update(again.text).digest('base64'), again.headers['content-md5'])
  })
}

t.test('a later plugin that rewrites the served body still weakens the ETag', async (t) => {
  const s = await setup(t, {}, origin(304), {
    routePlugins: [{ name: 'response-rewriter', config: {} }],
    extra: [rewriter],
  })
  await s.get('/doc')
  const again = await s.get('/doc')
  t.equal(again.text, body.toUpperCase())
  t.equal(again.headers.etag, 'W/"r1"')
  t.equal(again.headers['content-md5'], undefined)
})
