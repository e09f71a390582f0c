const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec']
const MONTH = MONTHS.join('|')
// RFC 9110 §5.6.7: the preferred IMF-fixdate and the two obsolete forms, and nothing else.
const IMF_FIXDATE = new RegExp(
  `^(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), (\\d{2}) (${MONTH}) (\\d{4}) (\\d{2}):(\\d{2}):(\\d{2}) GMT$`,
)
const RFC850 = new RegExp(
  `^(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday), (\\d{2})-(${MONTH})-(\\d{2}) (\\d{2}):(\\d{2}):(\\d{2}) GMT$`,
)
const ASCTIME = new RegExp(
  `^(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) (${MONTH}) ( \\d|\\d{2}) (\\d{2}):(\\d{2}):(\\d{2}) (\\d{4})$`,
)

/**
 * An HTTP-date (RFC 9110 §5.6.7) as epoch milliseconds, or `undefined` for anything else. Stricter
 * than `Date.parse`, which reads ISO 8601, dates without a zone, `"0"` and much more: RFC 9111 §5.3
 * says an invalid Expires means "already expired", so a lenient reading would make stale responses
 * fresh.
 */
export function parseHttpDate(value: string | string[] | undefined, now = Date.now()): number | undefined {
  if (typeof value !== 'string') return undefined
  const v = value.trim()
  let m = IMF_FIXDATE.exec(v)
  if (m !== null) return utc(+m[3]!, m[2]!, +m[1]!, +m[4]!, +m[5]!, +m[6]!)
  m = RFC850.exec(v)
  if (m !== null) {
    // RFC 9110 §5.6.7: a two-digit year more than 50 years ahead is the most recent past one.
    const thisYear = new Date(now).getUTCFullYear()
    let year = Math.floor(thisYear / 100) * 100 + +m[3]!
    if (year > thisYear + 50) year -= 100
    return utc(year, m[2]!, +m[1]!, +m[4]!, +m[5]!, +m[6]!)
  }
  m = ASCTIME.exec(v)
  if (m !== null) return utc(+m[6]!, m[1]!, +m[2]!.trim(), +m[3]!, +m[4]!, +m[5]!)
  return undefined
}

function utc(
  year: number,
  month: string,
  day: number,
  h: number,
  min: number,
  s: number,
): number | undefined {
  const mon = MONTHS.indexOf(month)
  if (day < 1 || h > 23 || min > 59 || s > 60) return undefined
  const t = Date.UTC(year, mon, day, h, min, Math.min(s, 59))
  // 31 Feb and the like roll over into the next month: not a date.
  if (new Date(t).getUTCDate() !== day) return undefined
  return t
}
