import { createGateway, type Gateway, type GatewayConfig, type GatewayOptions } from '@gatehousejs/core'
import aggregate from '@gatehousejs/plugin-aggregate'
import { listen, ordersService, recommendationsService, usersService } from './services.js'

/**
 * Backends for frontends: two gateways composed from the same three services, each answering its
 * client's home screen in one round trip. Mobile gets a small payload; web gets the full picture,
 * with recommendations picked by the user's tier (a second, sequential call).
 */

export interface ServiceUrls {
  users: string
  orders: string
  recommendations: string
}

function services(urls: ServiceUrls): GatewayConfig['services'] {
  return [
    { name: 'users', url: urls.users, routes: [{ name: 'users', paths: ['/users'], stripPath: false }] },
    { name: 'orders', url: urls.orders },
    { name: 'recommendations', url: urls.recommendations },
    // The screens are answered by the aggregate plugin: this upstream is never called.
    {
      name: 'screens',
      url: 'http://127.0.0.1:9',
      routes: [{ name: 'home', paths: ['=/home/:id'], methods: ['GET'] }],
    },
  ]
}

/** Mobile: name, small avatar and order statuses; the user is required, orders may be missing. */
export const mobileHome = {
  calls: [
    {
      name: 'user',
      service: 'users',
      path: '/users/$(params.id)',
      required: true,
      allow: ['name', 'avatar.small'],
      mapping: { 'avatar.small': 'avatar' },
    },
    {
      name: 'orders',
      service: 'orders',
      path: '/orders?user=$(params.id)',
      allow: ['id', 'status'],
      group: 'orders',
    },
  ],
  timeout: '2s',
}

/** Web: the user without secrets, full orders, and recommendations for the user's tier. */
export const webHome = {
  calls: [
    {
      name: 'user',
      service: 'users',
      path: '/users/$(params.id)',
      required: true,
      deny: ['passwordHash'],
      group: 'user',
    },
    { name: 'orders', service: 'orders', path: '/orders?user=$(params.id)', group: 'orders' },
    {
      name: 'recommendations',
      service: 'recommendations',
      path: '/recommendations/$(calls.user.body.tier)',
      target: 'products',
      group: 'recommendations',
      timeout: '500ms',
    },
  ],
  timeout: '3s',
  responseHeaders: { 'cache-control': 'private, max-age=10' },
}

export function buildGateway(
  client: 'mobile' | 'web',
  urls: ServiceUrls,
  options?: GatewayOptions,
): Promise<Gateway> {
  const config: GatewayConfig = {
    services: services(urls),
    plugins: [{ name: 'aggregate', route: 'home', config: client === 'mobile' ? mobileHome : webHome }],
  }
  return createGateway(config, { plugins: [aggregate], ...options })
}

// `node dist/gateway.js`: the demo services on free ports, mobile on :8081, web on :8082.
if (process.argv[1] === import.meta.filename) {
  const urls = {
    users: await listen(usersService()),
    orders: await listen(ordersService()),
    recommendations: await listen(recommendationsService()),
  }
  const mobile = await (await buildGateway('mobile', urls)).listen({ port: 8081 })
  const web = await (await buildGateway('web', urls)).listen({ port: 8082 })
  console.log(`mobile BFF: curl ${mobile}/home/1`)
  console.log(`web BFF:    curl ${web}/home/1`)
}
