import type { ServerResponse } from 'node:http'
import { startUpstream, type TestLike, type TestUpstream } from '@gatehousejs/sdk/testing'

/** Real JSON services on port 0: each answers `routes[path]` (a value, or a function of the URL). */
export function json(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body)
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) })
  res.end(text)
}

export async function jsonService(
  t: TestLike,
  routes: Record<string, Record<string, unknown> | unknown[] | ((url: URL) => unknown)>,
  /** `delay`: milliseconds to wait before answering, or a function whose promise is waited for. */
  options: { delay?: number | (() => Promise<void>); status?: number } = {},
): Promise<TestUpstream> {
  return startUpstream({
    t,
    handler: async (req, res) => {
      const url = new URL(req.url ?? '/', 'http://x')
      const delay = options.delay
      if (typeof delay === 'function') await delay()
      else if (delay) await new Promise((r) => setTimeout(r, delay))
      if (res.destroyed) return
      const found = routes[decodeURIComponent(url.pathname)]
      if (found === undefined) return json(res, 404, { message: 'not here' })
      json(res, options.status ?? 200, typeof found === 'function' ? found(url) : found)
    },
  })
}
