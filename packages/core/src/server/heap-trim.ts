import { closeSync, openSync, writeSync } from 'node:fs'
import { devNull } from 'node:os'

/**
 * Large bodies and glibc's heap trimming (issue 18; docs/benchmarks.md, "Where the extra CPU at
 * 10 MiB went"). Every socket read is a fresh 64 KiB buffer that glibc's malloc serves from its heap.
 * When a burst of them is freed, the free space at the heap's top passes glibc's trim threshold
 * (128 KiB until the process frees a larger mmapped block) and is handed back to the kernel, so the
 * next reads fault their pages in again, zeroed: about one minor page fault per 4 KiB proxied, which
 * was most of the CPU a 10 MiB response cost, and why it swung from one process to the next.
 *
 * glibc raises its thresholds itself once a block above them is freed (`M_MMAP_THRESHOLD` becomes
 * that block's size, `M_TRIM_THRESHOLD` twice it), so one 8 MiB allocation, freed at once, keeps up
 * to 16 MiB of freed heap in the process for reuse. Node copies a string it writes into such a block
 * and frees it on return: that is the allocation made here, once per process. Elsewhere (musl, other
 * systems) it is a harmless 8 MiB write to the null device. `GLIBC_TUNABLES` with
 * `glibc.malloc.trim_threshold` set does the same from outside.
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
