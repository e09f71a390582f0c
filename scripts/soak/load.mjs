// The soak run's load generator, a child process of scripts/soak/soak.mjs (never the gateway's
// process): `node scripts/soak/load.mjs <plan.json>`. It sends a fixed rate of requests (each tick
// sends what the rate owes since the start, so a slow answer never slows the sending), a weighted mix
// of small and large downloads, uploads, SSE and WebSocket, plus the client-side faults of its
// schedule window (aborts, slowloris, slow POST, a burst). Every request ends as an answer, a counted
// client error, or a client abort it chose; one that never ends is reported as lost. It writes the
// per-window counts and latencies to plan.out and exits.
import { readFileSync, writeFileSync } from 'node:fs'
import net from 'node:net'
import { Agent, request } from 'undici'
import WebSocket from 'ws'
import { buildSchedule, classify, judgedWindows, windowAt } from './schedule.mjs'

const plan = JSON.parse(readFileSync(process.argv[2], 'utf8'))
const schedule = buildSchedule(plan.seconds)
const base = plan.gatewayUrl
const auth = `Bearer ${plan.token}`
const CLIENT_TIMEOUT = 20_000
const DRAIN = 40_000
const UPLOAD = Buffer.alloc(1024 * 1024, 'u')
const LARGE_BYTES = 256 * 1024

// Deterministic choices (mulberry32), so two runs send the same mix.
let seed = 0x50a4
function random() {
  seed = (seed + 0x6d2b79f5) | 0
  let x = Math.imul(seed ^ (seed >>> 15), 1 | seed)
  x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x
  return ((x ^ (x >>> 14)) >>> 0) / 4294967296
}

const MIX = {
  items: 25,
  item: 15,
  large: 8,
  report: 5,
  order: 12,
  upload: 5,
  ping: 10,
  sse: 7,
  ws: 6,
  unauth: 5,
  metrics: 2,
}
const deck = Object.entries(MIX).flatMap(([kind, n]) => Array(n).fill(kind))
for (let i = deck.length - 1; i > 0; i--) {
  const j = Math.floor(random() * (i + 1))
  ;[deck[i], deck[j]] = [deck[j], deck[i]]
}

const agent = new Agent({
  connections: 128,
  keepAliveTimeout: 4_000,
  headersTimeout: CLIENT_TIMEOUT,
  bodyTimeout: CLIENT_TIMEOUT,
})
const burstAgent = new Agent({ connections: 512, keepAliveTimeout: 1_000 })

const windows = schedule.windows.map((w) => ({
  name: w.name,
  start: w.start,
  end: w.end,
  sent: 0,
  statuses: {},
  clientErrors: 0,
  aborted: 0,
  expected: {},
  unexpected: 0,
  unexpectedExamples: [],
  latencies: [],
  hostile: { opened: 0, cut408: 0, closed: 0, notCut: 0, other: 0 },
}))
// The server-side faults as the run really injected them (IPC messages), to judge answers by.
const actual = []
let judged = judgedWindows(schedule, actual)
process.on('message', (m) => {
  if (m.fault === undefined) return
  if (m.state === 'on') actual.push({ name: m.fault, start: now() })
  else {
    const open = actual.findLast((a) => a.name === m.fault && a.end === undefined)
    if (open) open.end = now()
  }
  judged = judgedWindows(schedule, actual)
})
const pending = new Map()
let nextId = 0
let startAt = 0
const now = () => performance.now() - startAt

/** Records one request's end: exactly once, whatever happens. */
function settle(id, outcome) {
  const p = pending.get(id)
  if (p === undefined) return
  pending.delete(id)
  const w = windows[p.win]
  const r = { kind: p.kind, t: p.t, tEnd: now(), ...outcome }
  if (r.aborted) {
    w.aborted++
    return
  }
  if (r.status !== undefined) w.statuses[r.status] = (w.statuses[r.status] ?? 0) + 1
  else w.clientErrors++
  if (r.status !== undefined && r.status < 400 && r.error === undefined) w.latencies.push(now() - p.t)
  const c = classify(judged, r)
  if (c.ok) return
  if (c.expected) {
    w.expected[c.why] = (w.expected[c.why] ?? 0) + 1
    return
  }
  w.unexpected++
  if (w.unexpectedExamples.length < 20)
    w.unexpectedExamples.push({
      kind: r.kind,
      at: Math.round(r.t),
      took: Math.round(r.tEnd - r.t),
      status: r.status,
      code: r.code,
      error: r.error,
      why: c.why,
    })
}

function begin(kind) {
  const id = ++nextId
  const t = now()
  const win = windowAt(schedule, t)
  windows[win].sent++
  pending.set(id, { kind, t, win })
  return id
}

