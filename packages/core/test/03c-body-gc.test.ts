/**
 * Issue 18: socket buffers die young, and the gateway collects them (server/body-gc.ts). Every socket
 * read is a fresh buffer outside V8's heap that only its small handle ties to the young generation,
 * so V8 alone frees a proxy's dead buffers late, and its heap held 65-100 MiB of them streaming 1-10
 * MiB bodies (docs/benchmarks.md). A gateway therefore asks V8 for a young-generation collection
 * every `GATEHOUSE_BODY_GC_EVERY` bytes of upstream body (default 8 MiB).
 *
 * What RSS that saves depends on the machine and is measured by scripts/bench/bodies.mjs, not here.
 * These tests check the mechanism, which does not: a gateway in a process of its own proxies a known
 * number of bytes, and a `PerformanceObserver` counts the forced young-generation collections; the
 * bodies arrive intact; V8's `gc` function is not left where code could reach it; a bad value fails
 * `listen()` naming the variable.
 */

import t, { type Test } from 'tap'
import { refusedByListen, runProbe } from './helpers/probe.js'

const MiB = 1024 * 1024

interface Probe {
  /** Forced young-generation collections seen while the bodies were proxied. */
  forced: number
  /** Responses with status 200 and every byte as sent. */
  intact: number
  /** `typeof gc` in the main context, and in a vm context made after `listen()`. */
  gcGlobal: string
  gcInNewContext: string
}

/**
 * Runs a gateway in a process of its own (with `env` and `nodeArgs`), in front of an upstream that
 * sends `responses` bodies of `size` bytes in 64 KiB writes, fetched one after the other. With
 * `upload`, the bodies go the other way: the client sends them in 64 KiB writes, and the upstream
 * reads each one through and answers whether it came intact.
 */
async function probe(
  t: Test,
  env: Record<string, string>,
  responses: number,
  size: number,
  nodeArgs: string[] = [],
  upload = false,
): Promise<Probe> {
  const script = `
    import http from 'node:http'
    import vm from 'node:vm'
    import { once } from 'node:events'
    import { PerformanceObserver, constants } from 'node:perf_hooks'
    import { setTimeout as sleep } from 'node:timers/promises'
    const { createGateway } = await import('@gatehousejs/core')
    const size = ${size}
    const chunk = Buffer.alloc(65536, 'g')
    const upload = ${upload}
    const upstream = http.createServer(async (req, res) => {
      if (upload) {
        let bytes = 0
        let same = true
        for await (const part of req) {
          bytes += part.length
          if (same && part.some((b) => b !== 0x67)) same = false
        }
        res.end(bytes === size && same ? 'intact' : 'damaged')
        return
      }
      res.writeHead(200, { 'content-length': size })
      for (let sent = 0; sent < size; sent += chunk.length) {
        if (!res.write(chunk.subarray(0, Math.min(chunk.length, size - sent)))) await once(res, 'drain')
      }
      res.end()
    }).listen(0, '127.0.0.1')
    await once(upstream, 'listening')
    const gw = await createGateway({ services: [{ name: 'o', url: 'http://127.0.0.1:' + upstream.address().port, routes: [{ paths: ['/'] }] }] }, { logger: false, handleSignals: false })
    const url = await gw.listen({ port: 0, host: '127.0.0.1' })
    let forced = 0
    const observer = new PerformanceObserver((list) => {
      for (const e of list.getEntries()) {
        if (e.detail.kind === constants.NODE_PERFORMANCE_GC_MINOR && (e.detail.flags & constants.NODE_PERFORMANCE_GC_FLAGS_FORCED)) forced++
      }
    })
    observer.observe({ entryTypes: ['gc'] })
    const agent = new http.Agent({ keepAlive: true })
    let intact = 0
    for (let i = 0; i < ${responses} && upload; i++) {
      const req = http.request(url + '/', { method: 'POST', agent, headers: { 'content-length': size } })
      for (let sent = 0; sent < size; sent += chunk.length) {
        if (!req.write(chunk.subarray(0, Math.min(chunk.length, size - sent)))) await once(req, 'drain')
      }
      req.end()
      const [res] = await once(req, 'response')
      let text = ''
      for await (const part of res) text += part
      if (res.statusCode === 200 && text === 'intact') intact++
    }
    for (let i = 0; i < ${responses} && !upload; i++) {
      const [res] = await once(http.get(url + '/', { agent }), 'response')
      let bytes = 0
      let same = true
      for await (const part of res) {
        bytes += part.length
        if (same && part.some((b) => b !== 0x67)) same = false
      }
      if (res.statusCode === 200 && bytes === size && same) intact++
    }
    // Entries reach the observer after the collection, from a task of their own.
    await sleep(100)
    observer.disconnect()
    agent.destroy()
    console.log(JSON.stringify({ forced, intact, gcGlobal: typeof globalThis.gc, gcInNewContext: vm.runInNewContext('typeof gc') }))
    await gw.close()
    upstream.close()
  `
  return runProbe<Probe>(t, script, { env, nodeArgs })
}

