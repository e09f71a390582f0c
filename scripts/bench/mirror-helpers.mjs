// The other processes of scripts/bench/mirror.mjs, by role (first argument):
//   slow-mirror  answers every request after 200 ms (a mirror under load)
//   counting-mirror answers at once and counts the copies it gets (marked x-gatehouse-mirror);
//                GET /__count reads the count, POST /__reset zeroes it
//   provider     OpenID Provider metadata (RFC 8414) and an introspection endpoint (RFC 7662) that
//                says every token is active for an hour. Only the gateway's first request for a
//                token reaches it: the benchmark measures the gateway's cache hits, not a provider.
// Prints `listening on <url>`; stops on SIGTERM.
import http from 'node:http'

const role = process.argv[2]
const { HOST = '127.0.0.1', PORT = '0' } = process.env

let copies = 0

const server = http.createServer((req, res) => {
  if (role === 'counting-mirror') {
    req.resume()
    if (req.url === '/__count') res.end(String(copies))
    else if (req.url === '/__reset') {
      copies = 0
      res.end('0')
    } else {
      if (req.headers['x-gatehouse-mirror'] === '1') copies++
      res.end('ok')
    }
    return
  }
  if (role === 'slow-mirror') {
    req.resume()
    setTimeout(() => res.end('ok'), 200)
    return
  }
  const origin = `http://${req.headers.host}`
  if (req.url === '/.well-known/openid-configuration') {
    res.setHeader('content-type', 'application/json')
    res.end(
      JSON.stringify({
        issuer: origin,
        authorization_endpoint: `${origin}/auth`,
        token_endpoint: `${origin}/token`,
        introspection_endpoint: `${origin}/introspect`,
        jwks_uri: `${origin}/jwks`,
        response_types_supported: ['code'],
        subject_types_supported: ['public'],
        id_token_signing_alg_values_supported: ['RS256'],
      }),
    )
  } else if (req.url === '/introspect' && req.method === 'POST') {
    req.resume()
    res.setHeader('content-type', 'application/json')
    const exp = Math.floor(Date.now() / 1000) + 3600
    res.end(JSON.stringify({ active: true, sub: 'bench-user', scope: 'read', client_id: 'bench', exp }))
  } else {
    res.statusCode = 404
    res.end()
  }
})
server.keepAliveTimeout = 65_000
server.listen(Number(PORT), HOST, () => {
  console.log(`${role} listening on http://${HOST}:${server.address().port}`)
})
process.on('SIGTERM', () => server.close(() => process.exit(0)).closeAllConnections())
