// Preloaded into the gateway process by the soak run (`node --expose-gc --import probe.mjs …`): a test
// hook, not part of Gatehouse. It answers GET http://127.0.0.1:$SOAK_PROBE_PORT/ with the process's
// memory after a forced full garbage collection (so `heapUsed` is what is retained, not garbage
// waiting for the collector) and the event-loop delay since the previous call.
import http from 'node:http'
import { monitorEventLoopDelay } from 'node:perf_hooks'

const port = Number(process.env.SOAK_PROBE_PORT)
if (port > 0) {
  const delay = monitorEventLoopDelay({ resolution: 10 })
  delay.enable()
  const ms = (ns) => Math.round((ns / 1e6) * 10) / 10
  const server = http.createServer((_req, res) => {
    const before = process.memoryUsage()
    const gcStart = performance.now()
    if (typeof globalThis.gc === 'function') {
      globalThis.gc()
      globalThis.gc()
    }
    const gcMs = performance.now() - gcStart
    const after = process.memoryUsage()
    const body = JSON.stringify({
      pid: process.pid,
      rss: after.rss,
      heapUsed: after.heapUsed,
      heapTotal: after.heapTotal,
      heapUsedBeforeGc: before.heapUsed,
      external: after.external,
      arrayBuffers: after.arrayBuffers,
      gcForced: typeof globalThis.gc === 'function',
      gcMs: Math.round(gcMs),
      loopDelay: { p50: ms(delay.percentile(50)), p99: ms(delay.percentile(99)), max: ms(delay.max) },
    })
    delay.reset()
    res.writeHead(200, { 'content-type': 'application/json', connection: 'close' })
    res.end(body)
  })
  server.unref()
  server.listen(port, '127.0.0.1')
}
