// The gateway of scripts/bench/protections.mjs: one Gatehouse process, one route to UPSTREAM_URL.
//   PROTECT=off  every protection of docs/reliability.md turned off (timeouts 0, no caps, no sampler)
//   PROTECT=on   the defaults, plus overload shedding at 1 s and a gateway and a route `maxInflight`
//                far above the load, so every request walks each check (connection mark, shedding
//                flag, global and route counts) and the lag sampler runs
// Prints `listening on <url>`. Imports the built packages (`npm run build` first).
import { createGateway } from '../../packages/core/dist/index.js'

const { HOST = '127.0.0.1', PORT = '0', UPSTREAM_URL, PROTECT = 'on' } = process.env
const on = PROTECT === 'on'

const gateway = await createGateway(
  {
    server: on
      ? { maxInflight: 100_000, maxEventLoopDelay: 1_000 }
      : {
          headersTimeout: 0,
          requestTimeout: 0,
          maxConnections: 0,
          maxInflight: 0,
          maxEventLoopDelay: 0,
        },
    services: [
      {
        name: 'up',
        url: UPSTREAM_URL,
        routes: [
          { name: 'small', paths: ['/small'], stripPath: false, ...(on ? { maxInflight: 100_000 } : {}) },
        ],
      },
    ],
  },
  { logger: false, handleSignals: true },
)
const url = await gateway.listen({ host: HOST, port: Number(PORT), log: false })
console.log(`listening on ${url}`)
