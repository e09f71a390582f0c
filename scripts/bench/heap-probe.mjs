// Preloaded into each proxy by scripts/bench/heap.mjs (`node --expose-gc --import <this> <proxy>`):
// counts the proxy's garbage collections by kind and answers the driver's questions over the IPC
// channel, so every proxy is measured by the same code whatever it is built on. Load barely moves
// these figures: they are counts and sizes, not timings.
//   { cmd: 'reset' }              zero the GC counters (after the warm-up)
//   { cmd: 'sample', gc: bool }   reply with the counters, CPU used, memory, and (gc: true) the heap
//                                 after two forced full collections, which the counters do not include
import { constants, PerformanceObserver } from 'node:perf_hooks'
import { setTimeout as sleep } from 'node:timers/promises'

const KINDS = {
  [constants.NODE_PERFORMANCE_GC_MINOR]: 'scavenge',
  [constants.NODE_PERFORMANCE_GC_MAJOR]: 'markCompact',
  [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental',
  [constants.NODE_PERFORMANCE_GC_WEAKCB]: 'weakCallbacks',
}
let counts
function reset() {
  counts = { scavenge: 0, markCompact: 0, incremental: 0, weakCallbacks: 0, gcMs: 0, markCompactMs: 0 }
}
reset()
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) {
    const kind = KINDS[entry.detail?.kind] ?? 'other'
    counts[kind] = (counts[kind] ?? 0) + 1
    counts.gcMs += entry.duration
    if (kind === 'markCompact') counts.markCompactMs += entry.duration
  }
}).observe({ entryTypes: ['gc'] })

const MiB = 2 ** 20
function memory() {
  const m = process.memoryUsage()
  return {
    heapUsedMiB: m.heapUsed / MiB,
    heapTotalMiB: m.heapTotal / MiB,
    externalMiB: m.external / MiB,
    arrayBuffersMiB: m.arrayBuffers / MiB,
    rssMiB: m.rss / MiB,
  }
}

if (process.send) {
  process.on('message', async (msg) => {
    if (msg?.cmd === 'reset') {
      // Entries of collections already done arrive in a later turn: let them land, then zero.
      await sleep(50)
      reset()
      process.send({ ok: true })
    } else if (msg?.cmd === 'sample') {
      await sleep(50)
      const gcs = { ...counts }
      const usage = process.resourceUsage()
      const before = memory()
      let after
      if (msg.gc && typeof globalThis.gc === 'function') {
        globalThis.gc()
        globalThis.gc()
        after = memory()
      }
      process.send({
        gcs,
        cpuMs: (usage.userCPUTime + usage.systemCPUTime) / 1000,
        peakRssMiB: usage.maxRSS / 1024,
        memory: before,
        afterGc: after,
      })
    }
  })
  // The channel must not keep a proxy alive that would otherwise exit.
  process.channel?.unref()
}
