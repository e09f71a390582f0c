import http from 'node:http'
import { createGateway, type GatewayConfig } from '@gatehousejs/core'
import { startGateway, startUpstream } from '@gatehousejs/sdk/testing'
import t, { type Test } from 'tap'
import ipRestriction, { IpForbidden } from '../src/index.js'

// IPv4 from 127.0.0.1, IPv6 from ::1, and X-Forwarded-For with and without a trusted proxy.

function gatewayConfig(
  upstreamUrl: string,
  config: Record<string, unknown>,
  trustProxy?: string[],
): GatewayConfig {
  return {
    ...(trustProxy ? { trustProxy } : {}),
    services: [{ name: 'api', url: upstreamUrl, routes: [{ name: 'api', paths: ['/api'] }] }],
    plugins: [{ name: 'ip-restriction', config }],
  }
}

async function setup(t: Test, config: Record<string, unknown>, trustProxy?: string[]) {
  const upstream = await startUpstream({ t })
  const gw = await startGateway({
    t,
    plugins: [ipRestriction],
    config: gatewayConfig(upstream.url, config, trustProxy),
  })
  return { upstream, gw }
}

/** A gateway listening on ::1, and a request sent from ::1. */
async function setupV6(t: Test, config: Record<string, unknown>) {
  const upstream = await startUpstream({ t })
  const gateway = await createGateway(gatewayConfig(upstream.url, config), {
    plugins: [ipRestriction],
    logger: false,
    handleSignals: false,
  })
  t.teardown(() => gateway.close())
  const url = new URL(await gateway.listen({ port: 0, host: '::1' }))
  const get = (headers: Record<string, string> = {}) =>
    new Promise<{ status: number; body: any }>((resolve, reject) => {
      const req = http.get(
        { host: '::1', port: Number(url.port), path: '/api', headers, agent: false },
        (res) => {
          let text = ''
          res.on('data', (c) => (text += c))
          res.on('end', () =>
            resolve({ status: res.statusCode ?? 0, body: text ? JSON.parse(text) : undefined }),
          )
        },
      )
      req.on('error', reject)
    })
  return { upstream, get }
}

t.test('IPv4: an allowed address or range passes', async (t) => {
  for (const allow of [['127.0.0.1'], ['127.0.0.0/8'], ['10.0.0.0/8', '127.0.0.0/30']]) {
    const { upstream, gw } = await setup(t, { allow })
    const res = await gw.request({ path: '/api' })
    t.equal(res.status, 200, allow.join(','))
    t.equal(upstream.requests.length, 1)
  }
})

t.test(
  'IPv4: an address outside allow gets 403 GH_IP_FORBIDDEN and never reaches the upstream',
  async (t) => {
    const { upstream, gw } = await setup(t, { allow: ['10.0.0.0/8', '127.0.0.2'] })
    const res = await gw.request({ path: '/api' })
    t.equal(res.status, 403)
    t.match(res.json(), {
      code: 'GH_IP_FORBIDDEN',
      message: 'Your IP address is not allowed',
      statusCode: 403,
    })
    t.equal(IpForbidden.code, 'GH_IP_FORBIDDEN')
    t.equal(upstream.requests.length, 0)
  },
)

t.test('deny refuses, and wins over allow', async (t) => {
  const { upstream, gw } = await setup(t, { allow: ['127.0.0.0/8'], deny: ['127.0.0.1/32'] })
  const res = await gw.request({ path: '/api' })
  t.equal(res.status, 403)
  t.equal(res.json().code, 'GH_IP_FORBIDDEN')
  t.equal(upstream.requests.length, 0)
  const other = await setup(t, { deny: ['192.0.2.0/24'] })
  t.equal((await other.gw.request({ path: '/api' })).status, 200, 'an address not denied passes')
})

t.test('the status and message are configurable; the code stays GH_IP_FORBIDDEN', async (t) => {
  const { gw } = await setup(t, { deny: ['127.0.0.1'], status: 451, message: 'Not from there' })
  const res = await gw.request({ path: '/api' })
  t.equal(res.status, 451)
  t.match(res.json(), { code: 'GH_IP_FORBIDDEN', message: 'Not from there', statusCode: 451 })
})

