import { readFile } from 'node:fs/promises'
import { resolve } from 'node:path'
import { type Position, parseYamlDoc } from '../yaml-doc.js'

/** A problem in an input file: where it is (JSON pointer, line and column) and what is wrong. */
export interface Located {
  pointer: string
  message: string
  position?: Position
}

/**
 * A Kong or OpenAPI file that cannot be imported: every problem located by file, pointer and line.
 * The CLI prints `format()`, never a stack.
 */
export class ImportError extends Error {
  readonly file: string
  readonly problems: Located[]
  constructor(file: string, problems: Located[]) {
    super(`${file}: ${problems.map((p) => `${p.pointer || '/'}: ${p.message}`).join('; ')}`)
    this.name = 'ImportError'
    this.file = file
    this.problems = problems
  }

  /** One line per problem: `file:line:column /pointer: message`. */
  format(): string {
    return this.problems
      .map((p) => {
        const where = p.position ? `${this.file}:${p.position.line}:${p.position.column}` : this.file
        return `${where} ${p.pointer || '/'}: ${p.message}`
      })
      .join('\n')
  }
}

/** An input file read as YAML or JSON, with a map from JSON pointers back to line and column. */
export interface SourceFile {
  file: string
  data: unknown
  locate(pointer: string): Position | undefined
}

/** Escapes one JSON pointer segment (RFC 6901). */
export function seg(s: string | number): string {
  return String(s).replace(/~/g, '~0').replace(/\//g, '~1')
}

/** Reads and parses `path` (YAML 1.2, which also reads JSON); a syntax error is a located ImportError. */
export async function readSource(path: string): Promise<SourceFile> {
  const file = resolve(path)
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : String(err)
    throw new ImportError(file, [{ pointer: '', message: `cannot read ${file}: ${why}` }])
  }
  return parseSource(text, file)
}

/** The same as readSource, from text in memory (`file` names it in messages). */
export function parseSource(text: string, file: string): SourceFile {
  const { doc, pos, locate } = parseYamlDoc(text)
  if (doc.errors.length > 0) {
    throw new ImportError(
      file,
      doc.errors.map((e) => ({
        pointer: '',
        message: `syntax: ${e.message.split('\n')[0]}`,
        position: pos(e.pos[0]),
      })),
    )
  }
  const data = doc.toJS({ maxAliasCount: 1000 }) as unknown
  return { file, data, locate }
}
