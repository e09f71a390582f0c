import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'

/**
 * docs/architecture.md's source map names every source file of core and the SDK, one row each, and
 * nothing else: a file added, moved or removed without its row fails here.
 */

const ROOT = fileURLToPath(new URL('../../../', import.meta.url))

function sourceFiles(dir: string): string[] {
  const out: string[] = []
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name)
      if (statSync(p).isDirectory()) walk(p)
      else if (name.endsWith('.ts')) out.push(relative(dir, p))
    }
  }
  walk(dir)
  return out.sort()
}

/** The first-column file names of the table whose header names `folder`. */
function mapped(doc: string, folder: string): string[] {
  const lines = doc.split('\n')
  const start = lines.findIndex((l) => l.startsWith('|') && l.includes(`(${folder})`))
  if (start < 0) return []
  const files: string[] = []
  for (const line of lines.slice(start + 2)) {
    if (!line.startsWith('|')) break
    const cell = line.split('|')[1] ?? ''
    for (const m of cell.matchAll(/`([^`]+)`/g)) files.push(m[1] as string)
  }
  return files.sort()
}

const doc = readFileSync(join(ROOT, 'docs/architecture.md'), 'utf8')

for (const folder of ['packages/core/src', 'packages/sdk/src']) {
  t.test(`the source map names every file of ${folder}, once`, async (t) => {
    const rows = mapped(doc, folder)
    t.ok(rows.length > 0, `a table headed "file (${folder})"`)
    t.same(rows, [...new Set(rows)], 'no file named twice')
    t.same(rows, sourceFiles(join(ROOT, folder)))
  })
}
