import t from 'tap'
import { setup, until } from './helpers/setup.js'

// Request coalescing: concurrent misses for one key make one upstream request.

t.test('100 concurrent misses make 1 upstream request; all get the response', async (t) => {
  const s = await setup(
    t,
    {},
    { headers: { 'cache-control': 'max-age=60' }, body: 'shared body', delay: 300 },
  )
  const all = await Promise.all(Array.from({ length: 100 }, () => s.get('/hot')))
  t.equal(s.upstream.requests.length, 1)
  t.ok(all.every((r) => r.status === 200 && r.text === 'shared body'))
  const statuses = all.map((r) => r.headers['cache-status'])
  t.equal(
    statuses.filter((c) => c === 'gatehouse; fwd=uri-miss; fwd-status=200; stored').length,
    1,
    'one leader',
  )
  t.equal(
    all.filter((r) => r.headers['x-cache-status'] === 'Hit').length,
    99,
    'the 99 others were answered from the cache',
  )
  // Most arrive while the leader waits on the upstream (a few may arrive after it stored the response).
  t.ok(
    statuses.filter((c) => c === 'gatehouse; hit; detail=coalesced').length > 0,
    'requests waited for the leader',
  )
})

t.test('different keys are not coalesced', async (t) => {
  const s = await setup(t, {}, { headers: { 'cache-control': 'max-age=60' }, delay: 100 })
  await Promise.all([s.get('/a'), s.get('/b'), s.get('/c')])
  t.equal(s.upstream.requests.length, 3)
})

t.test('when the leader’s response cannot be stored, the waiters ask the upstream themselves', async (t) => {
  const s = await setup(t, {}, { headers: { 'cache-control': 'no-store' }, delay: 100 })
  const all = await Promise.all(Array.from({ length: 5 }, () => s.get('/private')))
  t.ok(all.every((r) => r.status === 200))
  t.equal(s.upstream.requests.length, 5)
})

t.test('the wait is bounded: after coalesceTimeout waiters go to the upstream', async (t) => {
  // The leader's upstream answer is held until the waiter has been served, however slow the machine.
  let release!: () => void
  const held = new Promise<void>((resolve) => {
    release = resolve
  })
  const s = await setup(t, { coalesceTimeout: '100ms' }, async (_req, n) => {
    if (n === 1) await held
    return { headers: { 'cache-control': 'max-age=60' } }
  })
  const started = Date.now()
  const leader = s.get('/slow')
  await until(async () => (s.upstream.requests.length === 1 ? true : undefined))
  const second = await s.get('/slow')
  t.equal(second.status, 200)
  // The bound runs from the leader's start: a waiter waits what is left of it.
  const waited = Date.now() - started
  t.ok(waited >= 100, `the waiter was answered coalesceTimeout after the leader began (${waited} ms)`)
  t.equal(s.upstream.requests.length, 2, 'the waiter gave up waiting and asked itself')
  release()
  t.equal((await leader).status, 200)
})

t.test('coalesce: false sends every miss upstream', async (t) => {
  const s = await setup(t, { coalesce: false }, { headers: { 'cache-control': 'max-age=60' }, delay: 100 })
  await Promise.all(Array.from({ length: 5 }, () => s.get('/hot')))
  t.equal(s.upstream.requests.length, 5)
})

t.test('an upstream failure releases the waiters', async (t) => {
  const s = await setup(t, {}, (_req, n) =>
    n === 1 ? { status: 503, delay: 100 } : { headers: { 'cache-control': 'max-age=60' } },
  )
  const all = await Promise.all(Array.from({ length: 5 }, () => s.get('/flaky')))
  t.equal(all.filter((r) => r.status === 503).length, 1)
  t.equal(all.filter((r) => r.status === 200).length, 4, 'the others were answered once released')
})
