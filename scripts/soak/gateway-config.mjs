// The soak run's gateway configuration: a realistic plugin set (jwt, rate-limit on Redis failing open
// globally and closed on /orders, cache on Redis, request and response transformers, prometheus) in
// front of four services, one of them with two targets. `generation` changes at every reload; every
// fourth reload also changes the Redis-backed instances, so they are rebuilt and the old ones closed.

export const SERVER = { headersTimeout: '4s', requestTimeout: '8s', keepAliveTimeout: '5s', maxInflight: 100 }
export const ROUTE_MAX_INFLIGHT = 20
export const JWT_SECRET = 'soak-run-secret-not-for-production-0123456789'

export function gatewayConfig({ redisUrl, upstreams, generation }) {
  const rebuild = Math.floor(generation / 4) % 2
  // Timeouts above the event-loop stalls of a loaded CI machine: a command answered but read late
  // must not count as Redis down (an outage is still seen at once: the client is not connected).
  const redis = { default: { url: redisUrl, commandTimeout: '2s', connectTimeout: '1s' } }
  return {
    server: SERVER,
    redis,
    services: [
      {
        name: 'catalog',
        targets: [{ url: upstreams['catalog-a'] }, { url: upstreams['catalog-b'] }],
        healthchecks: { active: { path: '/healthz', interval: '1s', timeout: '500ms' } },
        timeouts: { connect: '1s', read: '5s' },
        plugins: [
          {
            name: 'response-transformer',
            config: { add: { headers: { 'x-soak-generation': String(generation) } } },
          },
        ],
        routes: [
          {
            name: 'catalog-items',
            paths: ['/catalog/items'],
            plugins: [
              {
                name: 'cache',
                config: {
                  defaultTtl: rebuild ? '6s' : '5s',
                  redis: 'default',
                },
              },
            ],
          },
          { name: 'catalog-report', paths: ['/catalog/report'], maxInflight: ROUTE_MAX_INFLIGHT },
          { name: 'catalog', paths: ['/catalog'] },
        ],
      },
      {
        name: 'orders',
        url: upstreams.orders,
        routes: [
          {
            name: 'orders',
            paths: ['/orders'],
            plugins: [
              {
                name: 'rate-limit',
                config: {
                  limits: { second: rebuild ? 5001 : 5000 },
                  redis: 'default',
                  store: { onFailure: 'failClosed' },
                },
              },
              {
                name: 'request-transformer',
                config: { add: { headers: { 'x-soak-generation': String(generation) } } },
              },
            ],
          },
        ],
      },
      {
        name: 'slow',
        url: upstreams.slow,
        timeouts: { read: '2s' },
        routes: [{ name: 'slow', paths: ['/slow'] }],
      },
      { name: 'stream', url: upstreams.stream, routes: [{ name: 'stream', paths: ['/stream'] }] },
    ],
    consumers: [
      { username: 'soak', credentials: { jwt: [{ key: 'soak', algorithm: 'HS256', secret: JWT_SECRET }] } },
    ],
    plugins: [
      { name: 'prometheus' },
      { name: 'jwt' },
      {
        name: 'rate-limit',
        config: {
          limits: { second: rebuild ? 10001 : 10000 },
          redis: 'default',
          store: { onFailure: 'failOpen' },
        },
      },
    ],
  }
}
