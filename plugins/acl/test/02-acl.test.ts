import type { GatewayConfig } from '@gatehousejs/core'
import keyAuth from '@gatehousejs/plugin-key-auth'
import { startGateway, startUpstream } from '@gatehousejs/sdk/testing'
import t, { type Test } from 'tap'
import acl from '../src/index.js'

// acl after key-auth on a real gateway: who passes, with what status and code, and what goes upstream.

const consumers: GatewayConfig['consumers'] = [
  { username: 'alice', groups: ['admins', 'staff'], credentials: { 'key-auth': [{ key: 'alice-key' }] } },
  { username: 'bob', groups: ['staff'], credentials: { 'key-auth': [{ key: 'bob-key' }] } },
  { username: 'carol', credentials: { 'key-auth': [{ key: 'carol-key' }] } },
  { username: 'guest', groups: ['anonymous'] },
]

async function setup(t: Test, aclConfig: Record<string, unknown>, keyConfig: Record<string, unknown> = {}) {
  const upstream = await startUpstream({ t })
  const gw = await startGateway({
    t,
    plugins: [keyAuth, acl],
    config: {
      services: [
        {
          name: 'api',
          url: upstream.url,
          routes: [
            {
              name: 'guarded',
              paths: ['/guarded'],
              plugins: [
                { name: 'key-auth', config: keyConfig },
                { name: 'acl', config: aclConfig },
              ],
            },
            { name: 'acl-only', paths: ['/acl-only'], plugins: [{ name: 'acl', config: aclConfig }] },
          ],
        },
      ],
      consumers,
    },
  })
  const as = (key: string | undefined, path = '/guarded/x') =>
    gw.request({ path, headers: key ? { apikey: key } : {} })
  return { upstream, gw, as }
}

t.test('allow: only consumers in a listed group pass', async (t) => {
  const { upstream, as } = await setup(t, { allow: ['admins'] })
  let res = await as('alice-key')
  t.equal(res.status, 200)
  t.equal(upstream.last()!.headers['x-consumer-groups'], 'admins, staff')
  for (const key of ['bob-key', 'carol-key']) {
    res = await as(key)
    t.equal(res.status, 403, key)
    t.equal(res.json().code, 'GH_ACL_FORBIDDEN')
  }
  t.equal(upstream.requests.length, 1, 'refused requests never reach the upstream')
})

t.test('deny: consumers in a listed group are refused, others pass (no groups too)', async (t) => {
  const { upstream, as } = await setup(t, { deny: ['admins'] })
  t.equal((await as('alice-key')).json().code, 'GH_ACL_FORBIDDEN')
  t.equal((await as('bob-key')).status, 200)
  t.equal((await as('carol-key')).status, 200)
  t.equal(upstream.last()!.headers['x-consumer-groups'], undefined, 'no groups, no header')
  t.equal(upstream.requests.length, 2)
})

t.test('no consumer identified: 401 GH_ACL_UNAUTHENTICATED', async (t) => {
  const { upstream, as } = await setup(t, { deny: ['admins'] })
  const res = await as('alice-key', '/acl-only/x')
  t.equal(res.status, 401)
  t.equal(res.json().code, 'GH_ACL_UNAUTHENTICATED')
  t.equal(upstream.requests.length, 0)
})

t.test('the anonymous consumer is judged by its own groups', async (t) => {
  const { upstream, as } = await setup(t, { deny: ['anonymous'] }, { anonymous: 'guest' })
  let res = await as(undefined)
  t.equal(res.status, 403)
  t.equal(res.json().code, 'GH_ACL_FORBIDDEN')
  res = await as('bob-key')
  t.equal(res.status, 200)
  t.equal(upstream.requests.length, 1)

  const open = await setup(t, { allow: ['anonymous', 'staff'] }, { anonymous: 'guest' })
  res = await open.as(undefined)
  t.equal(res.status, 200)
  t.equal(open.upstream.last()!.headers['x-anonymous-consumer'], 'true')
  t.equal(open.upstream.last()!.headers['x-consumer-groups'], 'anonymous')
})

t.test('hideGroupsHeader keeps the groups from the upstream, and only them', async (t) => {
  const { upstream, gw } = await setup(t, { allow: ['staff'], hideGroupsHeader: true })
  const res = await gw.request({
    path: '/guarded/x',
    headers: { apikey: 'alice-key', 'x-consumer-groups': 'forged' },
  })
  t.equal(res.status, 200)
  t.equal(upstream.last()!.headers['x-consumer-groups'], undefined)
  t.equal(upstream.last()!.headers['x-consumer-username'], 'alice')
})
