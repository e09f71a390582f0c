import http from 'node:http'
import type { AddressInfo } from 'node:net'

/**
 * Two small demo upstreams for the gateway in `gateway.ts`. Each is a plain HTTP server that knows
 * nothing about the gateway: `GET /` lists its items, `GET /:id` returns one, anything else is a 404.
 * The gateway strips its route prefix, so `GET /users/1` at the gateway is `GET /1` here.
 */

export interface Item {
  id: string
  [field: string]: unknown
}

export const USERS: readonly Item[] = [
  { id: '1', name: 'Ada Lovelace' },
  { id: '2', name: 'Grace Hopper' },
]

export const ORDERS: readonly Item[] = [
  { id: '100', userId: '1', total: 42 },
  { id: '101', userId: '2', total: 7 },
]

/** A read-only JSON service over `items`, named in every response so you can see who answered. */
export function jsonService(name: string, items: readonly Item[]): http.Server {
  return http.createServer(function serveJson(req, res) {
    const path = new URL(req.url ?? '/', 'http://service').pathname
    const id = path.replace(/^\/+|\/+$/g, '')
    const item = items.find((i) => i.id === id)
    const [status, body] =
      req.method !== 'GET' && req.method !== 'HEAD'
        ? [405, { service: name, error: 'method not allowed' }]
        : id === ''
          ? [200, { service: name, items }]
          : item
            ? [200, { service: name, item }]
            : [404, { service: name, error: 'not found', path }]
    const json = JSON.stringify(body)
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(json) })
    res.end(req.method === 'HEAD' ? undefined : json)
  })
}

export const usersService = () => jsonService('users', USERS)
export const ordersService = () => jsonService('orders', ORDERS)

/** Listens on `host:port` (port 0 picks a free one) and resolves to the server's base URL. */
export function listen(server: http.Server, port = 0, host = 'localhost'): Promise<string> {
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => {
      const address = server.address() as AddressInfo
      const shown = address.family === 'IPv6' ? `[${address.address}]` : address.address
      resolve(`http://${shown}:${address.port}`)
    })
  })
}

// `node dist/services.js` starts both services on the ports `gateway.ts` expects by default.
if (process.argv[1] === import.meta.filename) {
  console.log(`users  on ${await listen(usersService(), 3001)}`)
  console.log(`orders on ${await listen(ordersService(), 3002)}`)
}
