#!/usr/bin/env node
// Starts the example's services and runs `gatehouse start gateway.yaml` in front of them, then prints
// a token and curl lines that work. Ctrl-C stops everything.
import { spawn } from 'node:child_process'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { startServices } from './services.mjs'
import { DEFAULT_SECRET, mintToken } from './token.mjs'

const here = dirname(fileURLToPath(import.meta.url))
const bin = join(
  dirname(createRequire(import.meta.url).resolve('@gatehousejs/cli/package.json')),
  'bin/gatehouse.js',
)
const port = process.env.PORT ?? '8080'
const services = await startServices()
const secret = process.env.JWT_SECRET ?? DEFAULT_SECRET
const gateway = spawn(
  process.execPath,
  [bin, 'start', join(here, 'gateway.yaml'), '--port', port, '--host', '127.0.0.1'],
  {
    stdio: ['ignore', 'ignore', 'inherit'],
    env: {
      ...process.env,
      CATALOG_URL: services.catalogUrl,
      ORDERS_URL: services.ordersUrl,
      JWT_SECRET: secret,
    },
  },
)
const token = mintToken(secret)
console.log(`
Gatehouse is running from examples/declarative/gateway.yaml on http://127.0.0.1:${port}
  (jwt on every route, 60 requests a minute per consumer, a 30 s cache on /products)

  curl -i http://127.0.0.1:${port}/products                                  # 401 GH_JWT_MISSING
  curl -i -H "Authorization: Bearer ${token}" http://127.0.0.1:${port}/products   # twice: X-Cache-Status Miss, then Hit
  curl -i -H "Authorization: Bearer ${token}" http://127.0.0.1:${port}/orders     # RateLimit-* headers

Edit gateway.yaml while it runs: the gateway reloads it (an invalid edit is refused and logged).
`)
const stop = () => {
  gateway.kill('SIGTERM')
}
process.on('SIGINT', stop)
process.on('SIGTERM', stop)
gateway.on('exit', async (code) => {
  await services.close()
  process.exit(code ?? 0)
})
