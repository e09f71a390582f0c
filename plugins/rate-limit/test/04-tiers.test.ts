import { startGateway, startUpstream } from '@gatehousejs/sdk/testing'
import t from 'tap'
import rateLimit from '../src/index.js'
import { burst, statuses, testAuth } from './fixtures/helpers.js'

// Tiers: consumer-scoped instances give two consumers different limits on the same route.

t.test('two consumers, two tiers, one route; anonymous clients get the route default', async (t) => {
  const upstream = await startUpstream({ t })
  const gw = await startGateway({
    t,
    plugins: [testAuth, rateLimit],
    config: {
      services: [
        {
          name: 'api',
          url: upstream.url,
          routes: [
            {
              name: 'api',
              paths: ['/api'],
              plugins: [{ name: 'rate-limit', config: { limits: { hour: 1 } } }],
            },
          ],
        },
      ],
      consumers: [
        {
          username: 'free-client',
          plugins: [{ name: 'rate-limit', config: { limits: { hour: 2 } } }],
        },
        {
          username: 'enterprise-client',
          groups: ['enterprise'],
          plugins: [{ name: 'rate-limit', config: { limits: { hour: 5 } } }],
        },
      ],
      plugins: [{ name: 'test-auth' }],
    },
  })
  const free = await burst(gw, 8, { path: '/api', headers: { 'x-consumer': 'free-client' } })
  t.same(statuses(free), { 200: 2, 429: 6 })
  t.equal(free[0]?.headers['ratelimit-limit'], '2')

  const enterprise = await burst(gw, 8, { path: '/api', headers: { 'x-consumer': 'enterprise-client' } })
  t.same(statuses(enterprise), { 200: 5, 429: 3 })
  t.equal(enterprise[0]?.headers['x-ratelimit-limit-hour'], '5')

  const anonymous = await burst(gw, 3, { path: '/api' })
  t.same(statuses(anonymous), { 200: 1, 429: 2 }, 'the route instance applies to everyone else')
  t.equal(upstream.requests.length, 2 + 5 + 1)
})
