import { once } from 'node:events'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import t from 'tap'
import { request, WaitTimeoutError, waitFor } from '../src/testing/index.js'

t.test('resolves to the first value that is not undefined, null or false', async (t) => {
  let calls = 0
  const values = [undefined, null, false, 0, 'late']
  const got = await waitFor('a value', () => values[calls++], { interval: 1 })
  t.equal(got, 0, '0 is a value: only undefined, null and false mean "not yet"')
  t.equal(calls, 4)
})

t.test('a check that throws is retried; an async check is awaited', async (t) => {
  let calls = 0
  const got = await waitFor(
    'the third call',
    async () => {
      calls++
      if (calls < 3) throw new Error('not yet')
      return { calls }
    },
    { interval: 1 },
  )
  t.same(got, { calls: 3 })
})

t.test('waits for a real server to start answering', async (t) => {
  // Reserve a port, then free it: the first checks are refused (they throw), then the server listens.
  const probe = createServer().listen(0, '127.0.0.1')
  await once(probe, 'listening')
  const { port } = probe.address() as AddressInfo
  probe.close()
  await once(probe, 'close')
  const url = `http://127.0.0.1:${port}`
  let refused = 0
  const server = createServer((_req, res) => res.end('up'))
  t.teardown(() => server.close())
  const answered = waitFor('the server to answer', async () => {
    try {
      return (await request(url, { timeout: 2000 })).text
    } catch (err) {
      refused++
      throw err
    }
  })
  // Listen only once a check has been refused.
  await waitFor('a refused check', () => refused > 0)
  server.listen(port, '127.0.0.1')
  t.equal(await answered, 'up')
})

t.test('times out with what it waited for and the last check', async (t) => {
  const started = Date.now()
  const err = await waitFor('the moon', () => false, { timeout: 50, interval: 5 }).catch((e: unknown) => e)
  t.ok(err instanceof WaitTimeoutError)
  t.equal((err as Error).name, 'WaitTimeoutError')
  t.equal((err as Error).message, 'timed out after 50 ms waiting for the moon; the last check returned false')
  t.equal((err as WaitTimeoutError).last, false)
  t.ok(Date.now() - started >= 50, 'not before the timeout')

  const cause = new Error('ECONNREFUSED')
  const thrown = await waitFor(
    'the upstream',
    () => {
      throw cause
    },
    { timeout: 0 },
  ).catch((e: unknown) => e as WaitTimeoutError)
  t.equal(
    thrown.message,
    'timed out after 0 ms waiting for the upstream; the last check threw: Error: ECONNREFUSED',
  )
  t.equal(thrown.cause, cause, 'the last error is the cause')
  t.equal(thrown.last, cause)
})

t.test('timeout 0 still checks once', async (t) => {
  t.equal(await waitFor('now', () => 'ready', { timeout: 0 }), 'ready')
})

t.test('rejects a negative or non-numeric timeout or interval', async (t) => {
  await t.rejects(
    waitFor('x', () => true, { timeout: -1 }),
    RangeError,
  )
  await t.rejects(
    waitFor('x', () => true, { interval: Number.NaN }),
    RangeError,
  )
})
