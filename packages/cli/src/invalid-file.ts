// InvalidFileError alone: commands that only catch it (the fleet's, the error report) need not load core.
import { relative } from 'node:path'
import type { ConfigIssue } from '@gatehousejs/sdk'
import type { Position } from './load.js'

/** Every problem in a file, each with its place: what `validate` prints and `start` refuses with. */
export class InvalidFileError extends Error {
  readonly file: string
  readonly issues: ConfigIssue[]
  readonly positions: (Position | undefined)[]
  constructor(file: string, issues: ConfigIssue[], positions: (Position | undefined)[]) {
    super(`${file}: ${issues.length} problem${issues.length === 1 ? '' : 's'}`)
    this.name = 'InvalidFileError'
    this.file = file
    this.issues = issues
    this.positions = positions
  }

  /** One line per problem: `file:line:column  /json/pointer  (plugin x)  message`. */
  format(cwd = process.cwd()): string {
    const rel = relative(cwd, this.file)
    const shown = rel && !rel.startsWith('..') ? rel : this.file
    return this.issues
      .map((issue, i) => {
        const at = this.positions[i]
        const where = at ? `${shown}:${at.line}:${at.column}` : shown
        const pointer = issue.pointer ? ` ${issue.pointer}` : ''
        const plugin = issue.plugin ? ` (plugin ${issue.plugin})` : ''
        return `${where}${pointer}${plugin}: ${issue.message}`
      })
      .join('\n')
  }
}
