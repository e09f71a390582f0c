import type { Headers } from '@gatehousejs/sdk'
import type { Decision, WindowState } from './windows.js'

export interface HeaderOptions {
  standard: boolean
  perWindow: boolean
}

/**
 * The window a client should watch: the one with the fewest requests left (on a tie, the shorter one,
 * which resets first), as Kong reports it in the RateLimit-* headers.
 */
function tightest(windows: readonly WindowState[]): WindowState {
  let best = windows[0]!
  for (const w of windows) if (w.remaining < best.remaining) best = w
  return best
}

/**
 * Sets the rate limit headers on a response.
 * - `RateLimit-Limit`, `RateLimit-Remaining`, `RateLimit-Reset` (draft-ietf-httpapi-ratelimit-headers):
 *   for the tightest window; Reset is in seconds (delta), never a date.
 * - `X-RateLimit-Limit-<Window>`, `X-RateLimit-Remaining-<Window>` for each window, as Kong sends them.
 */
export function setRateLimitHeaders(target: Headers, decision: Decision, options: HeaderOptions): void {
  if (options.standard) {
    const w = tightest(decision.windows)
    target['ratelimit-limit'] = String(w.window.limit)
    target['ratelimit-remaining'] = String(w.remaining)
    target['ratelimit-reset'] = String(w.reset)
  }
  if (options.perWindow) {
    for (const w of decision.windows) {
      target[w.window.limitHeader] = String(w.window.limit)
      target[w.window.remainingHeader] = String(w.remaining)
    }
  }
}