t.test('IPv6 from ::1: addresses and ranges', async (t) => {
  const allowed = await setupV6(t, { allow: ['::1'] })
  t.equal((await allowed.get()).status, 200)
  t.equal(allowed.upstream.requests.length, 1)

  const range = await setupV6(t, { allow: ['::/127'] })
  t.equal((await range.get()).status, 200, '::1 is in ::/127')

  const outside = await setupV6(t, { allow: ['2001:db8::/32', '127.0.0.1'] })
  const res = await outside.get()
  t.equal(res.status, 403, 'an IPv4 rule does not match an IPv6 client')
  t.equal(res.body.code, 'GH_IP_FORBIDDEN')
  t.equal(outside.upstream.requests.length, 0)

  const denied = await setupV6(t, { deny: ['0:0:0:0:0:0:0:1/128'] })
  t.equal((await denied.get()).status, 403, 'written in full form')
})

t.test('without trustProxy, a forged X-Forwarded-For changes nothing', async (t) => {
  const spoofAllowed = await setup(t, { allow: ['203.0.113.0/24'] })
  const res = await spoofAllowed.gw.request({ path: '/api', headers: { 'x-forwarded-for': '203.0.113.7' } })
  t.equal(res.status, 403, 'the peer, 127.0.0.1, is checked')
  t.equal(spoofAllowed.upstream.requests.length, 0)

  const spoofDenied = await setup(t, { deny: ['127.0.0.1'] })
  const res2 = await spoofDenied.gw.request({ path: '/api', headers: { 'x-forwarded-for': '198.51.100.1' } })
  t.equal(res2.status, 403, 'a denied peer cannot hide behind a header')
})

t.test('behind a trusted proxy, the forwarded client address is checked', async (t) => {
  const { upstream, gw } = await setup(
    t,
    { allow: ['203.0.113.0/24', '2001:db8::/32'], deny: ['203.0.113.66'] },
    ['loopback'],
  )
  const ok = await gw.request({ path: '/api', headers: { 'x-forwarded-for': '203.0.113.7' } })
  t.equal(ok.status, 200)
  t.equal(upstream.last()?.headers['x-real-ip'], '203.0.113.7')
  const v6 = await gw.request({ path: '/api', headers: { 'x-forwarded-for': '2001:db8::5' } })
  t.equal(v6.status, 200, 'an IPv6 client behind an IPv4 proxy')
  const denied = await gw.request({ path: '/api', headers: { 'x-forwarded-for': '203.0.113.66' } })
  t.equal(denied.status, 403)
  const peer = await gw.request({ path: '/api' })
  t.equal(peer.status, 403, 'without the header, the proxy itself (127.0.0.1) is the client')
  const chain = await gw.request({
    path: '/api',
    headers: { 'x-forwarded-for': '203.0.113.7, 198.51.100.1' },
  })
  t.equal(chain.status, 403, 'the nearest untrusted hop is the client, not the first one listed')
  t.equal(upstream.requests.length, 2)
})

t.test('IPv4-mapped IPv6 matches IPv4 rules, and mapped rules match IPv4 clients', async (t) => {
  const v4rule = await setup(t, { allow: ['198.51.100.0/24'] }, ['loopback'])
  const mapped = await v4rule.gw.request({
    path: '/api',
    headers: { 'x-forwarded-for': '::ffff:198.51.100.9' },
  })
  t.equal(mapped.status, 200)
  const outside = await v4rule.gw.request({
    path: '/api',
    headers: { 'x-forwarded-for': '::ffff:192.0.2.9' },
  })
  t.equal(outside.status, 403)

  const mappedRule = await setup(t, { allow: ['::ffff:198.51.100.0/120'], deny: ['::ffff:198.51.100.66'] }, [
    'loopback',
  ])
  const plain = await mappedRule.gw.request({ path: '/api', headers: { 'x-forwarded-for': '198.51.100.9' } })
  t.equal(plain.status, 200)
  const denied = await mappedRule.gw.request({
    path: '/api',
    headers: { 'x-forwarded-for': '198.51.100.66' },
  })
  t.equal(denied.status, 403)
})
