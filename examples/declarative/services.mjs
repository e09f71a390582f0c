// The example's two backend services, on loopback: a catalogue (cacheable JSON) and orders.
import http from 'node:http'

export function startServices({ catalogPort = 0, ordersPort = 0 } = {}) {
  const counts = { catalog: 0, orders: 0 }
  const catalog = http.createServer((req, res) => {
    counts.catalog++
    const body = JSON.stringify({
      products: [
        { id: 1, name: 'kettle', price: 25 },
        { id: 2, name: 'teapot', price: 30 },
      ],
      servedAt: new Date().toISOString(),
      user: req.headers['x-consumer-username'] ?? null,
    })
    res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'public, max-age=30' })
    res.end(body)
  })
  const orders = http.createServer((req, res) => {
    counts.orders++
    res.writeHead(req.method === 'POST' ? 201 : 200, { 'content-type': 'application/json' })
    res.end(JSON.stringify({ orders: [], consumer: req.headers['x-consumer-username'] ?? null }))
  })
  const listen = (server, port) =>
    new Promise((resolve) => server.listen(port, '127.0.0.1', () => resolve(server.address().port)))
  return Promise.all([listen(catalog, catalogPort), listen(orders, ordersPort)]).then(([c, o]) => ({
    catalogUrl: `http://127.0.0.1:${c}`,
    ordersUrl: `http://127.0.0.1:${o}`,
    counts,
    close: () => Promise.all([catalog, orders].map((s) => new Promise((r) => s.close(r)))),
  }))
}
