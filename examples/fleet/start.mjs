#!/usr/bin/env node
// `npm run demo:fleet`: a fleet on this machine. Starts redis-server on a free loopback port (or uses
// REDIS_URL), a backend, three gateway nodes with `gatehouse start --store` (node a with the admin API),
// publishes gateway.yaml with `gatehouse apply`, then a changed copy, waits until every node serves it,
// and prints `gatehouse status` and the commands to try. Ctrl-C stops everything.
//
//   node start.mjs [--port BASE] [--for SECONDS]
//     --port BASE    nodes listen on BASE, BASE+1, BASE+2, the admin API on BASE+100 (default 8081;
//                    0 for free ports)
//     --for SECONDS  stop everything SECONDS after the demo's apply has converged (0: at once), for tests
import { spawn, spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import http from 'node:http'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { dirname, join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { hasRedisServer, startRedis } from '@gatehousejs/sdk/testing'

const here = dirname(fileURLToPath(import.meta.url))
const bin = join(
  dirname(createRequire(import.meta.url).resolve('@gatehousejs/cli/package.json')),
  'bin/gatehouse.js',
)
// `npm run demo:fleet` reaches here through scripts/demo.mjs, whose own flag is --fleet.
const { values } = parseArgs({
  args: process.argv.slice(2).filter((a) => a !== '--fleet'),
  options: { port: { type: 'string', default: '8081' }, for: { type: 'string' } },
})
const base = Number(values.port)
const stopAfter = values.for === undefined ? undefined : Number(values.for)
if (!Number.isInteger(base) || base < 0 || base > 65000 || (stopAfter !== undefined && !(stopAfter >= 0))) {
  console.error('usage: node start.mjs [--port BASE] [--for SECONDS]')
  process.exit(2)
}
const portOf = (i) => String(base === 0 ? 0 : base + i)

const work = mkdtempSync(join(tmpdir(), 'gatehouse-fleet-demo-'))
const env = {
  ...process.env,
  // Every node and `apply` share the signing key; the demo makes one up unless you set yours.
  GATEHOUSE_CONFIG_KEY: process.env.GATEHOUSE_CONFIG_KEY ?? randomBytes(32).toString('hex'),
  GATEHOUSE_ADMIN_TOKEN: process.env.GATEHOUSE_ADMIN_TOKEN ?? randomBytes(16).toString('hex'),
  GATEHOUSE_LOG_FORMAT: 'json',
  GATEHOUSE_LOG_LEVEL: process.env.GATEHOUSE_LOG_LEVEL ?? 'warn',
}
const nodes = []
let redis
let backend
let stopping

function stop(code = 0) {
  stopping ??= (async () => {
    await Promise.all(
      nodes.map(
        ({ child }) =>
          new Promise((done) => {
            if (child.exitCode !== null || child.signalCode !== null) return done()
            const force = setTimeout(() => child.kill('SIGKILL'), 5000)
            child.once('exit', () => {
              clearTimeout(force)
              done()
            })
            child.kill('SIGTERM')
          }),
      ),
    )
    await redis?.stop()
    await new Promise((r) => (backend ? backend.close(r) : r()))
    rmSync(work, { recursive: true, force: true })
    process.exit(code)
  })()
  return stopping
}
process.on('SIGINT', () => void stop(0))
process.on('SIGTERM', () => void stop(0))

function gatehouse(args) {
  const r = spawnSync(process.execPath, [bin, ...args], {
    cwd: here,
    env,
    encoding: 'utf8',
    timeout: 120_000,
  })
  if (r.status !== 0) throw new Error(`gatehouse ${args.join(' ')} failed:\n${r.stderr}`)
  return r.stdout.trim()
}

function startNode(id, i, admin) {
  const args = ['start', '--store', redis.url, '--cache-dir', join(work, `cache-${id}`), '--node-id', id]
  args.push('--port', portOf(i), '--host', '127.0.0.1', '--poll', '1s')
  if (admin) args.push('--admin', `127.0.0.1:${portOf(100)}`)
  const child = spawn(process.execPath, [bin, ...args], {
    cwd: here,
    env,
  })
  const node = { id, child, url: '', admin: undefined }
  nodes.push(node)
  let out = ''
  return new Promise((resolve, reject) => {
    const onData = (d) => {
      out += d
      const m = /listening on (http:\/\/[^\s,]+)(?:, admin API on (http:\/\/[^\s,]+))?/.exec(out)
      if (m && !node.url) {
        node.url = m[1]
        node.admin = m[2]
        resolve(node)
      }
    }
    child.stdout.on('data', onData)
    child.stderr.on('data', onData)
    child.once('exit', (code) => {
      if (!node.url) reject(new Error(`node ${id} exited with ${code}:\n${out}`))
      else if (!stopping) {
        console.error(`node ${id} exited with ${code}`)
        void stop(1)
      }
    })
  })
}

async function serves(node, label) {
  const res = await fetch(node.url)
  await res.arrayBuffer()
  return res.headers.get('x-fleet-config') === label
}

async function converge(label) {
  const deadline = Date.now() + 30_000
  for (const node of nodes) {
    while (!(await serves(node, label).catch(() => false))) {
      if (Date.now() > deadline) throw new Error(`node ${node.id} did not serve "${label}" within 30 s`)
      await new Promise((r) => setTimeout(r, 50))
    }
  }
}

async function main() {
  if (process.env.REDIS_URL) redis = { url: process.env.REDIS_URL, stop: async () => {} }
  else if (hasRedisServer()) redis = await startRedis()
  else {
    console.error(
      'The fleet demo needs Redis: install redis-server (apt-get install -y redis-server), or set REDIS_URL.',
    )
    process.exit(1)
  }
  backend = http.createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' })
    res.end(JSON.stringify({ backend: 'hello from the backend', path: req.url }))
  })
  await new Promise((r) => backend.listen(0, '127.0.0.1', r))
  backend.url = `http://127.0.0.1:${backend.address().port}`
  // gateway.yaml names the backend as ${BACKEND_URL}: apply validates with it, each node resolves it.
  env.BACKEND_URL = backend.url

  const file = join(here, 'gateway.yaml')
  const first = gatehouse(['apply', file, '--store', redis.url, '--message', 'first'])
  console.log(first)
  const firstVersion = /published v(\d+)/.exec(first)?.[1] ?? '1'
  await startNode('a', 0, true)
  await startNode('b', 1)
  await startNode('c', 2)
  await converge('first')
  // The change: the same file with another label, published as a new version.
  const changed = join(work, 'gateway.yaml')
  writeFileSync(
    changed,
    readFileSync(file, 'utf8').replace('x-fleet-config: first', 'x-fleet-config: second'),
  )
  console.log(gatehouse(['diff', changed, '--store', redis.url]))
  console.log(gatehouse(['apply', changed, '--store', redis.url, '--message', 'second']))
  await converge('second')
  // Heartbeats follow the apply within one --poll: wait until the table shows every node on it.
  let status = ''
  for (let i = 0; i < 50; i++) {
    status = gatehouse(['status', '--store', redis.url])
    if ((status.match(/ in-sync/g) ?? []).length === 3 && !/ v1 /.test(status)) break
    await new Promise((r) => setTimeout(r, 200))
  }
  const a = nodes[0]
  const cli = `node ${relative(process.cwd(), bin) || bin}`
  console.log(`
${status}

A fleet of three Gatehouse nodes follows ${redis.url}; every node serves the second apply.
  curl -i ${nodes.map((n) => n.url).join('\n  curl -i ')}       # x-fleet-config: second
  curl -H "Authorization: Bearer ${env.GATEHOUSE_ADMIN_TOKEN}" ${a.admin}/fleet    # node a's admin API: GET /fleet

In another terminal (set the same key: export GATEHOUSE_CONFIG_KEY=${env.GATEHOUSE_CONFIG_KEY}):
  ${cli} status --store ${redis.url}       # every node: version, hash, state
  ${cli} history --store ${redis.url}
  ${cli} rollback ${firstVersion} --store ${redis.url}   # the fleet converges on the first config again
  ${cli} apply ${relative(process.cwd(), file)} --store ${redis.url} --message "edited"   # after editing it
${stopAfter === undefined ? 'Ctrl-C stops everything.' : `Stopping in ${stopAfter} s.`}`)
  if (stopAfter !== undefined) setTimeout(() => void stop(0), stopAfter * 1000)
}

main().catch((err) => {
  console.error(err.message ?? err)
  void stop(1)
})
