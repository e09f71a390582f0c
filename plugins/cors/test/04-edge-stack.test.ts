import http from 'node:http'
import type { GatewayConfig } from '@gatehousejs/core'
import ipRestriction from '@gatehousejs/plugin-ip-restriction'
import requestSizeLimit from '@gatehousejs/plugin-request-size-limit'
import requestTermination from '@gatehousejs/plugin-request-termination'
import { startGateway, startUpstream } from '@gatehousejs/sdk/testing'
import t, { type Test } from 'tap'
import cors from '../src/index.js'

// The edge plugins together: the refusals of ip-restriction (403), request-size-limit (413) and a
// request-termination (503) all reach the browser with CORS headers, and preflights are answered
// first, as in Kong (cors runs before ip-restriction).

const ORIGIN = 'https://app.example.com'

async function setup(t: Test, routePlugins: NonNullable<GatewayConfig['plugins']>) {
  const upstream = await startUpstream({ t })
  const gw = await startGateway({
    t,
    plugins: [cors, ipRestriction, requestSizeLimit, requestTermination],
    config: {
      services: [
        { name: 'api', url: upstream.url, routes: [{ name: 'api', paths: ['/api'], plugins: routePlugins }] },
      ],
      plugins: [{ name: 'cors', config: { origins: [ORIGIN], credentials: true } }],
    },
  })
  return { upstream, gw }
}

t.test(
  'a denied address: the preflight is answered, the actual request gets 403 with CORS headers',
  async (t) => {
    const { upstream, gw } = await setup(t, [{ name: 'ip-restriction', config: { deny: ['127.0.0.1'] } }])
    const pre = await gw.request({
      method: 'OPTIONS',
      path: '/api',
      headers: { origin: ORIGIN, 'access-control-request-method': 'POST' },
    })
    t.equal(pre.status, 200)
    t.equal(pre.headers['access-control-allow-origin'], ORIGIN)
    const res = await gw.request({ path: '/api', headers: { origin: ORIGIN } })
    t.equal(res.status, 403)
    t.equal(res.json().code, 'GH_IP_FORBIDDEN')
    t.equal(res.headers['access-control-allow-origin'], ORIGIN)
    t.equal(res.headers['access-control-allow-credentials'], 'true')
    t.equal(upstream.requests.length, 0)
  },
)

t.test('a body cut off at the limit: the 413 carries CORS headers', async (t) => {
  const { upstream, gw } = await setup(t, [
    { name: 'request-size-limit', config: { allowedPayloadSize: '4kb' } },
  ])
  const declared = await gw.request({
    method: 'POST',
    path: '/api',
    headers: { origin: ORIGIN },
    body: Buffer.alloc(8192, 1),
  })
  t.equal(declared.status, 413)
  t.equal(declared.json().code, 'GH_REQUEST_TOO_LARGE')
  t.equal(declared.headers['access-control-allow-origin'], ORIGIN)

  // A chunked body: cut off while streaming, after the upstream request started.
  const chunked = await new Promise<{ status: number; acao: unknown; code: string }>((resolve, reject) => {
    let answered = false
    const req = http.request(
      {
        host: '127.0.0.1',
        port: new URL(gw.url).port,
        method: 'POST',
        path: '/api',
        agent: false,
        headers: { origin: ORIGIN },
      },
      (res) => {
        answered = true
        let text = ''
        res.on('data', (c) => (text += c))
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            acao: res.headers['access-control-allow-origin'],
            code: JSON.parse(text).code,
          }),
        )
      },
    )
    req.on('error', (err) => !answered && reject(err))
    let sent = 0
    const timer = setInterval(() => {
      if (answered || req.destroyed || sent >= 200) {
        clearInterval(timer)
        if (!answered && !req.destroyed) req.end()
        return
      }
      sent++
      req.write(Buffer.alloc(1024, 0x61))
    }, 3)
  })
  t.equal(chunked.status, 413)
  t.equal(chunked.code, 'GH_REQUEST_TOO_LARGE')
  t.equal(chunked.acao, ORIGIN)
  // The default upstream records a request when it starts and its body once the body ends: an
  // aborted request keeps an empty body.
  t.ok(upstream.requests.length <= 1)
  t.ok(
    upstream.requests.every((r) => r.body.length === 0),
    'no upstream request received its body',
  )
})

t.test('a route under maintenance: the 503 carries CORS headers', async (t) => {
  const { upstream, gw } = await setup(t, [
    { name: 'request-termination', config: { message: 'Back soon', headers: { 'retry-after': '600' } } },
  ])
  const res = await gw.request({ path: '/api', headers: { origin: ORIGIN } })
  t.equal(res.status, 503)
  t.same(res.json(), { message: 'Back soon' })
  t.equal(res.headers['retry-after'], '600')
  t.equal(res.headers['access-control-allow-origin'], ORIGIN)
  t.equal(upstream.requests.length, 0)
})
