import { createGateway, type GatewayOptions } from '@gatehousejs/core'

/** One front door for two services: `/users/…` goes to the users service, `/orders/…` to orders. */
export function buildGateway(env = process.env, options?: GatewayOptions) {
  const services = [
    { name: 'users', url: env.USERS_URL ?? 'http://localhost:3001', routes: [{ paths: ['/users'] }] },
    { name: 'orders', url: env.ORDERS_URL ?? 'http://localhost:3002', routes: [{ paths: ['/orders'] }] },
  ]
  return createGateway({ services }, options)
}

// `node dist/gateway.js` serves on http://localhost:8080; try `curl localhost:8080/users/1`.
if (process.argv[1] === import.meta.filename) {
  await (await buildGateway()).listen({ port: 8080 })
}
