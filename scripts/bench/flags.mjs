// Command-line flags for the benchmark drivers. `--help` prints the usage and exits 0; an unknown
// option or a missing value prints what was wrong, then the usage, and exits 2 (not a stack trace).
import { parseArgs } from 'node:util'

/**
 * `parseArgs` with `--help` added to `options`.
 * @param {Record<string, import('node:util').ParseArgsOptionConfig>} options
 * @param {string} usage printed for `--help` and after a mistake
 * @param {{ allowPositionals?: boolean }} [config]
 */
export function parseFlags(options, usage, config = {}) {
  let parsed
  try {
    parsed = parseArgs({ ...config, options: { ...options, help: { type: 'boolean', default: false } } })
  } catch (err) {
    console.error(`${err.message}\n${usage}`)
    process.exit(2)
  }
  if (parsed.values.help) {
    console.log(usage)
    process.exit(0)
  }
  return parsed
}
