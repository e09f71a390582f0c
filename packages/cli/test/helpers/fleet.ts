import type http from 'node:http'
import net from 'node:net'
import { join } from 'node:path'
import { startUpstream, waitFor as waitForTest } from '@gatehousejs/sdk/testing'
import { Redis } from 'ioredis'
import { type Started, start, type TestLike } from './cli.js'

/** The fleet signing key the tests share (any 32+ characters). */
export const KEY = 'test-fleet-key-0123456789abcdef-0123456789'

/**
 * A gateway file whose `stamp` plugin writes `value` into the upstream request (`x-stamp`).
 * `readTimeout` (a duration) sets the upstream read timeout: longer than an apply can take on a loaded
 * machine for a file whose requests `holdAcross` holds across a swap.
 */
export function fleetConfig(
  upstream: string,
  value: string,
  options: { extra?: boolean; readTimeout?: string } = {},
): string {
  return `${options.readTimeout ? `timeouts:\n  read: ${options.readTimeout}\n` : ''}services:
  - name: echo
    url: ${upstream}
    routes:
      - name: all
        paths: [/]
plugins:
  - name: stamp
    config:
      value: ${JSON.stringify(value)}
${options.extra ? '  - name: extra\n' : ''}`
}

/** The test kit's `waitFor` with a fleet's patience: 60 s unless told, checked every 100 ms. */
export function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined | false> | T | undefined | false,
  timeout = 60_000,
): Promise<T> {
  return waitForTest(what, check, { timeout, interval: 100 })
}

/** What value of `x-stamp` a node put on the upstream request for `GET /` (the upstream echoes headers). */
export async function stampOf(url: string): Promise<string | undefined> {
  const res = await fetch(`${url}/probe`)
  const body = (await res.json()) as { headers?: Record<string, string> }
  return res.status === 200 ? body.headers?.['x-stamp'] : undefined
}

/**
 * Requests through every node (one loop per node, a pause of `pauseMs` between its requests) until
 * stopped, bounded by `maxRequests` and `maxMs`; records every answer that is not a 200 (or a network
 * error) and, per node, every `x-stamp` value its answers carried (`seen`), so that a test can check
 * the traffic ran on every version. Paced rather than back to back: the load only has to be there on
 * each side of every swap (requests held across a swap are `holdAcross`'s), and back-to-back requests
 * cost CPU in proportion to how long the applies take.
 */
export function loadLoop(
  urls: string[],
  options: { maxRequests?: number; maxMs?: number; pauseMs?: number } = {},
) {
  const failures: string[] = []
  const seen = new Map<string, Set<string>>(urls.map((url) => [url, new Set<string>()]))
  let count = 0
  let stopped = false
  const deadline = Date.now() + (options.maxMs ?? 60_000)
  const max = options.maxRequests ?? 20_000
  const pause = options.pauseMs ?? 50
  let wake: (() => void)[] = []
  const loops = urls.map(async (url) => {
    while (!stopped && count < max && Date.now() < deadline) {
      count++
      try {
        const res = await fetch(`${url}/load`)
        const body = (await res.json()) as { headers?: Record<string, string> }
        if (res.status !== 200) failures.push(`${url}: ${res.status}`)
        else seen.get(url)?.add(body.headers?.['x-stamp'] ?? '(none)')
      } catch (err) {
        failures.push(`${url}: ${String((err as Error).cause ?? err)}`)
      }
      if (!stopped)
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, pause)
          wake.push(() => {
            clearTimeout(timer)
            resolve()
          })
        })
    }
  })
  return {
    failures,
    /** Per node URL, the stamps its 200 answers carried. */
    seen,
    get count() {
      return count
    },
    /**
     * Waits until every node has answered the load on `value`. A node that switched a moment before
     * the load stops may not have had its next paced request yet; "the load ran through every node on
     * every version" needs that one.
     */
    async reached(value: string) {
      await waitFor(`the load to be answered on ${value} by every node`, () =>
        urls.every((url) => seen.get(url)?.has(value)),
      )
    },
    async stop() {
      stopped = true
      for (const w of wake) w()
      wake = []
      await Promise.all(loops)
    },
  }
}

/** Answers 200 with `{ url, headers }` as JSON: the part of startUpstream's default echo that stampOf reads. */
function echoHeaders(req: http.IncomingMessage, res: http.ServerResponse): void {
  res.writeHead(200, { 'content-type': 'application/json' })
  res.end(JSON.stringify({ url: req.url, headers: req.headers }))
}

/** An upstream that answers as `echoHeaders`, but holds the answer to every `/hold/…` request until `release(path)`. */
export async function startHoldingUpstream(t: TestLike) {
  const held = new Map<string, () => void>()
  const upstream = await startUpstream({
    t,
    handler: (req, res, recorded) => {
      if (recorded.url.startsWith('/hold/')) held.set(recorded.url, () => echoHeaders(req, res))
      else echoHeaders(req, res)
    },
  })
  return {
    url: upstream.url,
    /** Whether the request for `path` reached the upstream and waits for its answer. */
    holds: (path: string) => held.has(path),
    /** Answers the held request for `path`. */
    release(path: string) {
      held.get(path)?.()
      held.delete(path)
    },
  }
}

