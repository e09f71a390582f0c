import { closeSync, openSync, writeSync } from 'node:fs'
import { devNull } from 'node:os'

/**
 * Large bodies and glibc's heap trimming (issue 18; docs/benchmarks.md, "Where the extra CPU at
 * 10 MiB went" and "The block size"). Every socket read is a fresh 64 KiB buffer that glibc's malloc
 * serves from its heap, freed only when V8 collects the Buffer: one sweep frees many at once. When
 * they merge into free space at the heap's top larger than glibc's trim threshold (128 KiB until the
 * process frees a larger mmapped block), glibc hands all of it back to the kernel, so the next reads
 * fault their pages in again, zeroed: about one minor page fault per 4 KiB proxied, which was most of
 * the CPU a 10 MiB response cost, and why it swung from one process to the next.
 *
 * glibc raises its thresholds itself once a block above them is freed (`M_MMAP_THRESHOLD` becomes
 * that block's size, `M_TRIM_THRESHOLD` twice it). Node copies a string it writes into such a block
 * and frees it on return: that is the allocation made here, once per process. Elsewhere (musl, other
 * systems) it is a harmless write to the null device. `GLIBC_TUNABLES` with
 * `glibc.malloc.trim_threshold` set does the same from outside.
 *
 * The thresholds are process-wide, so they also hold for the malloc arenas of V8's worker threads.
 * One of them compiles undici's HTTP parser (WebAssembly) with TurboFan once the gateway is under
 * load, and keeps up to the trim threshold of that compiler's freed memory, plus what the higher mmap
 * threshold brings into its arena: 30-35 MiB of peak RSS with this 8 MiB block, which is what puts
 * the gateway above the Fastify proxy's peak RSS. A 4 MiB block keeps 5-8 MiB there (peak RSS at the
 * Fastify proxy's) but lets more of what one collection frees be trimmed while 10 MiB bodies stream
 * to many clients (4-34% more CPU at 10 MiB); 2 MiB lets it be trimmed again (500-1,600 faults per
 * response). The same 8 MiB block freed after the parser's tier-up would meet both; see
 * docs/benchmarks.md, "The block size: where the peak RSS goes".
 */
const BLOCK = 8 * 1024 * 1024
let done = false

export function keepFreedHeap(): void {
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
