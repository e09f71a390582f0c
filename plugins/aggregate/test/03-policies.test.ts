import type { GatewayConfig } from '@gatehousejs/core'
import keyAuth from '@gatehousejs/plugin-key-auth'
import { startGateway } from '@gatehousejs/sdk/testing'
import t, { type Test } from 'tap'
import aggregate from '../src/index.js'
import { jsonService } from './helpers/services.js'

// A call goes through its target route's own plugins with the caller's identity: an aggregate cannot
// be used to reach a protected route without the caller's credentials.

async function setup(t: Test) {
  const accounts = await jsonService(t, { '/me': { plan: 'gold' } })
  const news = await jsonService(t, { '/latest': { headline: 'hello' } })
  const config: GatewayConfig = {
    services: [
      { name: 'accounts', url: accounts.url, routes: [{ name: 'account', paths: ['/account'] }] },
      { name: 'news', url: news.url, routes: [{ name: 'news', paths: ['/news'] }] },
      { name: 'bff', url: 'http://127.0.0.1:9', routes: [{ name: 'home', paths: ['/home'] }] },
    ],
    consumers: [{ username: 'ada', credentials: { 'key-auth': [{ key: 'ada-key-0123456789' }] } }],
    plugins: [
      { name: 'key-auth', route: 'account' },
      {
        name: 'aggregate',
        route: 'home',
        config: {
          calls: [
            { name: 'account', route: 'account', path: '/account/me', headers: ['apikey'], group: 'account' },
            { name: 'news', route: 'news', path: '/news/latest', group: 'news' },
          ],
        },
      },
    ],
  }
  const gw = await startGateway({ t, plugins: [aggregate, keyAuth], config })
  return { gw, accounts, news }
}

t.test('with the caller’s key, the protected route answers and sees the consumer', async (t) => {
  const { gw, accounts } = await setup(t)
  const res = await gw.request({ path: '/home', headers: { apikey: 'ada-key-0123456789' } })
  t.equal(res.status, 200)
  t.equal(res.headers['gatehouse-completed'], 'true')
  t.same(res.json(), { account: { plan: 'gold' }, news: { headline: 'hello' } })
  t.equal(accounts.last()?.headers['x-consumer-username'], 'ada', 'key-auth identified the caller')
})

t.test('without it, the protected call fails with key-auth’s own code; the rest is served', async (t) => {
  const { gw, accounts } = await setup(t)
  const res = await gw.request({ path: '/home' })
  t.equal(res.status, 200)
  t.equal(res.headers['gatehouse-completed'], 'false')
  t.same(res.json(), {
    news: { headline: 'hello' },
    _errors: [
      { call: 'account', code: 'GH_KEY_AUTH_MISSING', message: 'No API key found in request', status: 401 },
    ],
  })
  const wrong = await gw.request({ path: '/home', headers: { apikey: 'mallory-key-000000000' } })
  t.match(wrong.json()._errors, [{ call: 'account', code: 'GH_KEY_AUTH_INVALID', status: 401 }])
  t.equal(accounts.requests.length, 0, 'the protected service was never reached')
})

t.test('a client-sent identity header does not reach the target through the aggregate', async (t) => {
  const { gw, news } = await setup(t)
  await gw.request({ path: '/home', headers: { 'x-consumer-username': 'root' } })
  t.equal(news.last()?.headers['x-consumer-username'], undefined)
})
