/**
 * An upstream whose status line is outside 100–599 (RFC 9110 §15: a status code is three digits, and
 * the classes are 1xx–5xx) has sent an invalid response: the client gets 502 GH_UPSTREAM_BAD_RESPONSE,
 * never a 500 from the HTTP framework, and with targets the attempt counts against the target.
 */
import { startGateway, type TestGateway } from '@gatehousejs/sdk/testing'
import t from 'tap'
import { ERROR_BODY_KEYS, startRawUpstream } from './helpers/http.js'

/** An upstream that answers every request with `status` and a small body. */
function statusUpstream(tt: Parameters<typeof startRawUpstream>[0], status: string) {
  return startRawUpstream(tt, (socket) =>
    socket.end(`HTTP/1.1 ${status}\r\ncontent-length: 5\r\nconnection: close\r\n\r\nhello`),
  )
}

async function gatewayTo(tt: Parameters<typeof startRawUpstream>[0], url: string): Promise<TestGateway> {
  return startGateway({
    t: tt as never,
    config: { services: [{ name: 'up', url, routes: [{ paths: ['/'] }] }] },
  })
}

for (const status of ['999 Weird', '600 Too Far', '700 Nope']) {
  t.test(`upstream status ${status} → 502 GH_UPSTREAM_BAD_RESPONSE`, async (t) => {
    const raw = await statusUpstream(t, status)
    const gw = await gatewayTo(t, raw.url)
    for (const method of ['GET', 'HEAD']) {
      const res = await gw.request({ method, path: '/x' })
      t.equal(res.status, 502, `${method}: 502`)
      if (method === 'GET') {
        const body = res.json()
        t.same(Object.keys(body).sort(), ERROR_BODY_KEYS)
        t.equal(body.code, 'GH_UPSTREAM_BAD_RESPONSE')
        t.notOk(res.text.includes('hello'), 'the upstream body is not passed on')
      }
    }
    t.ok(raw.heads.length >= 2, 'the requests did reach the upstream')
  })
}

t.test('statuses at the edges of 100–599 are passed through', async (t) => {
  for (const status of ['599 Custom', '299 Custom', '200 OK']) {
    const raw = await statusUpstream(t, status)
    const gw = await gatewayTo(t, raw.url)
    const res = await gw.request({ path: '/x' })
    t.equal(res.status, Number(status.slice(0, 3)), status)
    t.equal(res.text, 'hello')
  }
})

t.test('with targets, a bad status is a failed attempt: the next target answers', async (t) => {
  const bad = await statusUpstream(t, '999 Weird')
  const good = await statusUpstream(t, '200 OK')
  const gw = await startGateway({
    t,
    config: {
      services: [
        {
          name: 'up',
          targets: [{ url: bad.url }, { url: good.url }],
          retries: { attempts: 1 },
          routes: [{ paths: ['/'] }],
        },
      ],
    },
  })
  const statuses: number[] = []
  for (let i = 0; i < 4; i++) statuses.push((await gw.request({ path: '/x' })).status)
  t.same(statuses, [200, 200, 200, 200], 'every request is answered by the good target')
  t.ok(bad.heads.length >= 1, 'the bad target was tried')
})
