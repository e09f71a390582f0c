import { request as httpRequest } from 'node:http'
import t from 'tap'
import { setup } from './helpers/setup.js'

/** Reads a response chunk by chunk, noting when each chunk arrived. */
function readChunks(
  url: string,
  path: string,
): Promise<{ status: number; headers: Record<string, unknown>; chunks: { at: number; text: string }[] }> {
  return new Promise((resolve, reject) => {
    const started = performance.now()
    const req = httpRequest(`${url}${path}`, (res) => {
      const chunks: { at: number; text: string }[] = []
      res.setEncoding('utf8')
      res.on('data', (text: string) => chunks.push({ at: performance.now() - started, text }))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, chunks }))
      res.on('error', reject)
    })
    req.on('error', reject)
    req.end()
  })
}

t.test('server streaming as NDJSON: one line per message, written as each arrives', async (t) => {
  const { gw } = await setup(t)
  // The server sends 3 messages 200 ms apart.
  const res = await readChunks(gw.url, '/v1/watch?page_size=3&since_ms=200')
  t.equal(res.status, 200)
  t.match(res.headers['content-type'], /^application\/x-ndjson/)
  const lines = res.chunks
    .map((c) => c.text)
    .join('')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l))
  t.same(
    lines.map((l) => [l.id, l.displayName, l.role]),
    [
      ['1', 'user 1', 'ROLE_MEMBER'],
      ['2', 'user 2', 'ROLE_MEMBER'],
      ['3', 'user 3', 'ROLE_MEMBER'],
    ],
  )
  // Streamed, not buffered: the messages came in separate chunks, spread over the stream's life.
  t.ok(res.chunks.length >= 3, 'one chunk per message at least')
  // Nominally 400 ms apart; a busy machine can hold back the first chunk, so one interval is asked.
  t.ok(
    res.chunks[res.chunks.length - 1]!.at - res.chunks[0]!.at >= 200,
    'the last message came well after the first',
  )
})

t.test('server streaming as server-sent events', async (t) => {
  const { gw } = await setup(t)
  const res = await readChunks(gw.url, '/v1/watch.sse?page_size=2')
  t.equal(res.status, 200)
  t.match(res.headers['content-type'], /^text\/event-stream/)
  t.equal(res.headers['cache-control'], 'no-cache')
  const events = res.chunks
    .map((c) => c.text)
    .join('')
    .split('\n\n')
    .filter(Boolean)
  t.equal(events.length, 2)
  t.match(JSON.parse(events[0]!.replace(/^data: /, '')), { id: '1' })
})

t.test('an error before the first message keeps its HTTP status', async (t) => {
  const { gw } = await setup(t)
  const res = await gw.request({ path: '/v1/watch?page_size=-1' })
  t.equal(res.status, 403)
  t.equal(res.json().code, 'GH_GRPC_PERMISSION_DENIED')
  t.equal(res.json().message, 'not allowed to watch')
})

t.test('an error after messages were sent is the last line of the stream', async (t) => {
  const { gw } = await setup(t)
  const res = await gw.request({ path: '/v1/watch?page_size=2&active_only=true' })
  t.equal(res.status, 200)
  const lines = res.text
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l))
  t.equal(lines.length, 3)
  t.match(lines[2], { error: { code: 'GH_GRPC_UNAVAILABLE', statusCode: 503, grpcStatus: 14 } })
  const sse = await gw.request({ path: '/v1/watch.sse?page_size=1&active_only=true' })
  t.match(sse.text, /event: error\ndata: \{[^\n]*"code":"GH_GRPC_UNAVAILABLE"/)
})

t.test('a stream with no message ends at once with an empty body', async (t) => {
  const { gw } = await setup(t)
  const res = await gw.request({ path: '/v1/watch?page_size=0' })
  t.equal(res.status, 200)
  t.equal(res.text, '')
})

t.test('the client going away cancels the call', async (t) => {
  const { server, gw } = await setup(t)
  await new Promise<void>((resolve, reject) => {
    const req = httpRequest(`${gw.url}/v1/watch?page_size=1000&since_ms=20`, (res) => {
      res.once('data', () => {
        req.destroy()
        resolve()
      })
    })
    req.on('error', (err) => (req.destroyed ? undefined : reject(err)))
    req.end()
  })
  t.equal(server.calls.length, 1)
  // The server sees the cancellation (it stops writing); wait for it without a timed assertion.
  await new Promise<void>((resolve) => {
    const check = setInterval(() => {
      if (server.cancelled > 0) {
        clearInterval(check)
        resolve()
      }
    }, 10)
  })
  t.equal(server.cancelled, 1)
})
