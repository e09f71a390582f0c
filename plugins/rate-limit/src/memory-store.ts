import { LruMap } from 'toad-cache'
import type { Store } from './store.js'
import { type Outcome, previousWeight, usedOf, type Window, windowStart } from './windows.js'

/** One key's counters: per window, the start of the window counted in, its count and the one before. */
interface Counters {
  start: number[]
  current: number[]
  previous: number[]
}

/** The memory store answers synchronously. */
export interface MemoryStore extends Store {
  hit(key: string, now: number): Outcome
}

/**
 * Counters in this process: exact, because a `hit` runs to completion without yielding (Node runs one
 * piece of JavaScript at a time), so N concurrent requests see N distinct counts.
 *
 * Bounded: an LRU map (toad-cache, the cache @fastify/rate-limit's LocalStore is built on) holds at most
 * `maxKeys` keys, and a key untouched for its longest window (two for sliding) expires. Under pressure the
 * least recently seen key is forgotten first, which can only favour a client that has been quiet longest.
 */
export function createMemoryStore(
  windows: readonly Window[],
  sliding: boolean,
  maxKeys: number,
): MemoryStore {
  const longest = Math.max(...windows.map((w) => w.ms))
  const counters = new LruMap<Counters>(maxKeys, sliding ? 2 * longest : longest)
  const n = windows.length
  // A fixed window never reads the previous count: every outcome can share one array of zeros.
  const noPrevious: readonly number[] = Object.freeze(new Array(n).fill(0))

  function hit(key: string, now: number): Outcome {
    let entry = counters.get(key)
    if (!entry) {
      entry = { start: new Array(n).fill(-1), current: new Array(n).fill(0), previous: new Array(n).fill(0) }
    }
    let allowed = true
    for (let i = 0; i < n; i++) {
      const win = windows[i]!
      const start = windowStart(win, now)
      if (entry.start[i] !== start) {
        // A new window: the old count becomes "previous" only if it is the window just before.
        entry.previous[i] = entry.start[i] === start - win.ms ? entry.current[i]! : 0
        entry.current[i] = 0
        entry.start[i] = start
      }
      const previous = sliding ? entry.previous[i]! : 0
      if (usedOf(entry.current[i]!, previous, previousWeight(win, now, sliding)) >= win.limit) allowed = false
    }
    const outcome: Outcome = {
      allowed,
      current: entry.current.slice(),
      previous: sliding ? entry.previous.slice() : noPrevious,
    }
    if (allowed) for (let i = 0; i < n; i++) entry.current[i]!++
    // set() also refreshes the key's expiry and its place in the LRU order.
    counters.set(key, entry)
    return outcome
  }

  return {
    hit,
    close() {
      counters.clear()
    },
  }
}
