// One upstream target of the soak run (scripts/soak/soak.mjs), in its own process so the run can kill
// it (SIGKILL, by PID) and start it again on the same port.
//   node scripts/soak/upstream.mjs <name> [port]     prints `{"name","port"}` on stdout once listening
// It answers by the end of the path, whatever prefix the gateway leaves:
//   …/items, …/item/<n>  small JSON, cacheable (public, max-age=5)
//   …/large              256 KiB
//   …/report             small JSON after 100 ms (the route with a maxInflight cap)
//   …/ping               small JSON, or nothing while stalled
//   …/events             server-sent events: 5 events 40 ms apart, then the end
//   POST …               reads the whole body; answers its size and the x-soak-generation header seen
//   GET /healthz         200 (active health checks)
//   WebSocket upgrade    echoes every message
// Control (called by the soak run directly, never through the gateway): POST /__soak/stall holds
// every later request unanswered; POST /__soak/unstall answers 200 and destroys the held ones.
import http from 'node:http'
import { WebSocketServer } from 'ws'

const [name = 'upstream', portArg = '0'] = process.argv.slice(2)
const LARGE = Buffer.alloc(256 * 1024, 'x')
let stalled = false
const held = new Set()

function json(res, status, body, headers = {}) {
  const text = JSON.stringify(body)
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    ...headers,
  })
  res.end(text)
}

const server = http.createServer((req, res) => {
  const path = (req.url ?? '/').split('?')[0]
  if (path === '/__soak/stall') {
    stalled = true
    return json(res, 200, { stalled })
  }
  if (path === '/__soak/unstall') {
    stalled = false
    for (const r of held) r.destroy()
    held.clear()
    return json(res, 200, { stalled })
  }
  if (path === '/healthz') return json(res, 200, { ok: true, name })
  if (stalled) {
    // Hold the request: no answer until the gateway gives up (its read timeout) or unstall.
    held.add(res)
    res.on('close', () => held.delete(res))
    req.resume()
    return
  }
  if (req.method === 'POST' || req.method === 'PUT') {
    let bytes = 0
    req.on('data', (c) => {
      bytes += c.length
    })
    req.on('end', () => json(res, 201, { name, bytes, generation: req.headers['x-soak-generation'] ?? null }))
    req.on('error', () => res.destroy())
    return
  }
  if (path.endsWith('/large')) {
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': LARGE.length })
    return res.end(LARGE)
  }
  if (path.endsWith('/events')) {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store' })
    let n = 0
    const timer = setInterval(() => {
      n++
      res.write(`id: ${n}\ndata: {"n":${n},"from":"${name}"}\n\n`)
      if (n === 5) {
        clearInterval(timer)
        res.end()
      }
    }, 40)
    res.on('close', () => clearInterval(timer))
    return
  }
  if (path.endsWith('/report')) {
    const timer = setTimeout(() => json(res, 200, { name, report: true }), 100)
    res.on('close', () => clearTimeout(timer))
    return
  }
  if (/\/items$|\/item\/\d+$/.test(path))
    return json(res, 200, { name, path }, { 'cache-control': 'public, max-age=5' })
  return json(res, 200, { name, path })
})

const wss = new WebSocketServer({ noServer: true })
server.on('upgrade', (req, socket, head) => {
  if (stalled) {
    socket.on('error', () => {})
    return
  }
  wss.handleUpgrade(req, socket, head, (ws) => {
    ws.on('message', (data, binary) => ws.send(data, { binary }))
    ws.on('error', () => ws.terminate())
  })
})

server.keepAliveTimeout = 10_000
server.listen(Number(portArg), '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ name, port: server.address().port })}\n`)
})
process.on('SIGTERM', () => {
  server.closeAllConnections()
  server.close(() => process.exit(0))
})
