import { createGateway, type GatewayOptions } from '@gatehousejs/core'
import { apiVersion } from './api-version.js'

/** A gateway whose `/catalog` route serves v1 and v2 of the catalog API from one upstream. */
export function buildGateway(env = process.env, options?: GatewayOptions) {
  return createGateway(
    {
      services: [
        {
          name: 'catalog',
          url: env.CATALOG_URL ?? 'http://localhost:3003',
          routes: [{ name: 'catalog', paths: ['/catalog'] }],
          plugins: [{ name: 'api-version', config: { versions: { '1': '/v1', '2': '/v2' }, default: '1' } }],
        },
      ],
    },
    { ...options, plugins: [apiVersion] },
  )
}

// `node dist/gateway.js` serves on http://localhost:8080; try `curl -H 'accept-version: 2' localhost:8080/catalog`.
if (process.argv[1] === import.meta.filename) {
  await (await buildGateway()).listen({ port: 8080 })
}
