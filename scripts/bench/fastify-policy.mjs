// Fastify + @fastify/jwt (fast-jwt) + @fastify/rate-limit + @fastify/http-proxy: the hand-built
// Fastify equivalent of `examples/bench-gateway.js --policy`. Every request must carry the benchmark's
// HS256 Bearer token (401 otherwise), then is counted per token issuer (the consumer, as Gatehouse
// keys it) in @fastify/rate-limit's memory store, one minute window never filled, then proxied.
import proxy from '@fastify/http-proxy'
import rateLimit from '@fastify/rate-limit'
import Fastify from 'fastify'
import { registerJwtAuth } from './fastify-jwt-auth.mjs'

const { UPSTREAM_URL: upstream, HOST = '127.0.0.1', PORT = '0' } = process.env
if (!upstream) {
  console.error('UPSTREAM_URL is required')
  process.exit(2)
}
const app = Fastify({ logger: false })
await registerJwtAuth(app)
await app.register(rateLimit, {
  max: 1_000_000_000,
  timeWindow: 60_000,
  keyGenerator: (request) => request.user?.iss ?? request.ip,
})
await app.register(proxy, { upstream })
const url = await app.listen({ host: HOST, port: Number(PORT) })
console.log(`fastify-policy listening on ${url}`)
process.on('SIGTERM', () => app.close().then(() => process.exit(0)))
