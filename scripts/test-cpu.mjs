// CPU seconds, for `npm test -- --record-times` (scripts/test.mjs). Linux only: elsewhere (no /proc)
// every reading is undefined and nothing is recorded.
//
// Imported into each tap test process (`--node-arg=--import=…`) when GATEHOUSE_TEST_CPU_LOG names a
// file: as the test process exits it appends one line, `{"file":…,"cpu":…}`, with the CPU seconds of
// the process and of the child processes it waited for (the gateways, npm runs and servers it started).
import { appendFileSync, readFileSync } from 'node:fs'

const TICKS = 100 // USER_HZ: 100 on every Linux architecture Node supports

/**
 * CPU seconds of this process: its own (`self`) and that of the child processes it has waited for
 * (`children`: those that ended and were reaped, with their own waited-for children); undefined where
 * /proc cannot be read.
 */
export function cpuSeconds({ self = true, children = true } = {}) {
  try {
    const stat = readFileSync('/proc/self/stat', 'utf8')
    // Fields after the command name (which may hold spaces, in parentheses): state is field 3, utime
    // 14, stime 15, cutime 16, cstime 17.
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    const [utime, stime, cutime, cstime] = [f[11], f[12], f[13], f[14]].map(Number)
    return ((self ? utime + stime : 0) + (children ? cutime + cstime : 0)) / TICKS
  } catch {
    return undefined
  }
}

const log = process.env.GATEHOUSE_TEST_CPU_LOG
// Only the test file tap started, not a process that inherited this import (a fork of it).
if (log && process.env.TAP === '1' && process.argv[1]) {
  const file = process.argv[1]
  process.on('exit', () => {
    const cpu = cpuSeconds()
    if (cpu !== undefined) appendFileSync(log, `${JSON.stringify({ file, cpu })}\n`)
  })
}
