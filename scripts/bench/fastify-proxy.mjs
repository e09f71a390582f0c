// The baseline: the smallest Fastify gateway there is, @fastify/http-proxy forwarding every path
// unchanged to UPSTREAM_URL, logger off. Gatehouse's throughput is reported as a ratio to this.
import proxy from '@fastify/http-proxy'
import Fastify from 'fastify'

const { UPSTREAM_URL: upstream, HOST = '127.0.0.1', PORT = '0' } = process.env
if (!upstream) {
  console.error('UPSTREAM_URL is required')
  process.exit(2)
}
const app = Fastify({ logger: false })
await app.register(proxy, { upstream })
const url = await app.listen({ host: HOST, port: Number(PORT) })
console.log(`fastify-proxy listening on ${url}`)
process.on('SIGTERM', () => app.close().then(() => process.exit(0)))
