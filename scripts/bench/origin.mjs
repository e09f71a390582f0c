// The body-size benchmark's Node origin (scripts/bench/bodies.mjs), for machines without nginx or to
// send the way nginx does not. `GET /<size>` answers <size> bytes (`100`, `4k`, `64k`, `1m`, `10m`)
// of random octets, sent the way MODE says (default `file`):
//   file      a file streamed from disk (fs.createReadStream piped to the response, Content-Length):
//             Node has no sendfile(2), so this is the closest a Node origin comes to a static server
//   segments  the body in 1 KiB writes with TCP_NODELAY, one per turn of the event loop, so it
//             leaves the origin in small TCP segments
//   chunked   Transfer-Encoding: chunked, 16 KiB chunks
//   gzip      Content-Encoding: gzip, the same size of compressible text, compressed once at start
// Any other method (`bench:bodies --upload`) reads the request body through and answers its length.
// Listens on HOST:PORT (default 127.0.0.1, port 0) and prints `origin listening on <url>`.
import { createReadStream, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import http from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'

export const SIZES = { 100: 100, '4k': 4096, '64k': 65536, '1m': 1048576, '10m': 10485760 }

const { HOST = '127.0.0.1', PORT = '0', MODE = 'file' } = process.env
const MODES = ['file', 'segments', 'chunked', 'gzip']
if (!MODES.includes(MODE)) {
  console.error(`MODE must be one of ${MODES.join(', ')}`)
  process.exit(2)
}

const dir = mkdtempSync(join(tmpdir(), 'gatehouse-origin-'))
const bodies = new Map()
for (const [name, size] of Object.entries(SIZES)) {
  // Random bytes, seeded so every run sends the same ones; gzip gets text, which compresses.
  const body = MODE === 'gzip' ? gzipSync(text(size)) : pseudoRandom(size)
  bodies.set(name, body)
  if (MODE === 'file') writeFileSync(join(dir, name), body)
}

function pseudoRandom(size) {
  const buf = Buffer.allocUnsafe(size)
  let x = 0x9e3779b9
  for (let i = 0; i < size; i++) {
    x ^= x << 13
    x ^= x >>> 17
    x ^= x << 5
    buf[i] = x & 0xff
  }
  return buf
}

function text(size) {
  const line = 'gatehouse streams this line to measure what a compressed body costs. 0123456789\n'
  return Buffer.from(line.repeat(Math.ceil(size / line.length)).slice(0, size))
}

const server = http.createServer(function origin(req, res) {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    let bytes = 0
    req.on('data', (chunk) => {
      bytes += chunk.length
    })
    req.on('end', () => {
      const text = String(bytes)
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': text.length })
      res.end(text)
    })
    return
  }
  const name = req.url.slice(1).split('?', 1)[0]
  const body = bodies.get(name)
  if (body === undefined) {
    res.writeHead(404, { 'content-type': 'text/plain', 'content-length': 9 })
    res.end('not found')
    return
  }
  if (MODE === 'file') {
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': body.length })
    createReadStream(join(dir, name)).pipe(res)
  } else if (MODE === 'segments') {
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': body.length })
    res.flushHeaders()
    writePieces(res, body, 0)
  } else if (MODE === 'chunked') {
    res.writeHead(200, { 'content-type': 'application/octet-stream' })
    for (let at = 0; at < body.length; at += 16384) res.write(body.subarray(at, at + 16384))
    res.end()
  } else {
    res.writeHead(200, {
      'content-type': 'text/plain; charset=utf-8',
      'content-encoding': 'gzip',
      'content-length': body.length,
    })
    res.end(body)
  }
})

/** 1 KiB per turn of the event loop, waiting for 'drain' when the socket is full. */
function writePieces(res, body, at) {
  while (at < body.length) {
    const ok = res.write(body.subarray(at, at + 1024))
    at += 1024
    if (!ok) {
      res.once('drain', () => writePieces(res, body, at))
      return
    }
    if (at < body.length) {
      setImmediate(writePieces, res, body, at)
      return
    }
  }
  res.end()
}

server.on('connection', (socket) => socket.setNoDelay(true))
// Outlive the gateways' pooled keep-alive connections.
server.keepAliveTimeout = 65_000
server.listen(Number(PORT), HOST, () => {
  const address = server.address()
  console.log(`origin listening on http://${address.address}:${address.port} (${MODE})`)
})
function stop() {
  rmSync(dir, { recursive: true, force: true })
  server.close(() => process.exit(0))
  server.closeAllConnections()
}
process.on('SIGTERM', stop)
process.on('SIGINT', stop)
