// Names the failing tests in a package's tap output, for the "Failures:" section that ends `npm test`:
// a CI log whose only visible part is its tail still says which test failed and where.
//
// tap prints a subtest's results before the subtest's own `not ok` line, four spaces deeper. Each
// `not ok` becomes a node holding the failures printed just before it one level deeper; what is left at
// the top level are the failing test files. A leaf is a failing assertion (or a subtest that failed
// without a failing child: a timeout, a throw, a plan mismatch), named by its path from the file.

const NOT_OK = /^((?: {4})*)not ok \d+ - (.*?)(?: # (?:time=[\d.]+m?s|(TODO|SKIP))\b.*)?$/
const OK = /^((?: {4})*)ok \d+ - /
const YAML_FIELD = /^\s+(fileName|lineNumber|columnNumber|signal|exitCode|message|code|expired): (.*)$/

/** @returns {{ files: Array<{ name: string, leaves: string[] }> }} */
export function tapFailures(out) {
  const pending = [] // pending[d]: failed nodes at depth d not yet claimed by a parent
  let last = null // the latest not-ok node: YAML lines after it describe it
  for (const raw of out.split('\n')) {
    const line = raw.replace(/\r$/, '')
    const bad = NOT_OK.exec(line)
    if (bad && !bad[3]) {
      const depth = bad[1].length / 4
      const node = { name: bad[2], children: pending[depth + 1] ?? [], info: {} }
      pending[depth + 1] = []
      pending[depth] ??= []
      pending[depth].push(node)
      last = node
      continue
    }
    const good = OK.exec(line) ?? bad
    if (good) {
      // A passing (or todo, or skipped) test's failed children are not failures.
      pending[good[1].length / 4 + 1] = []
      last = null
      continue
    }
    if (last) {
      const field = YAML_FIELD.exec(line)
      if (field && !(field[1] in last.info)) last.info[field[1]] = field[2].trim()
      else if (/^\s*(# Subtest|ok |not ok )/.test(line)) last = null
    }
  }
  const files = (pending[0] ?? []).map((file) => {
    const leaves = []
    const walk = (node, path) => {
      if (node.children.length === 0) {
        leaves.push(describe(node, path))
        return
      }
      for (const child of node.children) walk(child, [...path, child.name])
    }
    if (file.children.length === 0) leaves.push(describe(file, []))
    else for (const child of file.children) walk(child, [child.name])
    return { name: file.name, leaves }
  })
  return { files }
}

function describe(node, path) {
  const i = node.info
  const where = i.fileName && i.lineNumber ? ` (${i.fileName}:${i.lineNumber})` : ''
  const extra = []
  if (i.signal && i.signal !== 'null') extra.push(`signal ${i.signal}`)
  if (i.exitCode && i.exitCode !== '0' && i.exitCode !== 'null') extra.push(`exit ${i.exitCode}`)
  if (i.code) extra.push(i.code)
  if (i.expired) extra.push(`expired: ${i.expired}`)
  if (path.length === 0) return `${extra.length ? extra.join(', ') : 'failed outside any subtest'}${where}`
  return `${path.join(' › ')}${where}${extra.length ? ` [${extra.join(', ')}]` : ''}`
}

/** The lines naming one package's failures, indented for the "Failures:" list; at most `max` lines. */
export function failureLines(out, { max = 20, indent = '      ' } = {}) {
  const lines = []
  for (const file of tapFailures(out).files) {
    lines.push(`${indent}${file.name}`)
    for (const leaf of file.leaves) lines.push(`${indent}  ✗ ${leaf}`)
  }
  if (lines.length <= max) return lines
  const kept = lines.slice(0, max - 1)
  kept.push(`${indent}… ${lines.length - kept.length} more lines: search the log above for "not ok"`)
  return kept
}
