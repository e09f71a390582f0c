import { createHash } from 'node:crypto'
import { startGateway, startRedis, startUpstream } from '@gatehousejs/sdk/testing'
import { Redis } from 'ioredis'
import t from 'tap'
import jwt from '../src/index.js'
import { bearer, keyPair, now, routeConfig, sign, startJwks } from './fixtures/helpers.js'

const keyOf = (url: string) =>
  `t${process.pid}:jwt:jwks:${createHash('sha256').update(url).digest('base64url').slice(0, 22)}`

t.test('gateways share a JWKS through Redis, and fetch it themselves when Redis is down', async (t) => {
  const redis = await startRedis({ t })
  const a = await keyPair('RS256', { kid: 'a' })
  const b = await keyPair('RS256', { kid: 'b' })
  const jwks = await startJwks(t, [a.jwk])
  const upstream = await startUpstream({ t })
  const config = routeConfig(upstream.url, {
    jwks: [{ url: jwks.url }],
    jwksRefreshInterval: '0s',
    redis: 'jwks',
  })
  // Its own key prefix, and a connect timeout: a node starting while Redis is down waits for it no
  // longer than that. Both timeouts leave room for a busy machine, whose stalls must not make a node
  // miss Redis and fetch the set itself.
  config.redis = {
    jwks: { url: redis.url, keyPrefix: `t${process.pid}:`, connectTimeout: '2s', commandTimeout: '5s' },
  }
  const gw1 = await startGateway({ t, plugins: [jwt], config })
  t.equal(jwks.state.hits, 1, 'the first node fetched the set')
  const gw2 = await startGateway({ t, plugins: [jwt], config })
  t.equal(jwks.state.hits, 1, 'the second node took it from Redis')
  const tokenA = await sign({ exp: now() + 300 }, a.privateKey, { alg: 'RS256', kid: 'a' })
  t.equal((await gw1.request({ path: '/api/x', headers: bearer(tokenA) })).status, 200)
  t.equal((await gw2.request({ path: '/api/x', headers: bearer(tokenA) })).status, 200)

  // Rotation: node 1 meets the new kid first and fetches; node 2 then finds the new set in Redis.
  jwks.state.keys = [a.jwk, b.jwk]
  const tokenB = await sign({ exp: now() + 300 }, b.privateKey, { alg: 'RS256', kid: 'b' })
  t.equal((await gw1.request({ path: '/api/x', headers: bearer(tokenB) })).status, 200)
  t.equal(jwks.state.hits, 2)
  t.equal((await gw2.request({ path: '/api/x', headers: bearer(tokenB) })).status, 200)
  t.equal(jwks.state.hits, 2, 'node 2 did not fetch: Redis had the new set')

  const inspect = new Redis(redis.url)
  t.same(await inspect.keys('*'), [keyOf(jwks.url)], 'the set is under the connection prefix + jwt:jwks:')
  inspect.disconnect()

  // Redis goes down: a new node starts anyway, fetching the set itself, and serves.
  await redis.stop()
  const gw3 = await startGateway({ t, plugins: [jwt], config })
  t.equal(jwks.state.hits, 3)
  t.equal((await gw3.request({ path: '/api/x', headers: bearer(tokenB) })).status, 200)
  // And a node whose Redis vanished still handles a new kid by fetching.
  const c = await keyPair('RS256', { kid: 'c' })
  jwks.state.keys = [a.jwk, b.jwk, c.jwk]
  const tokenC = await sign({ exp: now() + 300 }, c.privateKey, { alg: 'RS256', kid: 'c' })
  t.equal((await gw2.request({ path: '/api/x', headers: bearer(tokenC) })).status, 200)
  t.equal(jwks.state.hits, 4)
})
