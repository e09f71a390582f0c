import type { ConfigIssue } from '@gatehousejs/sdk'
import type { WindowUnit } from './schema.js'

const UNIT_MS: Readonly<Record<string, number>> = {
  second: 1_000,
  minute: 60_000,
  hour: 3_600_000,
  day: 86_400_000,
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
}

/** A window's length in ms: a named unit (`minute`) or a duration (`90s`), as the schema allows. */
export function windowMs(name: string): number {
  const named = UNIT_MS[name]
  if (named !== undefined && name.length > 1) return named
  const m = /^(\d+)([smhd])$/.exec(name)
  if (m === null)
    throw new TypeError(`limits/${name}: not a window (use second, minute, hour, day or e.g. "90s")`)
  return Number(m[1]) * UNIT_MS[m[2]!]!
}

/** One configured window, resolved once at `init`. */
export interface Window {
  readonly unit: WindowUnit
  readonly limit: number
  readonly ms: number
  /** `x-ratelimit-limit-<unit>` and `x-ratelimit-remaining-<unit>`, built once. */
  readonly limitHeader: string
  readonly remainingHeader: string
}

/**
 * The configured windows, shortest first. Two names for one length (`minute` and `60s`) are a config
 * issue (at the second): they would count the same requests twice under two header names.
 */
export function windowsOf(
  limits: Readonly<Record<string, number | undefined>>,
  issues: ConfigIssue[],
): Window[] {
  const windows: Window[] = []
  for (const unit in limits) {
    const limit = limits[unit]
    if (limit === undefined) continue
    const ms = windowMs(unit)
    const same = windows.find((w) => w.ms === ms)
    if (same !== undefined) {
      issues.push({
        pointer: `/config/limits/${unit}`,
        message: `"${same.unit}" and "${unit}" are the same window; keep one`,
      })
      continue
    }
    windows.push({
      unit,
      limit,
      ms,
      limitHeader: `x-ratelimit-limit-${unit}`,
      remainingHeader: `x-ratelimit-remaining-${unit}`,
    })
  }
  return windows.sort((a, b) => a.ms - b.ms)
}

/**
 * Where `now` falls in a window. Windows are aligned to the clock (UTC), as in Kong: a minute window
 * starts at :00, so every node and the store agree on which counter a request belongs to without
 * talking to each other (nodes need synchronised clocks, e.g. NTP).
 */
export function windowStart(win: Window, now: number): number {
  return now - (now % win.ms)
}

/**
 * How much the previous window still counts in a sliding window: the share of it that a window ending
 * now still overlaps. 0 for a fixed window (the previous window is forgotten at the boundary).
 */
export function previousWeight(win: Window, now: number, sliding: boolean): number {
  return sliding ? (win.ms - (now - windowStart(win, now))) / win.ms : 0
}

/**
 * The counting rule every store applies atomically, for all windows at once: a request is allowed when
 * every window has room (`used < limit`), and only then is it counted in every window. A refused
 * request counts nowhere, so a burst against the per-second limit does not also use up the minute.
 * `used` = this window's count + ⌊previous window's count × weight⌋.
 */
export function usedOf(current: number, previous: number, weight: number): number {
  return current + Math.floor(previous * weight)
}

/** A store's answer for one request: allowed or not, and each window's counts before this request. */
export interface Outcome {
  allowed: boolean
  /** Per window (in the configured order): this window's count before this request. */
  current: number[]
  /** Per window: the previous window's count (0 for a fixed window, which never reads it). */
  previous: readonly number[]
}

/** What the client is told, per window. */
export interface WindowState {
  readonly window: Window
  readonly remaining: number
  /** Seconds until this window's counter resets (the end of the current window). */
  readonly reset: number
}

export interface Decision {
  readonly allowed: boolean
  readonly windows: readonly WindowState[]
  /** For a refusal: seconds until a request can pass again (at least 1). */
  readonly retryAfter: number
}

/** Turns a store's outcome into what the client is told. */
export function decide(
  windows: readonly Window[],
  outcome: Outcome,
  now: number,
  sliding: boolean,
): Decision {
  const states: WindowState[] = []
  let retryMs = 0
  for (let i = 0; i < windows.length; i++) {
    const win = windows[i]!
    const current = outcome.current[i]!
    const previous = outcome.previous[i]!
    const used = usedOf(current, previous, previousWeight(win, now, sliding))
    const untilEnd = windowStart(win, now) + win.ms - now
    states.push({
      window: win,
      remaining: Math.max(0, win.limit - used - (outcome.allowed ? 1 : 0)),
      reset: Math.max(1, Math.ceil(untilEnd / 1000)),
    })
    if (!outcome.allowed && used >= win.limit) {
      const wait = sliding ? slidingWait(win, current, previous, untilEnd) : untilEnd
      retryMs = Math.max(retryMs, wait)
    }
  }
  return { allowed: outcome.allowed, windows: states, retryAfter: Math.max(1, Math.ceil(retryMs / 1000)) }
}

/**
 * Sliding window: how long until `used` drops below the limit. While this window's own count is under
 * the limit, only the previous window's share must decay: ⌊prev × (ms − e)/ms⌋ < limit − current holds
 * once e > ms × (1 − (limit − current)/prev). Otherwise this window must end, and then its count decays
 * the same way as the next window's previous one.
 */
function slidingWait(win: Window, current: number, previous: number, untilEnd: number): number {
  const elapsed = win.ms - untilEnd
  if (current < win.limit) {
    const needed = win.ms * (1 - (win.limit - current) / previous)
    return Math.max(0, Math.min(untilEnd, needed - elapsed + 1))
  }
  return untilEnd + win.ms * (1 - win.limit / current) + 1
}
