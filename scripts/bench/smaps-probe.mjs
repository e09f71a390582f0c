// Where a proxy's RSS is (issue 18): preload it into any Node proxy,
//   SMAPS_OUT=/tmp/gw.json node --import ./scripts/bench/smaps-probe.mjs examples/bench-gateway.js
// Every 50 ms it reads /proc/self/smaps and process.memoryUsage(), and keeps the sample with the
// highest RSS; on exit (or SIGUSR2) it writes that sample and the last one to SMAPS_OUT as JSON, in MiB:
//   heap        the main malloc arena ([heap], grown with brk: the main thread's socket buffers)
//   arenas      other threads' malloc arenas (anonymous, 64 MiB-aligned, in glibc's mmap area)
//   anon        every other anonymous mapping: V8's pages, malloc blocks above the mmap threshold, stacks
//   file        the node binary and shared libraries
// with V8's own figures next to them (heapTotal, arrayBuffers, the young generation's pages). Linux
// only; the arena test assumes x86-64's layout (glibc maps arenas high, next to the libraries).
import { readFileSync, writeFileSync } from 'node:fs'
import v8 from 'node:v8'

const OUT = process.env.SMAPS_OUT
const MiB = 2 ** 20
const ARENA = 64 * MiB
const mib = (n) => Math.round((n / MiB) * 10) / 10

function smaps() {
  const maps = []
  let cur
  for (const line of readFileSync('/proc/self/smaps', 'utf8').split('\n')) {
    const m = /^([0-9a-f]+)-([0-9a-f]+) (\S+) \S+ \S+ \S+\s*(.*)$/.exec(line)
    if (m) {
      cur = { start: Number.parseInt(m[1], 16), perm: m[3], name: m[4], rss: 0 }
      maps.push(cur)
    } else if (cur && line.startsWith('Rss:')) cur.rss = Number(/(\d+)/.exec(line)[1]) * 1024
  }
  const out = { heap: 0, arenas: 0, anon: 0, file: 0, other: 0 }
  for (const x of maps) {
    if (x.name === '[heap]') out.heap += x.rss
    else if (x.name === '') {
      const arena = x.start >= 0x7e0000000000 && x.start % ARENA === 0 && x.perm.startsWith('rw')
      out[arena ? 'arenas' : 'anon'] += x.rss
    } else if (x.name.startsWith('/')) out.file += x.rss
    else out.other += x.rss
  }
  for (const k of Object.keys(out)) out[k] = mib(out[k])
  return out
}

function sample() {
  const m = process.memoryUsage()
  const young = v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')
  return {
    rss: mib(m.rss),
    ...smaps(),
    heapTotal: mib(m.heapTotal),
    arrayBuffers: mib(m.arrayBuffers),
    youngGeneration: mib(young?.physical_space_size ?? 0),
  }
}

let peak
setInterval(() => {
  const s = sample()
  if (!peak || s.rss > peak.rss) peak = s
}, 50).unref()
function write() {
  if (OUT) writeFileSync(OUT, `${JSON.stringify({ peak, last: sample() }, null, 2)}\n`)
}
process.on('SIGUSR2', write)
process.on('exit', write)
