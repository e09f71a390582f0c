// The benchmark's upstream: a bare node:http server, so every target measures the same backend.
//   GET /small → ~100 bytes of JSON      GET /large → 64 KiB of octets
// Listens on HOST:PORT (default 127.0.0.1, port 0) and prints its URL once listening.
import http from 'node:http'

const { HOST = '127.0.0.1', PORT = '0' } = process.env

const small = Buffer.from(
  JSON.stringify({ id: 42, name: 'gatehouse', kind: 'bench', ok: true, tags: ['small', 'json'], n: 1234567 }),
)
const large = Buffer.alloc(64 * 1024, 'x')

const server = http.createServer(function benchUpstream(req, res) {
  const path = req.url.split('?', 1)[0]
  if (path === '/small') {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': small.length })
    res.end(small)
  } else if (path === '/large') {
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': large.length })
    res.end(large)
  } else {
    res.writeHead(404, { 'content-type': 'text/plain', 'content-length': 9 })
    res.end('not found')
  }
})
// Outlive the gateways' pooled keep-alive connections (undici drops idle ones after 4 s).
server.keepAliveTimeout = 65_000

server.listen(Number(PORT), HOST, () => {
  const address = server.address()
  console.log(`upstream listening on http://${address.address}:${address.port}`)
})
process.on('SIGTERM', () => server.close(() => process.exit(0)).closeAllConnections())
