import { closeSync, openSync, writeSync } from 'node:fs'
import { devNull } from 'node:os'

/**
 * Large bodies and glibc's heap trimming (issue 18; docs/benchmarks.md, "Large bodies and glibc's
 * heap trimming" and "When the block is freed"). Every socket read is a fresh 64 KiB buffer that
 * glibc's malloc serves from its heap, freed only when V8 collects the Buffer: one sweep frees many at
 * once. When they merge into free space at the heap's top larger than glibc's trim threshold (128 KiB
 * until the process frees a larger mmapped block), glibc hands all of it back to the kernel, so the
 * next reads fault their pages in again, zeroed: about one minor page fault per 4 KiB proxied, which
 * was most of the CPU a 10 MiB response cost, and why it swung from one process to the next.
 *
 * glibc raises its thresholds itself once a block above them is freed (`M_MMAP_THRESHOLD` becomes
 * that block's size, `M_TRIM_THRESHOLD` twice it). Node copies a string it writes into such a block
 * and frees it on return: that is the allocation made here, once per process. Elsewhere (musl, other
 * systems) it is a harmless write to the null device. `GLIBC_TUNABLES` with
 * `glibc.malloc.trim_threshold` set does the same from outside.
 *
 * When: after the gateway has handled a number of upstream reads (response heads and body reads, one
 * llhttp parse each), not at `listen()`. The thresholds are process-wide, so they hold for the malloc
 * arenas of V8's worker threads too, and one of them compiles undici's HTTP parser (WebAssembly) with
 * TurboFan once that parser is hot: raised before that compile, they kept 30-35 MiB of its scratch
 * memory in the worker's arena for the life of the process, which put the gateway's peak RSS above
 * the Fastify proxy's. The parser tiers up after a budget of work spent parsing, so a count of parses
 * tracks it whatever the body size: that thread's arena had reached its size within the first 900
 * reads at 100 B (two reads per response) and 1,300 at 10 MiB (161 per response), eight requests
 * at a time; 20,000 leaves a wide margin and is a few seconds of load. Until the count is reached
 * the process trims as glibc does by default; reached, the block is freed once.
 *
 * `GATEHOUSE_HEAP_KEEP_AFTER` sets the count: a whole number of upstream reads (default 20000), `0`
 * for at the first `listen()`, `off` for never.
 */
const BLOCK = 8 * 1024 * 1024
const DEFAULT_READS = 20_000
const ENV = 'GATEHOUSE_HEAP_KEEP_AFTER'

let done = false
/** Upstream reads left before the block is freed; 0 once armed at listen, disabled, or done. */
let countdown = 0
let armed = false

/** The configured count: a whole number of reads, or `undefined` for `off`. Throws on anything else. */
function readsBeforeKeeping(): number | undefined {
  const value = process.env[ENV]
  if (value === undefined || value === '') return DEFAULT_READS
  if (value === 'off') return undefined
  if (!/^\d{1,9}$/.test(value)) {
    throw new TypeError(
      `${ENV} must be a whole number of upstream reads (0 to 999999999) or "off", got ${JSON.stringify(value)}`,
    )
  }
  return Number(value)
}

/**
 * Called by every `listen()`, which it fails on a bad `GATEHOUSE_HEAP_KEEP_AFTER`. The first one frees
 * the block now (count 0), arms the countdown, or does nothing (`off`).
 */
export function armHeapKeeping(): void {
  const reads = readsBeforeKeeping()
  if (armed) return
  armed = true
  if (reads === undefined) return
  if (reads === 0) keepFreedHeap()
  else countdown = reads
}

/** One upstream read parsed (a response head or a body read): counts down to freeing the block. */
export function upstreamRead(): void {
  if (countdown !== 0 && --countdown === 0) keepFreedHeap()
}

function keepFreedHeap(): void {
  if (done || process.platform !== 'linux') return
  done = true
  let fd: number | undefined
  try {
    fd = openSync(devNull, 'w')
    writeSync(fd, 'x'.repeat(BLOCK))
  } catch {
    // Only a cost saving: a process that cannot open the null device runs as before.
  } finally {
    if (fd !== undefined) closeSync(fd)
  }
}
