import type { GatewayConfig } from '@gatehousejs/core'
import basicAuth, { hashPassword } from '@gatehousejs/plugin-basic-auth'
import keyAuth from '@gatehousejs/plugin-key-auth'
import { definePlugin, PRIORITY, Type } from '@gatehousejs/sdk'
import { startGateway, startUpstream, type TestUpstream } from '@gatehousejs/sdk/testing'
import t, { type Test } from 'tap'
import acl from '../src/index.js'

// Several auth plugins on one route: "any of them" with `anonymous`, "all of them" without (Kong's
// rule), then acl; and consumer-scoped plugin instances, which apply once an auth plugin identified
// the consumer.

const IDENTITY = [
  'x-consumer-id',
  'x-consumer-username',
  'x-consumer-custom-id',
  'x-consumer-groups',
  'x-credential-identifier',
  'x-anonymous-consumer',
]
const FORGED = Object.fromEntries(IDENTITY.map((h) => [h, 'forged']))
const basic = (user: string, pw: string) => `Basic ${Buffer.from(`${user}:${pw}`).toString('base64')}`

/** A simple plugin to scope to a consumer: it tags the upstream request. */
const tag = definePlugin({
  name: 'tag',
  version: '1.0.0',
  priority: PRIORITY.requestTransform,
  schema: Type.Object({ value: Type.String() }, { additionalProperties: false }),
  init(config) {
    return {
      access(ctx) {
        ctx.upstream.headers['x-tag'] = `${config.value} (seen as ${ctx.consumer?.id ?? 'nobody'})`
      },
    }
  },
})

let consumers: GatewayConfig['consumers']
t.before(async () => {
  consumers = [
    {
      username: 'alice',
      groups: ['staff'],
      credentials: { 'key-auth': [{ key: 'alice-key' }] },
      plugins: [{ name: 'tag', config: { value: 'alice-only' } }],
    },
    {
      username: 'bob',
      groups: ['staff'],
      credentials: {
        'basic-auth': [{ username: 'bob', password: await hashPassword('bob-pw', { cost: 10 }) }],
      },
    },
    { username: 'guest', groups: ['anonymous'] },
  ]
})

async function setup(t: Test, anonymous: string | undefined, withAcl = false) {
  const upstream = await startUpstream({ t })
  const auth = anonymous ? { anonymous } : {}
  const gw = await startGateway({
    t,
    plugins: [keyAuth, basicAuth, acl, tag],
    config: {
      services: [
        {
          name: 'api',
          url: upstream.url,
          routes: [{ name: 'r', paths: ['/'] }],
          plugins: [
            { name: 'key-auth', config: auth },
            { name: 'basic-auth', config: auth },
            ...(withAcl ? [{ name: 'acl', config: { deny: ['anonymous'] } }] : []),
          ],
        },
      ],
      consumers,
      plugins: [{ name: 'tag', config: { value: 'everyone' } }],
    },
  })
  return { upstream, gw }
}

function identity(upstream: TestUpstream) {
  const h = upstream.last()!.headers
  return Object.fromEntries(IDENTITY.filter((n) => h[n] !== undefined).map((n) => [n, h[n]]))
}

t.test('any of them (anonymous set): the first method that succeeds wins', async (t) => {
  const { upstream, gw } = await setup(t, 'guest')

  let res = await gw.request({
    path: '/a',
    headers: { apikey: 'alice-key', authorization: basic('bob', 'wrong'), ...FORGED },
  })
  t.equal(res.status, 200, 'a valid key; basic-auth does not even check')
  t.same(identity(upstream), {
    'x-consumer-id': 'alice',
    'x-consumer-username': 'alice',
    'x-consumer-groups': 'staff',
    'x-credential-identifier': 'alice/key-auth/0',
  })

  res = await gw.request({ path: '/a', headers: { authorization: basic('bob', 'bob-pw'), ...FORGED } })
  t.equal(res.status, 200, 'no key, valid Basic: the anonymous consumer is replaced by bob')
  t.same(identity(upstream), {
    'x-consumer-id': 'bob',
    'x-consumer-username': 'bob',
    'x-consumer-groups': 'staff',
    'x-credential-identifier': 'bob',
  })

  res = await gw.request({
    path: '/a',
    headers: { apikey: 'nope', authorization: basic('bob', 'nope'), ...FORGED },
  })
  t.equal(res.status, 200, 'neither: the anonymous consumer')
  t.same(identity(upstream), {
    'x-consumer-id': 'guest',
    'x-consumer-username': 'guest',
    'x-consumer-groups': 'anonymous',
    'x-anonymous-consumer': 'true',
  })
})

t.test('any of them, then acl refusing the anonymous consumer', async (t) => {
  const { upstream, gw } = await setup(t, 'guest', true)
  let res = await gw.request({ path: '/a' })
  t.equal(res.status, 403)
  t.equal(res.json().code, 'GH_ACL_FORBIDDEN')
  res = await gw.request({ path: '/a', headers: { authorization: basic('bob', 'bob-pw') } })
  t.equal(res.status, 200)
  res = await gw.request({ path: '/a', headers: { apikey: 'alice-key' } })
  t.equal(res.status, 200)
  t.equal(upstream.requests.length, 2)
})

t.test('all of them (no anonymous): each method must pass', async (t) => {
  const { upstream, gw } = await setup(t, undefined)
  let res = await gw.request({ path: '/a', headers: { apikey: 'alice-key' } })
  t.equal(res.status, 401)
  t.equal(res.json().code, 'GH_BASIC_AUTH_MISSING')
  t.match(res.headers['www-authenticate'], /^Basic realm=/)

  res = await gw.request({ path: '/a', headers: { authorization: basic('bob', 'bob-pw') } })
  t.equal(res.status, 401)
  t.equal(res.json().code, 'GH_KEY_AUTH_MISSING')
  t.equal(upstream.requests.length, 0)

  res = await gw.request({
    path: '/a',
    headers: { apikey: 'alice-key', authorization: basic('bob', 'bob-pw') },
  })
  t.equal(res.status, 200, 'both pass')
  t.equal(upstream.last()!.headers['x-consumer-id'], 'bob', 'the last to run names the consumer (Kong)')
  t.equal(upstream.last()!.headers['x-credential-identifier'], 'bob')
})

t.test('a consumer-scoped instance applies once an auth plugin identified that consumer', async (t) => {
  const { upstream, gw } = await setup(t, 'guest')
  await gw.request({ path: '/a', headers: { apikey: 'alice-key' } })
  t.equal(
    upstream.last()!.headers['x-tag'],
    'alice-only (seen as alice)',
    "alice's own instance replaces the global one",
  )
  await gw.request({ path: '/a', headers: { authorization: basic('bob', 'bob-pw') } })
  t.equal(upstream.last()!.headers['x-tag'], 'everyone (seen as bob)')
  await gw.request({ path: '/a' })
  t.equal(upstream.last()!.headers['x-tag'], 'everyone (seen as guest)')
})
