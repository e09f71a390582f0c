import { createGateway, type GatewayOptions } from '@gatehousejs/core'
import grpc from '@gatehousejs/plugin-grpc'
import { bind, inventoryService, PROTO_FILE } from './service.js'

/**
 * A JSON API for a gRPC-only service: every `/v1/items…` request becomes a call to
 * `shop.inventory.v1.Inventory` at the service url (`http://` = plaintext gRPC, `https://` = TLS).
 */
export function buildGateway(inventoryUrl: string, options?: GatewayOptions) {
  const rules = [
    { rpc: 'GetItem', method: 'GET', path: '/v1/items/{sku}' },
    { rpc: 'ListItems', method: 'GET', path: '/v1/items', responseBody: 'items' },
    { rpc: 'Reserve', method: 'POST', path: '/v1/items/{sku}/reservations', body: 'reservation' },
    { rpc: 'WatchStock', method: 'GET', path: '/v1/items/{sku}/stock' },
  ]
  return createGateway(
    {
      services: [
        {
          name: 'inventory',
          url: inventoryUrl,
          timeouts: { read: '2s' },
          routes: [{ name: 'items', paths: ['/v1/items'] }],
          plugins: [
            {
              name: 'grpc',
              config: {
                proto: PROTO_FILE,
                service: 'shop.inventory.v1.Inventory',
                rules,
                forwardHeaders: ['x-customer-id'],
              },
            },
          ],
        },
      ],
    },
    { plugins: [grpc], ...options },
  )
}

// `node dist/gateway.js` starts the gRPC service on a free port and the gateway on :8080; Ctrl-C
// closes the gateway gracefully and exits.
if (process.argv[1] === import.meta.filename) {
  const service = inventoryService()
  const port = await bind(service)
  console.log(`inventory gRPC service on 127.0.0.1:${port}`)
  const gateway = await buildGateway(`http://127.0.0.1:${port}`)
  console.log(`gateway on ${await gateway.listen({ port: 8080 })}`)
}
