/**
 * Traffic split: a share of a service's requests, by weight or by header/cookie, goes to another
 * service (canary releases, /v1 → /v2 migrations). The route and its plugins stay the same.
 */
import type { Gateway } from '@gatehousejs/core'
import type { GatewayConfig } from '@gatehousejs/sdk/config'
import { startGateway, startUpstream } from '@gatehousejs/sdk/testing'
import t, { type Test } from 'tap'

async function setup(t: Test, split: unknown[]) {
  const stable = await startUpstream({ t })
  const canary = await startUpstream({ t })
  const config = {
    services: [
      { name: 'users', url: `${stable.url}/v1`, split, routes: [{ paths: ['/users'] }] },
      { name: 'users-v2', url: `${canary.url}/v2` },
    ],
  } as GatewayConfig
  const gw = await startGateway<Gateway>({ t, config })
  return { stable, canary, gw }
}

t.test('canary by weight: about the configured share goes to the other service', async (t) => {
  const { stable, canary, gw } = await setup(t, [{ service: 'users-v2', weight: 20 }])
  const N = 600
  for (let i = 0; i < N; i++) t.equal((await gw.request({ path: `/users/${i}` })).status, 200)
  const share = canary.requests.length / N
  // Random per request: 20 % ± 10 points. One standard deviation is sqrt(0.2 × 0.8 / 600) ≈ 1.6
  // points, so the band is over 6 of them (a false failure about once in a billion runs; the old
  // ± 7 points at N = 300 was 3 and failed a CI run), and it still tells 20 % from 0 or 50 %.
  t.ok(share > 0.1 && share < 0.3, `canary share ${share}`)
  t.equal(stable.requests.length + canary.requests.length, N)
  t.match(canary.last()?.url, /^\/v2\/\d+$/, "the canary service's own base path")
  t.match(stable.last()?.url, /^\/v1\/\d+$/)
})

t.test('canary by header and by cookie; others stay', async (t) => {
  const { stable, canary, gw } = await setup(t, [
    { service: 'users-v2', header: 'X-Canary', value: 'yes' },
    { service: 'users-v2', cookie: 'beta' },
  ])
  await gw.request({ path: '/users/a', headers: { 'x-canary': 'yes' } })
  await gw.request({ path: '/users/b', headers: { 'x-canary': 'no' } })
  await gw.request({ path: '/users/c', headers: { cookie: 'theme=dark; beta=1' } })
  await gw.request({ path: '/users/d', headers: { cookie: 'theme=dark' } })
  await gw.request({ path: '/users/e' })
  t.same(
    canary.requests.map((r) => r.url),
    ['/v2/a', '/v2/c'],
  )
  t.same(
    stable.requests.map((r) => r.url),
    ['/v1/b', '/v1/d', '/v1/e'],
  )
})

t.test('a weight of 100 moves everything (a /v1 → /v2 migration)', async (t) => {
  const { stable, canary, gw } = await setup(t, [{ service: 'users-v2', weight: 100 }])
  for (let i = 0; i < 10; i++) await gw.request({ path: `/users/${i}` })
  t.equal(canary.requests.length, 10)
  t.equal(stable.requests.length, 0)
})
