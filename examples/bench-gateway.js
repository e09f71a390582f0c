// A Gatehouse gateway for the benchmark (scripts/bench/run.mjs), on the built packages.
//
//   UPSTREAM_URL=http://127.0.0.1:3000 node examples/bench-gateway.js
//
// Environment: UPSTREAM_URL (required), HOST (default 127.0.0.1), PORT (default 8080; 0 picks a free
// port). Every path is forwarded unchanged (one service, one `/` route, stripPath false), logger off.
// Prints `gatehouse listening on <url>` once it serves; SIGTERM/SIGINT close it gracefully, then exit 0.
import { createGateway } from '@gatehouse/core'

// ── policy (--policy) ────────────────────────────────────────────────────────────────────────────
// A later issue turns `--policy` into the "realistic gateway" case: JWT authentication plus rate
// limiting on the route (@gatehouse/plugin-jwt and @gatehouse/plugin-rate-limit). Those plugins are
// not built yet, so the flag is refused rather than silently measuring a gateway without them.
// When they exist: import them here, add them to `plugins`, and put their instances in `routePlugins`.
const policy = process.argv.includes('--policy')
if (policy) {
  console.error('bench-gateway: the --policy plugins are not built yet (JWT and rate-limit)')
  process.exit(2)
}
const plugins = []
const routePlugins = []
// ─────────────────────────────────────────────────────────────────────────────────────────────────

const { UPSTREAM_URL: upstream, HOST = '127.0.0.1', PORT = '8080' } = process.env
if (!upstream) {
  console.error('UPSTREAM_URL is required, e.g. UPSTREAM_URL=http://127.0.0.1:3000')
  process.exit(2)
}

const gateway = await createGateway(
  {
    services: [
      {
        name: 'upstream',
        url: upstream,
        routes: [{ name: 'all', paths: ['/'], stripPath: false, plugins: routePlugins }],
      },
    ],
  },
  { plugins, logger: false, handleSignals: false },
)

const url = await gateway.listen({ host: HOST, port: Number(PORT) })
console.log(`gatehouse listening on ${url}`)

let closing = false
function shutdown() {
  if (closing) return
  closing = true
  gateway.close().then(
    () => process.exit(0),
    (err) => {
      console.error(err)
      process.exit(1)
    },
  )
}
process.on('SIGTERM', shutdown)
process.on('SIGINT', shutdown)
