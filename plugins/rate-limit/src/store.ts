import type { Outcome } from './windows.js'

/**
 * A counter store. `hit` counts one request under `key` in every window, atomically: check all
 * windows, then count in all or none (see `usedOf` in windows.ts for the rule).
 */
export interface Store {
  hit(key: string, now: number): Outcome | Promise<Outcome>
  close(): void | Promise<void>
}