function errorText(err) {
  return `${err?.code ?? err?.name ?? 'Error'}: ${err?.message ?? err}`.slice(0, 160)
}

async function codeOf(body) {
  try {
    return JSON.parse(await body.text()).code
  } catch {
    return undefined
  }
}

let aborting = false
const ABORTABLE = new Set(['large', 'upload', 'sse'])

async function sendHttp(kind, id, agentFor = agent) {
  const n = Math.floor(random() * 1000)
  let path
  let method = 'GET'
  let body
  const headers = kind === 'unauth' ? {} : { authorization: auth }
  switch (kind) {
    case 'items':
      path = '/catalog/items'
      break
    case 'item':
      path = `/catalog/item/${n}`
      break
    case 'large':
      path = '/catalog/large'
      break
    case 'report':
    case 'burst':
      path = '/catalog/report'
      break
    case 'order':
      path = '/orders'
      method = 'POST'
      body = JSON.stringify({ item: n, quantity: 1 + (n % 5) })
      headers['content-type'] = 'application/json'
      break
    case 'upload':
      path = '/orders/upload'
      method = 'POST'
      body = UPLOAD
      headers['content-type'] = 'application/octet-stream'
      break
    case 'ping':
      path = '/slow/ping'
      break
    case 'sse':
      path = '/stream/events'
      headers.accept = 'text/event-stream'
      break
    case 'unauth':
      path = '/catalog/items'
      break
    case 'metrics':
      path = '/metrics'
      break
  }
  const controller = new AbortController()
  let abortTimer
  if (aborting && ABORTABLE.has(kind) && random() < 0.5)
    abortTimer = setTimeout(() => controller.abort(), 2 + Math.floor(random() * 30))
  try {
    const res = await request(`${base}${path}`, {
      method,
      headers,
      body,
      dispatcher: agentFor,
      signal: controller.signal,
      headersTimeout: CLIENT_TIMEOUT,
      bodyTimeout: CLIENT_TIMEOUT,
    })
    const status = res.statusCode
    const retryAfter = res.headers['retry-after']
    if (status >= 400) return settle(id, { status, code: await codeOf(res.body), retryAfter })
    if (kind === 'large') {
      const bytes = (await res.body.arrayBuffer()).byteLength
      if (bytes !== LARGE_BYTES) return settle(id, { status, error: `short body: ${bytes} bytes` })
    } else if (kind === 'sse') {
      const text = await res.body.text()
      const events = (text.match(/^data: /gm) ?? []).length
      if (events !== 5) return settle(id, { status, error: `SSE: ${events} of 5 events` })
    } else if (kind === 'upload') {
      const got = JSON.parse(await res.body.text())
      if (got.bytes !== UPLOAD.length)
        return settle(id, { status, error: `upload: upstream got ${got.bytes} bytes` })
    } else await res.body.dump()
    settle(id, { status })
  } catch (err) {
    if (controller.signal.aborted) settle(id, { aborted: true })
    else settle(id, { error: errorText(err) })
  } finally {
    clearTimeout(abortTimer)
  }
}

function sendWs(id) {
  const ws = new WebSocket(`${base.replace(/^http/, 'ws')}/stream/ws`, { headers: { authorization: auth } })
  let echoed = 0
  const timer = setTimeout(() => {
    ws.terminate()
    settle(id, { error: `WebSocket: ${echoed} of 3 echoes within ${CLIENT_TIMEOUT} ms` })
  }, CLIENT_TIMEOUT)
  const done = (outcome) => {
    clearTimeout(timer)
    settle(id, outcome)
  }
  ws.on('open', () => {
    for (let i = 0; i < 3; i++) ws.send(`message ${i}`)
  })
  ws.on('message', () => {
    if (++echoed === 3) {
      ws.close(1000)
      done({ status: 101 })
    }
  })
  ws.on('unexpected-response', (_req, res) => {
    let text = ''
    res.on('data', (c) => {
      text += c
    })
    res.on('end', () => {
      let code
      try {
        code = JSON.parse(text).code
      } catch {}
      done({ status: res.statusCode, code, retryAfter: res.headers['retry-after'] })
    })
    res.on('error', (err) => done({ error: errorText(err) }))
  })
  ws.on('error', (err) => done({ error: errorText(err) }))
  ws.on('close', () => {
    if (echoed < 3) done({ error: `WebSocket closed after ${echoed} of 3 echoes` })
  })
}

function send(kind) {
  const id = begin(kind)
  if (kind === 'ws') sendWs(id)
  else void sendHttp(kind, id)
}

// ── hostile clients ──────────────────────────────────────────────────────────────────────────────
const hostileSockets = new Set()
const { hostname, port } = new URL(base)

