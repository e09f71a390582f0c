import http from 'node:http'
import net from 'node:net'
import type { TestLike } from './cli.js'

/** A TCP server on port 0 that counts the connections made to it (stands where Redis would be). */
export async function tcpRecorder(t: TestLike) {
  const seen = { connections: 0 }
  const server = net.createServer((socket) => {
    seen.connections++
    socket.destroy()
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())))
  return { url: `redis://127.0.0.1:${(server.address() as net.AddressInfo).port}`, seen }
}

/** An HTTP server on port 0 that serves an empty JWKS and counts connections and requests. */
export async function jwksRecorder(t: TestLike) {
  const seen = { connections: 0, requests: 0 }
  const server = http.createServer((_req, res) => {
    seen.requests++
    res.writeHead(200, { 'content-type': 'application/json', connection: 'close' })
    res.end('{"keys":[]}')
  })
  server.on('connection', () => {
    seen.connections++
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())))
  return { url: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}/jwks.json`, seen }
}

/**
 * A gateway file whose rate-limit and jwt instances would connect to `redisUrl` and fetch `jwksUrl`
 * if they were initialised; with `mistakes`, four problems of four kinds (schema, unknown plugin,
 * plugin config, dangling route reference).
 */
export function sideEffectFile(redisUrl: string, jwksUrl: string, mistakes: boolean): string {
  return `redis:
  default: { url: "${redisUrl}", connectTimeout: 200ms }
services:
  - name: users
    url: http://127.0.0.1:9
    routes:
      - name: users
        paths: [/users]
        methods: [GET, ${mistakes ? 'post' : 'POST'}]
        plugins:
          - name: rate-limit
            config:
              limits: { minute: ${mistakes ? '"ten"' : '10'} }
plugins:
  - name: rate-limit
    config:
      limits: { second: 100 }
      redis: default
  - name: jwt
    config:
      jwks: [{ url: "${jwksUrl}" }]
      redis: default
  - name: ${mistakes ? 'cros' : 'cors'}
  - name: request-termination
    route: ${mistakes ? 'userz' : 'users'}
    config: { statusCode: 503 }
`
}
