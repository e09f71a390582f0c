// The demo gateway: two embedded services (users, orders) on loopback, a gateway in front of them with
// one inline plugin, and the curl lines to try. Stop it with Ctrl-C (a graceful close).
import http from 'node:http'
import { createGateway } from '@gatehousejs/core'
import { definePlugin, GatehouseError, Type } from '@gatehousejs/sdk'

const users = [
  { id: '1', name: 'Ada Lovelace' },
  { id: '2', name: 'Grace Hopper' },
]

function startService(name, routes) {
  const server = http.createServer((req, res) => {
    const path = req.url.split('?')[0]
    for (const [pattern, handler] of routes) {
      const m = pattern.exec(path)
      if (m) {
        const body = JSON.stringify({ service: name, ...handler(m, req) })
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) })
        return res.end(body)
      }
    }
    res.writeHead(404, { 'content-type': 'application/json' })
    res.end(JSON.stringify({ service: name, error: 'not found', path }))
  })
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)))
}

const usersService = await startService('users', [
  [/^\/?$/, () => ({ users })],
  [/^\/(\d+)$/, (m) => ({ user: users.find((u) => u.id === m[1]) ?? null })],
])
const ordersService = await startService('orders', [
  [
    /^\/?$/,
    (_m, req) => ({
      orders: [{ id: 'o-1', user: '1', total: 42 }],
      forwardedFor: req.headers['x-forwarded-for'],
    }),
  ],
])
const url = (s) => `http://127.0.0.1:${s.address().port}`

// A plugin written inline against the SDK: only callers with the `x-demo-key: open-sesame` header
// may use the admin route.
const demoKey = definePlugin({
  name: 'demo-key',
  version: '1.0.0',
  priority: 60_000,
  schema: Type.Object(
    { key: Type.String({ description: 'The key callers must send' }) },
    { additionalProperties: false },
  ),
  init(config) {
    return {
      access(ctx) {
        if (ctx.request.headers['x-demo-key'] !== config.key) {
          throw new GatehouseError('GH_DEMO_KEY_REQUIRED', 401, 'Send the header x-demo-key: open-sesame')
        }
        ctx.upstream.headers['x-demo-caller'] = 'admin'
      },
      response(ctx) {
        ctx.response.headers['x-demo-key-checked'] = 'yes'
      },
    }
  },
})

const gateway = await createGateway(
  {
    services: [
      { name: 'users', url: url(usersService), routes: [{ name: 'users', paths: ['/users'] }] },
      {
        name: 'orders',
        url: url(ordersService),
        routes: [{ name: 'orders', paths: ['/orders'], methods: ['GET'] }],
      },
      {
        name: 'admin',
        url: url(usersService),
        routes: [
          {
            name: 'admin',
            paths: ['/admin'],
            plugins: [{ name: 'demo-key', config: { key: 'open-sesame' } }],
          },
        ],
      },
      {
        name: 'offline',
        url: 'http://127.0.0.1:9',
        timeouts: { connect: '1s' },
        routes: [{ paths: ['/offline'] }],
      },
    ],
  },
  { plugins: [demoKey], logger: { level: process.env.LOG_LEVEL ?? 'warn' } },
)

const port = Number(process.env.PORT ?? 8080)
const host = process.env.HOST ?? '127.0.0.1'
let address
try {
  address = await gateway.listen({ port, host })
} catch (err) {
  if (err.code === 'EADDRINUSE') {
    console.error(`Port ${port} is in use. Try: PORT=8081 npm run demo`)
    process.exit(1)
  }
  throw err
}
const base = address.replace('localhost', '127.0.0.1')
process.on('exit', () => {
  usersService.close()
  ordersService.close()
})

console.log(`
Gatehouse demo gateway listening on ${base}

Try:
  curl -i ${base}/users                      # proxied to the users service (path prefix stripped)
  curl -i ${base}/users/2                    # one user
  curl -i ${base}/orders                     # the orders service; note x-forwarded-for upstream
  curl -i -X POST ${base}/orders             # 404 GH_ROUTE_NOT_FOUND: that route takes GET only
  curl -i ${base}/admin                      # 401 GH_DEMO_KEY_REQUIRED from the inline plugin
  curl -i -H 'x-demo-key: open-sesame' ${base}/admin/1
  curl -i ${base}/offline                    # 502 GH_UPSTREAM_UNREACHABLE: that service is down
  curl -i ${base}/nowhere                    # 404 GH_ROUTE_NOT_FOUND

Every response carries x-request-id. Press Ctrl-C to stop.
`)
