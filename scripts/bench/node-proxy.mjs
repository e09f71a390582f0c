// The Node floor for the body-size benchmark: a bare node:http reverse proxy (node:http server,
// http.request through a keep-alive Agent, the upstream response piped to the client with
// stream.pipeline), which is how fast-gateway and other node:http gateways forward. No routing, no
// header policy: a floor, not a peer with Gatehouse's features. Listens on HOST:PORT, forwards to UPSTREAM_URL.
import http from 'node:http'
import { pipeline } from 'node:stream'

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
      // pipeline, not pipe: a client that leaves mid-body destroys the upstream answer too, so its
      // socket goes back to the pool (with pipe, every abandoned answer kept a pooled socket forever,
      // and after a few wrk runs ended mid-body the pool was exhausted and the proxy stalled).
      pipeline(answer, res, () => {})
    },
  )
  up.on('error', () => res.destroy())
  pipeline(req, up, () => {})
})
server.listen(Number(PORT), HOST, () => {
  const { address, port } = server.address()
  console.log(`node-proxy listening on http://${address}:${port}`)
})
process.on('SIGTERM', () => server.close(() => process.exit(0)).closeAllConnections())
