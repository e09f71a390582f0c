// A Node peer for the body-size benchmark: fast-gateway (restana + fast-proxy-lite over node:http),
// the fastest Node gateway the issue measured against, forwarding every path unchanged to
// UPSTREAM_URL. Listens on HOST:PORT.
import gateway from 'fast-gateway'

const { UPSTREAM_URL: upstream, HOST = '127.0.0.1', PORT = '0' } = process.env
if (!upstream) {
  console.error('UPSTREAM_URL is required')
  process.exit(2)
}
const server = gateway({
  routes: [{ prefix: '', pathRegex: '/*', target: upstream, urlRewrite: (req) => req.url }],
})
await server.start(Number(PORT), HOST)
const { address, port } = server.getServer().address()
console.log(`fast-gateway listening on http://${address}:${port}`)
process.on('SIGTERM', () => server.close().then(() => process.exit(0)))
