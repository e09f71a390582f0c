import http from 'node:http'
import type { AddressInfo } from 'node:net'

/**
 * The demo services both BFFs are composed from. Each is a plain JSON HTTP server that knows nothing
 * about the gateways, and answers more than any one screen needs (as real services do):
 *   users            GET /users/:id              a user, with internal fields
 *   orders           GET /orders?user=:id        a user's orders, with their lines
 *   recommendations  GET /recommendations/:id    products picked for a user
 */

const USERS: Record<string, Record<string, unknown>> = {
  '1': {
    id: '1',
    name: 'Ada Lovelace',
    email: 'ada@example.com',
    avatar: { small: '/img/ada-64.png', large: '/img/ada-512.png' },
    address: { city: 'London', street: '12 St James Square' },
    passwordHash: 'scrypt$…',
    tier: 'gold',
  },
}

const ORDERS = [
  { id: '100', userId: '1', total: 42, status: 'shipped', lines: [{ sku: 'pen', qty: 2 }] },
  { id: '101', userId: '1', total: 7, status: 'open', lines: [{ sku: 'ink', qty: 1 }] },
]

const RECOMMENDATIONS: Record<string, unknown> = {
  gold: {
    products: [
      { sku: 'notebook', score: 0.9 },
      { sku: 'lamp', score: 0.7 },
    ],
  },
}

function send(res: http.ServerResponse, status: number, body: unknown): void {
  const json = JSON.stringify(body)
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(json) })
  res.end(json)
}

export function usersService(): http.Server {
  return http.createServer(function users(req, res) {
    const m = /^\/users\/([^/?]+)$/.exec(new URL(req.url ?? '/', 'http://x').pathname)
    const user = m ? USERS[decodeURIComponent(m[1]!)] : undefined
    send(res, user ? 200 : 404, user ?? { error: 'no such user' })
  })
}

export function ordersService(): http.Server {
  return http.createServer(function orders(req, res) {
    const url = new URL(req.url ?? '/', 'http://x')
    if (url.pathname !== '/orders') return send(res, 404, { error: 'not found' })
    send(
      res,
      200,
      ORDERS.filter((o) => o.userId === url.searchParams.get('user')),
    )
  })
}

/** Knows a user only by tier: the BFF reads the tier from the users call first (a sequential call). */
export function recommendationsService(): http.Server {
  return http.createServer(function recommendations(req, res) {
    const m = /^\/recommendations\/([^/?]+)$/.exec(new URL(req.url ?? '/', 'http://x').pathname)
    const found = m ? RECOMMENDATIONS[decodeURIComponent(m[1]!)] : undefined
    send(res, found ? 200 : 404, found ?? { error: 'nothing to recommend' })
  })
}

/** Listens on `host:port` (port 0 picks a free one) and resolves to the server's base URL. */
export function listen(server: http.Server, port = 0, host = '127.0.0.1'): Promise<string> {
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => resolve(`http://${host}:${(server.address() as AddressInfo).port}`))
  })
}
