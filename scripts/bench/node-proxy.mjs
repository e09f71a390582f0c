// The Node floor for the body-size benchmark: a bare node:http reverse proxy (node:http server,
// http.request through a keep-alive Agent, the upstream response piped to the client), which is how
// fast-gateway and other node:http gateways forward. No routing, no header policy: a floor, not a
// peer with Gatehouse's features. Listens on HOST:PORT, forwards to UPSTREAM_URL.
import http from 'node:http'

const { UPSTREAM_URL: upstream, HOST = '127.0.0.1', PORT = '0' } = process.env
if (!upstream) {
  console.error('UPSTREAM_URL is required')
  process.exit(2)
}
const target = new URL(upstream)
const agent = new http.Agent({ keepAlive: true, maxSockets: 256 })

const server = http.createServer(function forward(req, res) {
  const up = http.request(
    {
      host: target.hostname,
      port: target.port,
      method: req.method,
      path: req.url,
      headers: req.headers,
      agent,
    },
    (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers)
      answer.pipe(res)
    },
  )
  up.on('error', () => res.destroy())
  req.pipe(up)
})
server.listen(Number(PORT), HOST, () => {
  const { address, port } = server.address()
  console.log(`node-proxy listening on http://${address}:${port}`)
})
process.on('SIGTERM', () => server.close(() => process.exit(0)).closeAllConnections())
