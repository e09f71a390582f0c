// The gateway of scripts/bench/mirror.mjs: one Gatehouse process, four routes to UPSTREAM_URL:
//   /plain/*       no mirror, no auth (the baseline)
//   /mirrored/*    every request also copied to MIRROR_URL (a mirror that answers after 200 ms),
//                  default maxInflight (64): beyond 64 copies in flight, requests are not copied
//   /mirror-down/* every request also copied to a closed port (connection refused)
//   /mirror-share/* a quarter of the requests (percent: 25) copied to COUNTING_URL, which counts them
//   /introspect/*  openid-connect bearer mode, an opaque token checked by introspection (RFC 7662)
//                  at PROVIDER_URL; the answer is cached, so every measured request is a cache hit
//   /introspect-miss/* the same with the cache off (introspectionCacheSize: 0): every request asks
//                  the provider (a cache miss), the cost the cache saves
// Prints `listening on <url>`. Imports the built packages (`npm run build` first).
import { createGateway } from '../../packages/core/dist/index.js'
import openidConnect from '../../plugins/openid-connect/dist/index.js'

const {
  HOST = '127.0.0.1',
  PORT = '0',
  UPSTREAM_URL,
  MIRROR_URL,
  PROVIDER_URL,
  CLOSED_URL,
  COUNTING_URL,
} = process.env

const gateway = await createGateway(
  {
    services: [
      {
        name: 'up',
        url: UPSTREAM_URL,
        routes: [
          { name: 'plain', paths: ['/plain'] },
          { name: 'mirrored', paths: ['/mirrored'], mirror: [{ service: 'slow-mirror' }] },
          { name: 'mirror-down', paths: ['/mirror-down'], mirror: [{ service: 'closed' }] },
          {
            name: 'mirror-share',
            paths: ['/mirror-share'],
            mirror: [{ service: 'counting', percent: 25 }],
          },
          {
            name: 'introspect',
            paths: ['/introspect'],
            plugins: [
              {
                name: 'openid-connect',
                config: { issuer: PROVIDER_URL, clientId: 'bench', clientSecret: 'bench-secret' },
              },
            ],
          },
          {
            name: 'introspect-miss',
            paths: ['/introspect-miss'],
            plugins: [
              {
                name: 'openid-connect',
                config: {
                  issuer: PROVIDER_URL,
                  clientId: 'bench',
                  clientSecret: 'bench-secret',
                  introspectionCacheSize: 0,
                },
              },
            ],
          },
        ],
      },
      { name: 'slow-mirror', url: MIRROR_URL },
      { name: 'closed', url: CLOSED_URL },
      { name: 'counting', url: COUNTING_URL },
    ],
  },
  { plugins: [openidConnect], logger: false, handleSignals: true },
)
const url = await gateway.listen({ port: Number(PORT), host: HOST })
console.log(`gatehouse listening on ${url}`)