let holds = 0

/**
 * Sends one `/hold/…` request through each node and waits until all have reached the upstream, which
 * holds them: a request in flight on each node. Apply, then `releaseAsServed(value)` waits, node by
 * node, until the node serves `value` (its stamp) and then lets its held request be answered: a request
 * that crossed the swap. Resolves to each one's answer: the `x-stamp` it carried, or its status or
 * error when it was not a 200.
 */
export async function holdAcross(upstream: Awaited<ReturnType<typeof startHoldingUpstream>>, urls: string[]) {
  const paths = urls.map(() => `/hold/${++holds}`)
  const answers = urls.map(async (url, i) => {
    try {
      const res = await fetch(`${url}${paths[i]}`)
      const body = (await res.json()) as { headers?: Record<string, string> }
      return res.status === 200 ? (body.headers?.['x-stamp'] ?? '(none)') : `status ${res.status}`
    } catch (err) {
      return `error ${String((err as Error).cause ?? err)}`
    }
  })
  await waitFor('every held request to reach the upstream', () => paths.every((p) => upstream.holds(p)))
  return {
    async releaseAsServed(value: string) {
      for (const [i, url] of urls.entries()) {
        await waitFor(`${url} to serve ${value}`, async () => (await stampOf(url)) === value)
        upstream.release(paths[i] as string)
      }
      return Promise.all(answers)
    },
  }
}

/** Every key in Redis and its whole value as text, whatever its type. */
export async function dumpRedis(url: string): Promise<Map<string, string>> {
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0 })
  await client.connect()
  const out = new Map<string, string>()
  try {
    let cursor = '0'
    do {
      const [next, keys] = await client.scan(cursor, 'COUNT', 500)
      cursor = next
      for (const key of keys) {
        const type = await client.type(key)
        let value: unknown
        if (type === 'string') value = await client.get(key)
        else if (type === 'list') value = await client.lrange(key, 0, -1)
        else if (type === 'hash') value = await client.hgetall(key)
        else if (type === 'set') value = await client.smembers(key)
        else if (type === 'zset') value = await client.zrange(key, '0', '-1', 'WITHSCORES')
        else if (type === 'stream') value = await client.xrange(key, '-', '+')
        else value = `<${type}>`
        out.set(key, JSON.stringify(value))
      }
    } while (cursor !== '0')
  } finally {
    client.disconnect()
  }
  return out
}

/** A Redis client for a test to read or tamper with the store directly. */
export async function redisClient(url: string): Promise<Redis> {
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 })
  await client.connect()
  return client
}

/**
 * A TCP relay on 127.0.0.1 in front of `port`: `cut()` drops every connection and refuses new ones
 * (as a network partition would look to the node), `restore()` lets connections through again.
 */
export async function startRelay(port: number) {
  let open = true
  const sockets = new Set<net.Socket>()
  const server = net.createServer((client) => {
    if (!open) {
      client.destroy()
      return
    }
    const upstream = net.connect(port, '127.0.0.1')
    sockets.add(client)
    sockets.add(upstream)
    const drop = () => {
      client.destroy()
      upstream.destroy()
      sockets.delete(client)
      sockets.delete(upstream)
    }
    client.on('error', drop).on('close', drop)
    upstream.on('error', drop).on('close', drop)
    client.pipe(upstream)
    upstream.pipe(client)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const relayPort = (server.address() as net.AddressInfo).port
  return {
    url: `redis://127.0.0.1:${relayPort}`,
    cut() {
      open = false
      for (const s of sockets) s.destroy()
      sockets.clear()
    },
    restore() {
      open = true
    },
    close() {
      open = false
      for (const s of sockets) s.destroy()
      return new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

export interface FleetNodeOptions {
  /** The `--store` string. */
  store: string
  /** `--node-id`; its cache is `<cacheRoot>/cache-<id>`. */
  id: string
  cacheRoot: string
  /** Where plugins resolve from. */
  cwd: string
  env: NodeJS.ProcessEnv
  /** `--poll` (default 300ms: tests converge fast through the version check too). */
  poll?: string
  /** Serve the admin API on a free loopback port (`--admin 127.0.0.1:0`). */
  admin?: boolean
}

/** `gatehouse start --store …` on a free loopback port, waiting for its "listening on" line; stopped at teardown. */
export function startFleetNode(t: TestLike, o: FleetNodeOptions): Promise<Started> {
  const args = [
    ...['--store', o.store, '--cache-dir', join(o.cacheRoot, `cache-${o.id}`), '--node-id', o.id],
    ...['--port', '0', '--host', '127.0.0.1', '--poll', o.poll ?? '300ms'],
    ...(o.admin ? ['--admin', '127.0.0.1:0'] : []),
  ]
  // A bound that allows for a loaded machine (a bound, not a timing assertion).
  return start(t, args, { cwd: o.cwd, env: o.env, timeout: 120_000 })
}
