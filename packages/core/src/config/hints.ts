import { distance } from 'fastest-levenshtein'

/**
 * The known name `name` is a near miss of: at most one edit away for names shorter than 4
 * characters, two otherwise (or three for names of 10+), or the same once case, `-` and `_` are
 * ignored (`rateLimit`, `rate_limit` → `rate-limit`).
 */
export function nearestName(name: string, known: Iterable<string>): string | undefined {
  const squash = (s: string) => s.toLowerCase().replace(/[-_]/g, '')
  const limit = name.length < 4 ? 1 : name.length < 10 ? 2 : 3
  let best: { name: string; d: number } | undefined
  for (const candidate of known) {
    if (candidate === name) continue
    const d = squash(candidate) === squash(name) ? 0 : distance(name.toLowerCase(), candidate.toLowerCase())
    if (d <= limit && (best === undefined || d < best.d)) best = { name: candidate, d }
  }
  return best?.name
}

/** `; did you mean "x"?` for a near miss among `known`, else an empty string: append it to a message. */
export function didYouMean(name: string, known: Iterable<string>): string {
  const near = nearestName(name, known)
  return near === undefined ? '' : `; did you mean "${near}"?`
}
