// The soak run's fault schedule and what a client may see in each fault window: shared by the run
// (scripts/soak/soak.mjs, which injects the server-side faults) and the load generator
// (scripts/soak/load.mjs, which injects the client-side ones and classifies every answer).

/** The faults, in the order a cycle runs them. */
export const FAULTS = [
  'target-down', // one of the two catalog targets killed (SIGKILL), restarted at the end
  'all-targets-down', // both catalog targets killed, restarted at the end
  'upstream-stall', // the `slow` upstream stops answering (held requests), released at the end
  'redis-down', // redis-server stopped (SIGTERM), restarted on the same port at the end
  'client-aborts', // the load generator aborts half of its large downloads, uploads and SSE streams
  'slowloris', // connections trickling their request head, one header line a second
  'slow-post', // POSTs trickling their body, 16 bytes a second
  'burst', // 3 × the gateway's maxInflight requests at once, on top of the steady load
]

/** After a fault ends, its expected failures stay expected this long (reconnects, health checks). */
export const RECOVERY_MS = 5_000

/**
 * Warm-up, then fault windows (each followed by a calm one in long runs), cycling until the end;
 * the last seconds are calm. Times in ms from the start of the load.
 */
export function buildSchedule(seconds) {
  const total = seconds * 1000
  const long = seconds >= 180
  const warmup = Math.min(120_000, Math.max(8_000, Math.round(total * 0.15)))
  const tail = long ? 20_000 : 5_000
  const faultLen = long ? 20_000 : Math.max(4_000, Math.floor((total - warmup - tail) / FAULTS.length))
  const calmLen = long ? 10_000 : 0
  const windows = [{ name: 'warm-up', start: 0, end: warmup, fault: false }]
  let t = warmup
  for (let i = 0; t + faultLen <= total - tail; i++) {
    const name = FAULTS[i % FAULTS.length]
    windows.push({ name, start: t, end: t + faultLen, fault: true })
    t += faultLen
    if (calmLen > 0 && t + calmLen <= total - tail) {
      windows.push({ name: 'calm', start: t, end: t + calmLen, fault: false })
      t += calmLen
    }
  }
  windows.push({ name: 'calm', start: t, end: total, fault: false })
  return { seconds, warmup, windows }
}

/** The index of the window that holds time `t` (ms from the start). */
export function windowAt(schedule, t) {
  const w = schedule.windows
  for (let i = w.length - 1; i >= 0; i--) if (t >= w[i].start) return i
  return 0
}

/**
 * The faults active at some moment between `from` and `to` (a request's life), counting each fault
 * as active until RECOVERY_MS after its window: a fault that began while a request was in flight
 * explains its failure as much as one that was on when it was sent.
 */
export function faultsDuring(schedule, from, to = from) {
  const names = new Set()
  for (const w of schedule.windows)
    if (w.fault && w.start <= to && from < w.end + RECOVERY_MS) names.add(w.name)
  return names
}

/** The faults the run injects on the server side; the load generator injects the others itself. */
export const SERVER_FAULTS = new Set(['target-down', 'all-targets-down', 'upstream-stall', 'redis-down'])

/**
 * The windows to judge answers by: the client-side faults as scheduled, the server-side ones as they
 * really were (`actual`: { name, start, end? } from the run, from the moment it began injecting to the
 * moment it had undone it; a restart on a loaded machine can take seconds past the window).
 */
export function judgedWindows(schedule, actual) {
  return {
    windows: [
      ...schedule.windows.filter((w) => w.fault && !SERVER_FAULTS.has(w.name)),
      ...actual.map((a) => ({
        name: a.name,
        fault: true,
        start: a.start,
        end: a.end ?? Number.POSITIVE_INFINITY,
      })),
    ],
  }
}

/** Which upstream service a request kind goes to. */
export const SERVICE_OF = {
  items: 'catalog',
  item: 'catalog',
  large: 'catalog',
  report: 'catalog',
  burst: 'catalog',
  order: 'orders',
  upload: 'orders',
  ping: 'slow',
  sse: 'stream',
  ws: 'stream',
  unauth: 'catalog',
  metrics: 'gateway',
}

const REFUSALS = new Set(['GH_GATEWAY_CONCURRENCY_LIMIT', 'GH_ROUTE_CONCURRENCY_LIMIT'])
/** Socket errors a client sees when the upstream sending its response died mid-body. */
const CUT = /UND_ERR_SOCKET|ECONNRESET|terminated|other side closed|EPIPE|closed before/i

/**
 * Whether an answer is what a client may see at `t` under the faults then, and why.
 * `r`: { kind, t, tEnd, status?, code?, retryAfter?, error? } (times in ms from the start). Returns { ok, expected, why }:
 * ok (a normal answer), expected (a failure the fault explains), or neither (unexpected).
 */
export function classify(schedule, r) {
  if (r.kind === 'unauth')
    return r.status === 401 && r.code === 'GH_JWT_MISSING'
      ? { ok: true }
      : { why: 'a request without a token must get 401 GH_JWT_MISSING' }
  if (r.error === undefined && r.status !== undefined && r.status < 400) return { ok: true }
  const faults = faultsDuring(schedule, r.t, r.tEnd)
  const service = SERVICE_OF[r.kind]
  const status = r.status
  const code = r.code
  if (status === 503 && r.retryAfter === undefined) return { why: `503 ${code} without Retry-After` }
  if (faults.has('burst') && status === 503 && REFUSALS.has(code))
    return { expected: true, why: `burst above maxInflight: 503 ${code}` }
  if (service === 'catalog' && faults.has('all-targets-down')) {
    if (
      (status === 503 && code === 'GH_UPSTREAM_UNAVAILABLE') ||
      (status === 502 && code === 'GH_UPSTREAM_UNREACHABLE')
    )
      return { expected: true, why: `every catalog target down: ${status} ${code}` }
    if (r.error !== undefined && CUT.test(r.error))
      return { expected: true, why: 'a catalog target was killed while it sent this response' }
  }
  if (service === 'catalog' && faults.has('target-down') && r.error !== undefined && CUT.test(r.error))
    return { expected: true, why: 'a catalog target was killed while it sent this response' }
  if (service === 'slow' && faults.has('upstream-stall')) {
    if (status === 504 && code === 'GH_UPSTREAM_TIMEOUT')
      return { expected: true, why: 'the slow upstream stalls: 504 after the read timeout' }
    if (status === 502 && code === 'GH_UPSTREAM_UNREACHABLE')
      return { expected: true, why: 'a held request was reset when the stall ended: 502' }
  }
  if (service === 'orders' && faults.has('redis-down') && status === 503 && code === 'GH_STORE_UNAVAILABLE')
    return { expected: true, why: 'Redis down, the orders rate limit fails closed: 503' }
  return { why: r.error !== undefined ? `client error ${r.error}` : `${status} ${code ?? ''}`.trim() }
}
