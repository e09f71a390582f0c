import { spawn } from 'node:child_process'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { request, withoutTapHook } from '@gatehousejs/sdk/testing'
import t from 'tap'
// @ts-expect-error: plain .mjs helpers of the example
import { startServices } from '../services.mjs'
// @ts-expect-error: plain .mjs helpers of the example
import { mintToken } from '../token.mjs'

// The example as an operator runs it: `gatehouse start gateway.yaml` with jwt, rate limit and cache.

const here = dirname(fileURLToPath(import.meta.url))
const file = join(here, '..', 'gateway.yaml')
const bin = join(
  dirname(createRequire(import.meta.url).resolve('@gatehousejs/cli/package.json')),
  'bin/gatehouse.js',
)
const SECRET = 'a-secret-for-this-test-only-0123456789'

function runCli(args: string[], env: NodeJS.ProcessEnv) {
  return spawn(...withoutTapHook(process.execPath, [bin, ...args], env), { env: { ...process.env, ...env } })
}

t.test('the declarative gateway: jwt, per-consumer rate limit and cache, from one file', async (t) => {
  const services = await startServices()
  t.teardown(() => services.close())
  const env = { CATALOG_URL: services.catalogUrl, ORDERS_URL: services.ordersUrl, JWT_SECRET: SECRET }

  const validate = runCli(['validate', file], env)
  let out = ''
  validate.stdout.on('data', (d) => {
    out += d
  })
  const code = await new Promise((r) => validate.on('close', r))
  t.equal(code, 0, 'gatehouse validate accepts the file')
  t.match(out, /valid \(2 routes, 3 plugin instances\)/)

  const child = runCli(['start', file, '--port', '0', '--host', '127.0.0.1', '--no-watch'], env)
  t.teardown(() => {
    child.kill('SIGKILL')
  })
  const url = await new Promise<string>((resolve, reject) => {
    let log = ''
    const timer = setTimeout(() => reject(new Error(`no listening line:\n${log}`)), 30_000)
    const onData = (d: Buffer) => {
      log += d
      const m = /listening on (http:\/\/\S+)/.exec(log)
      if (m) {
        clearTimeout(timer)
        resolve(m[1] as string)
      }
    }
    child.stdout.on('data', onData)
    child.stderr.on('data', onData)
    child.on('exit', (c) => reject(new Error(`exited ${c}:\n${log}`)))
  })

  const anonymous = await request(url, { path: '/products' })
  t.equal(anonymous.status, 401)
  t.equal(anonymous.json().code, 'GH_JWT_MISSING')
  t.equal(services.counts.catalog, 0, 'nothing reached the service')

  const auth = { authorization: `Bearer ${mintToken(SECRET)}` }
  const first = await request(url, { path: '/products', headers: auth })
  t.equal(first.status, 200)
  t.equal(first.json().user, 'mobile-app', 'the service sees the consumer')
  t.equal(first.headers['x-cache-status'], 'Miss')
  t.equal(first.headers['ratelimit-limit'], '60')
  const second = await request(url, { path: '/products', headers: auth })
  t.equal(second.headers['x-cache-status'], 'Hit')
  t.equal(services.counts.catalog, 1, 'the hit did not reach the service')

  const orders = await request(url, { path: '/orders', headers: auth })
  t.equal(orders.status, 200)
  t.equal(orders.headers['x-ratelimit-limit-minute'], '60')
  t.ok(Number(orders.headers['x-ratelimit-remaining-minute']) < 60)

  const forged = await request(url, {
    path: '/orders',
    headers: { authorization: `Bearer ${mintToken('wrong-secret')}` },
  })
  t.equal(forged.status, 401)
  t.equal(forged.json().code, 'GH_JWT_INVALID_SIGNATURE')
})
