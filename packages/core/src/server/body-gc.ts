import v8 from 'node:v8'
import vm from 'node:vm'
import { parseSize } from '@gatehousejs/sdk/host'

/**
 * Large bodies and V8's collector (issue 18; docs/benchmarks.md, "Socket buffers and V8's young
 * generation"). Every socket read is a fresh buffer of up to 64 KiB outside V8's heap. Proxied, it is
 * garbage as soon as the client's socket has taken it, but only its small JS handle counts towards
 * the young generation, so V8 frees it late, on its external-memory limits. Streaming 10 MiB bodies
 * (`--trace-gc`), it scavenged for "external memory pressure" about every 50 MiB read, and ran a 5 ms
 * full (mark-compact) collection every 55 ms; the gateway's malloc heap held 65-100 MiB of dead
 * buffers at its peak.
 *
 * So the gateway collects its young generation itself once every `GATEHOUSE_BODY_GC_EVERY` bytes of
 * body it has proxied (default 8 MiB): response bodies read from upstreams, and request bodies sent
 * to them, whose pieces are buffers Node's parser copied out of the client's socket (10 MiB uploads:
 * peak RSS 121-123 MiB against 161-195 uncounted). A scavenge costs about a millisecond when what is young
 * is mostly dead, as proxied buffers are; the buffers it frees are reused by the next reads
 * (heap-trim.ts keeps them in the heap), and hardly any reach the old generation, so full collections
 * become rare. Measured: 50-85 MiB less peak RSS from 64 KiB bodies up, CPU within a few percent
 * (docs/benchmarks.md). Small responses hardly count towards the interval, so they see V8's own
 * scavenges only.
 *
 * The collector is reached through V8's `gc` extension, installed in a fresh context while the flag
 * is set and unset again at once: the main context gets no `gc` global, and contexts made later get
 * none either. A process started with `--expose-gc` already has it and keeps it.
 *
 * `GATEHOUSE_BODY_GC_EVERY` is a size (`4mb`, `8MiB`, `1048576`; at least 64 KiB) or `off` for V8's
 * own heuristics alone.
 */
const ENV = 'GATEHOUSE_BODY_GC_EVERY'
const DEFAULT_EVERY = 8 * 1024 * 1024
const MIN_EVERY = 64 * 1024

type Collect = (options: { type: 'minor' }) => void

let armed = false
/** Bytes between two collections; 0 until armed, or when disabled. */
let every = 0
/** Bytes left before the next collection. */
let left = 0
let collect: Collect | undefined

/** The configured interval in bytes, or `undefined` for `off`. Throws on anything else. */
function bytesBetweenCollections(): number | undefined {
  const value = process.env[ENV]
  if (value === undefined || value === '') return DEFAULT_EVERY
  if (value === 'off') return undefined
  let bytes: number | undefined
  try {
    bytes = parseSize(value)
  } catch {
    bytes = undefined
  }
  if (bytes === undefined || bytes < MIN_EVERY) {
    throw new TypeError(
      `${ENV} must be a size of at least 64kb (e.g. "4mb", "8MiB", 4194304) or "off", got ${JSON.stringify(value)}`,
    )
  }
  return bytes
}

/**
 * Called by every `listen()`, which it fails on a bad `GATEHOUSE_BODY_GC_EVERY`. The first one reaches
 * V8's collector and starts counting, unless `off`.
 */
export function armBodyCollection(): void {
  const bytes = bytesBetweenCollections()
  if (armed) return
  armed = true
  if (bytes === undefined) return
  collect = youngCollector()
  if (collect === undefined) return
  every = bytes
  left = bytes
}

/** `bytes` of body proxied (read or sent): a young-generation collection each time the interval is used up. */
export function bodyProxied(bytes: number): void {
  if (every === 0) return
  left -= bytes
  if (left > 0) return
  // What the read ran past the interval counts towards the next one: one collection per `every`.
  left += every
  if (left <= 0) left = every
  collect!({ type: 'minor' })
}

/** V8's `gc` function, without leaving it exposed; `undefined` where V8 refuses the flag. */
function youngCollector(): Collect | undefined {
  const exposed = (globalThis as { gc?: unknown }).gc
  if (typeof exposed === 'function') return exposed as Collect
  try {
    v8.setFlagsFromString('--expose-gc')
    const gc = vm.runInNewContext('gc') as unknown
    return typeof gc === 'function' ? (gc as Collect) : undefined
  } catch {
    // Only a memory saving: a runtime without the extension collects as V8 decides.
    return undefined
  } finally {
    v8.setFlagsFromString('--no-expose-gc')
  }
}
