/**
 * Several real upstream servers standing for one service's targets: each answers with its index,
 * counts what it received, and can be killed (connections dropped, port closed) and revived on the
 * same port.
 */
import { setTimeout as sleep } from 'node:timers/promises'
import type { Gateway } from '@gatehousejs/core'
import { startUpstream, type TestUpstream, WaitTimeoutError, waitFor } from '@gatehousejs/sdk/testing'
import type { Test } from 'tap'

export interface TestTarget {
  index: number
  upstream: TestUpstream
  url: string
  /** Requests received, health probes excluded. */
  hits(): number
  probes(): number
  /** Status the health path answers (default 200). */
  healthStatus: number
  kill(): Promise<void>
  revive(): Promise<void>
}

export async function startTargets(
  t: Test,
  count: number,
  /** `delay`: milliseconds a target waits before answering, or a promise it waits for (a hold). */
  options: { delay?: (index: number) => number | Promise<void> } = {},
): Promise<TestTarget[]> {
  const targets: TestTarget[] = []
  for (let index = 0; index < count; index++) {
    const target: TestTarget = {
      index,
      upstream: undefined as unknown as TestUpstream,
      url: '',
      hits: () => target.upstream.requests.filter((r) => !r.url.startsWith('/health')).length,
      probes: () => target.upstream.requests.filter((r) => r.url.startsWith('/health')).length,
      healthStatus: 200,
      async kill() {
        const server = target.upstream.server
        await new Promise<void>((resolve) => {
          server.close(() => resolve())
          server.closeAllConnections()
        })
      },
      async revive() {
        await new Promise<void>((resolve) =>
          target.upstream.server.listen(target.upstream.port, '127.0.0.1', resolve),
        )
      },
    }
    target.upstream = await startUpstream({
      t,
      handler: async (req, res) => {
        if (req.url?.startsWith('/health')) {
          res.writeHead(target.healthStatus, { 'content-type': 'text/plain' })
          res.end('health')
          return
        }
        const wait = options.delay?.(index) ?? 0
        if (typeof wait !== 'number') await wait
        else if (wait > 0) await sleep(wait)
        res.writeHead(200, { 'content-type': 'application/json', 'x-target': String(index) })
        res.end(JSON.stringify({ target: index, method: req.method, url: req.url }))
      },
    })
    target.url = target.upstream.url
    targets.push(target)
  }
  return targets
}

/** Target index per response, from the `x-target` header (undefined for an error response). */
export function targetOf(res: { headers: Record<string, unknown> }): number | undefined {
  const v = res.headers['x-target']
  return v === undefined ? undefined : Number(v)
}

/**
 * Polls until `check` holds (the test kit's `waitFor`, every 20 ms for up to `timeout` ms, default
 * 10 s): true, or false once the time is up, for the test to assert with its own message.
 */
export function eventually(check: () => boolean, timeout?: number): Promise<boolean> {
  return waitFor('a condition', check, { timeout, interval: 20 }).then(
    () => true,
    (err: unknown) => {
      if (err instanceof WaitTimeoutError) return false
      throw err
    },
  )
}

export function stateOf(gateway: Gateway, service: string, url: string): string | undefined {
  return gateway
    .upstreams()
    .find((u) => u.service === service)
    ?.targets.find((t) => t.url === url)?.state
}