t.test(
  'a gateway collects its young generation once per GATEHOUSE_BODY_GC_EVERY of upstream body',
  async (t) => {
    // 16 responses of 1 MiB: 16 MiB read, whole intervals each time (a read that runs past the end of
    // one counts the rest towards the next, so reads of any size make the same count).
    const cases = [
      { every: '', expected: 2, what: 'unset: every 8 MiB' },
      { every: '2mb', expected: 8, what: '"2mb": every 2 MiB' },
      { every: '1048576', expected: 16, what: '"1048576": every MiB' },
    ]
    for (const { every, expected, what } of cases) {
      const r = await probe(t, { GATEHOUSE_BODY_GC_EVERY: every }, 16, MiB)
      t.equal(r.intact, 16, `${what}: 16 bodies of 1 MiB arrive intact`)
      t.equal(r.forced, expected, `${what}: ${expected} forced young-generation collections for 16 MiB`)
    }
  },
)

t.test('the client bodies it sends upstream count too', async (t) => {
  // A proxied upload leaves the same garbage: each piece is a buffer copied out of the client's socket.
  const cases = [
    { every: '', expected: 2, what: 'unset: every 8 MiB' },
    { every: '1048576', expected: 16, what: '"1048576": every MiB' },
  ]
  for (const { every, expected, what } of cases) {
    const r = await probe(t, { GATEHOUSE_BODY_GC_EVERY: every }, 16, MiB, [], true)
    t.equal(r.intact, 16, `${what}: 16 uploads of 1 MiB reach the upstream intact`)
    t.equal(r.forced, expected, `${what}: ${expected} forced young-generation collections for 16 MiB sent`)
  }
})

t.test('with "off", or for small bodies, V8 alone decides', async (t) => {
  const off = await probe(t, { GATEHOUSE_BODY_GC_EVERY: 'off' }, 16, MiB)
  t.equal(off.intact, 16, 'off: the bodies arrive intact')
  t.equal(off.forced, 0, 'off: no forced collection for 16 MiB')
  // 200 responses of 4 KiB are 800 KiB: under the default 8 MiB.
  const small = await probe(t, { GATEHOUSE_BODY_GC_EVERY: '' }, 200, 4096)
  t.equal(small.intact, 200, 'small bodies arrive intact')
  t.equal(small.forced, 0, 'no forced collection for 800 KiB of small bodies')
})

t.test("V8's gc function is not left reachable, and one exposed on purpose stays", async (t) => {
  const r = await probe(t, { GATEHOUSE_BODY_GC_EVERY: '' }, 8, MiB)
  t.equal(r.gcGlobal, 'undefined', 'the main context has no gc global')
  t.equal(r.gcInNewContext, 'undefined', 'a vm context made after listen() has none either')
  t.equal(r.forced, 1, 'and the gateway still collects (8 MiB read, one collection)')
  const exposed = await probe(t, { GATEHOUSE_BODY_GC_EVERY: '1mb' }, 4, MiB, ['--expose-gc'])
  t.equal(exposed.gcGlobal, 'function', 'with --expose-gc, the global gc stays')
  t.equal(exposed.gcInNewContext, 'function', 'and new contexts still get it')
  t.equal(exposed.forced, 4, 'the gateway collects through it (4 MiB read, every MiB)')
})

t.test('a bad GATEHOUSE_BODY_GC_EVERY fails listen() with a message naming it', (t) =>
  refusedByListen(
    t,
    'GATEHOUSE_BODY_GC_EVERY',
    ['soon', '0', '1kb', '-4mb', '4 megabytes', 'on'],
    (bad) =>
      new RegExp(`GATEHOUSE_BODY_GC_EVERY must be a size of at least 64kb .* got ${JSON.stringify(bad)}`),
  ),
)
