import { startGateway, startUpstream } from '@gatehousejs/sdk/testing'
import t from 'tap'
import rateLimit from '../src/index.js'
import { createMemoryStore } from '../src/memory-store.js'
import { decide, windowsOf } from '../src/windows.js'
import { burst, routeConfig, statuses } from './fixtures/helpers.js'

// The counting rules, driven with a chosen clock: fixed windows forget at the boundary, sliding
// windows carry the previous window's count in proportion to the overlap.

const MINUTE = 60_000
const T0 = 1_700_000_040_000 // a minute boundary

function run(sliding: boolean, limit: number, times: number[]) {
  const windows = windowsOf({ minute: limit }, [])
  const store = createMemoryStore(windows, sliding, 100)
  return times.map((now) => decide(windows, store.hit('k', now), now, sliding))
}

t.test('fixed: the whole limit again right after the boundary', async (t) => {
  const times = [...Array(5).fill(T0 + 50_000), ...Array(5).fill(T0 + MINUTE + 1_000)]
  const d = run(false, 5, times)
  t.same(
    d.map((x) => x.allowed),
    [true, true, true, true, true, true, true, true, true, true],
  )
  const refused = run(false, 5, [...Array(6).fill(T0 + 50_000)]).at(-1)
  t.equal(refused?.allowed, false)
  t.equal(refused?.retryAfter, 10, 'Retry-After: the 10 s left in the minute')
})

t.test('sliding: the previous window still counts for the part that overlaps', async (t) => {
  // 10 requests late in one minute, then 15 s into the next: 45/60 of the previous 10 still count (7.5 → 7).
  const times = [...Array(10).fill(T0 + 59_000), ...Array(4).fill(T0 + MINUTE + 15_000)]
  const d = run(true, 10, times)
  t.same(
    d.slice(10).map((x) => x.allowed),
    [true, true, true, false],
    'only 3 more: 7 carried + 3 = 10',
  )
  const refused = d.at(-1)!
  t.equal(refused.windows[0]?.remaining, 0)
  // 7 + 3 used; room for one more once 3 + ⌊10 × (60 − e)/60⌋ < 10, i.e. e > 18 s: 3 s (and a ms) from now.
  t.equal(refused.retryAfter, 4)
})

t.test('sliding: two windows back is forgotten entirely', async (t) => {
  const times = [...Array(10).fill(T0 + 59_000), ...Array(10).fill(T0 + 2 * MINUTE + 1_000)]
  t.ok(run(true, 10, times).every((x) => x.allowed))
})

t.test('sliding: once this window alone is full, wait for its end plus the decay', async (t) => {
  const times = Array(11).fill(T0 + 30_000)
  const refused = run(true, 10, times).at(-1)!
  t.equal(refused.allowed, false)
  // 30 s to the end, then ⌊10 × (60 − e)/60⌋ < 10 needs e > 0: about 30 s.
  t.ok(refused.retryAfter >= 30 && refused.retryAfter <= 31, `Retry-After ${refused.retryAfter}`)
})

t.test('the memory store is bounded: the least recently used key is forgotten', async (t) => {
  const windows = windowsOf({ hour: 1 }, [])
  const store = createMemoryStore(windows, false, 2)
  const now = T0
  t.equal(store.hit('a', now).allowed, true)
  t.equal(store.hit('b', now).allowed, true)
  t.equal(store.hit('a', now).allowed, false, 'a is at its limit')
  t.equal(store.hit('c', now).allowed, true, 'c pushes out b, the least recently used')
  t.equal(store.hit('a', now).allowed, false, 'a was used recently and is still counted')
  t.equal(store.hit('b', now).allowed, true, 'b was forgotten')
})

t.test('algorithm sliding through the gateway: exact on one node, with the same headers', async (t) => {
  const upstream = await startUpstream({ t })
  const gw = await startGateway({
    t,
    plugins: [rateLimit],
    config: routeConfig(upstream.url, { limits: { day: 4 }, algorithm: 'sliding' }),
  })
  const responses = await burst(gw, 20)
  t.same(statuses(responses), { 200: 4, 429: 16 })
  t.equal(upstream.requests.length, 4)
  const refused = responses.find((r) => r.status === 429)
  t.equal(refused?.json().code, 'GH_RATE_LIMITED')
  t.ok(Number(refused?.headers['retry-after']) >= 1)
  t.equal(refused?.headers['x-ratelimit-remaining-day'], '0')
})