/**
 * A raw connection that sends `head`, then `drip()` every second until the gateway answers or
 * closes. Ends as 408 (cut as it should be), closed, or not cut by `deadline` (ms from start).
 */
function hostile(win, head, drip, deadline) {
  const w = windows[win]
  w.hostile.opened++
  const socket = net.connect({ host: hostname, port: Number(port) })
  hostileSockets.add(socket)
  let received = ''
  let timer
  const finish = (what) => {
    if (!hostileSockets.has(socket)) return
    hostileSockets.delete(socket)
    clearInterval(timer)
    socket.destroy()
    w.hostile[what]++
    if (what === 'notCut' || what === 'other') {
      w.unexpected++
      if (w.unexpectedExamples.length < 20)
        w.unexpectedExamples.push({
          kind: w.name,
          why:
            what === 'notCut'
              ? 'a slow client was not cut in time'
              : `a slow client got: ${received.slice(0, 80)}`,
        })
    }
  }
  socket.on('error', () => {})
  socket.on('data', (c) => {
    received += c.toString('latin1')
  })
  socket.on('close', () => {
    if (received === '') return finish('closed')
    finish(/^HTTP\/1\.1 408 /.test(received) && received.includes('GH_REQUEST_TIMEOUT') ? 'cut408' : 'other')
  })
  socket.on('connect', () => {
    socket.write(head)
    timer = setInterval(() => {
      if (now() > deadline) return finish('notCut')
      socket.write(drip())
    }, 1_000)
  })
}

function slowloris(win, count, deadline) {
  for (let i = 0; i < count; i++) {
    let line = 0
    hostile(
      win,
      'GET /catalog/items HTTP/1.1\r\nHost: soak.test\r\n',
      () => `X-Slow-${++line}: x\r\n`,
      deadline,
    )
  }
}

function slowPost(win, count, deadline) {
  const head =
    'POST /orders HTTP/1.1\r\nHost: soak.test\r\ncontent-type: application/octet-stream\r\n' +
    `authorization: ${auth}\r\ncontent-length: 1000000\r\n\r\n`
  for (let i = 0; i < count; i++) hostile(win, head, () => 'x'.repeat(16), deadline)
}

function burst(count) {
  for (let i = 0; i < count; i++) void sendHttp('burst', begin('burst'), burstAgent)
}

// ── the run ──────────────────────────────────────────────────────────────────────────────────────
async function main() {
  const { rate, seconds } = plan
  const total = seconds * 1000
  startAt = performance.now()
  // Tell the run where time zero is (it schedules the server-side faults from it).
  process.send?.({ started: Date.now() })
  let sent = 0
  let lastWin = -1
  await new Promise((resolve) => {
    const ticker = setInterval(() => {
      const t = now()
      if (t >= total) {
        clearInterval(ticker)
        return resolve()
      }
      const win = windowAt(schedule, t)
      if (win !== lastWin) {
        lastWin = win
        const w = schedule.windows[win]
        aborting = w.name === 'client-aborts'
        const deadline = w.end + plan.cutWithin
        if (w.name === 'slowloris') slowloris(win, plan.slowClients, deadline)
        if (w.name === 'slow-post') slowPost(win, Math.ceil(plan.slowClients / 2), deadline)
        if (w.name === 'burst') setTimeout(() => burst(plan.burst), 1_000)
      }
      const owed = Math.floor((t / 1000) * rate)
      for (; sent < owed; sent++) send(deck[sent % deck.length])
    }, 10)
  })
  // Every request must end: answered, a client error, or a client abort; wait for the last ones.
  const drainUntil = performance.now() + DRAIN
  while ((pending.size > 0 || hostileSockets.size > 0) && performance.now() < drainUntil)
    await new Promise((r) => setTimeout(r, 100))
  const lost = [...pending.values()].map((p) => ({ kind: p.kind, at: Math.round(p.t) }))
  for (const s of hostileSockets) s.destroy()
  const notCut = hostileSockets.size
  const out = windows.map(({ latencies, ...w }) => {
    latencies.sort((a, b) => a - b)
    const q = (p) =>
      latencies.length
        ? Math.round(latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] * 10) / 10
        : null
    return { ...w, answered: latencies.length, p50: q(0.5), p99: q(0.99) }
  })
  const faults = actual.map((a) => ({
    name: a.name,
    start: Math.round(a.start),
    end: a.end && Math.round(a.end),
  }))
  writeFileSync(plan.out, JSON.stringify({ windows: out, lost, hostileStillOpen: notCut, faults }))
  await Promise.allSettled([agent.close(), burstAgent.close()])
  process.exit(0)
}

main().catch((err) => {
  console.error(err)
  process.exit(1)
})
