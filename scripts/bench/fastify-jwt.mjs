// Fastify + @fastify/jwt (fast-jwt) + @fastify/http-proxy: the bare proxy of fastify-proxy.mjs with an
// HS256 Bearer token verified on every request (401 otherwise), logger off. What a hand-built Fastify
// gateway pays for JWT, to compare with the jwt plugin's cost in Gatehouse.
import proxy from '@fastify/http-proxy'
import Fastify from 'fastify'
import { registerJwtAuth } from './fastify-jwt-auth.mjs'

const { UPSTREAM_URL: upstream, HOST = '127.0.0.1', PORT = '0' } = process.env
if (!upstream) {
  console.error('UPSTREAM_URL is required')
  process.exit(2)
}
const app = Fastify({ logger: false })
await registerJwtAuth(app)
await app.register(proxy, { upstream })
const url = await app.listen({ host: HOST, port: Number(PORT) })
console.log(`fastify-jwt listening on ${url}`)
process.on('SIGTERM', () => app.close().then(() => process.exit(0)))
