import type { GatewayConfig } from '@gatehousejs/sdk/config'
import { Document, isNode } from 'yaml'

/** Something in the input that the output does not carry (or carries with another meaning). */
export interface ImportWarning {
  /** JSON pointer into the input file. */
  pointer: string
  message: string
}

/**
 * What an importer builds: the gateway config, the warnings, and comments to write in the YAML, keyed
 * by JSON pointer into the output (`''` is the file's header).
 */
export class ImportResult {
  readonly config: GatewayConfig = {}
  readonly warnings: ImportWarning[] = []
  readonly comments = new Map<string, string[]>()

  warn(pointer: string, message: string): void {
    this.warnings.push({ pointer, message })
  }

  /** Adds a comment line above the output node at `pointer`. */
  comment(pointer: string, line: string): void {
    const list = this.comments.get(pointer) ?? []
    list.push(line)
    this.comments.set(pointer, list)
  }
}

function pathOf(pointer: string): string[] {
  return pointer === ''
    ? []
    : pointer
        .slice(1)
        .split('/')
        .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
}

/** The config as YAML, with the importer's comments above the nodes they are about. */
export function toCommentedYaml(result: ImportResult, header: string[]): string {
  const doc = new Document(result.config)
  const top = [...header]
  if (result.warnings.length > 0) {
    top.push('', `${result.warnings.length} thing(s) could not be carried over exactly:`)
    for (const w of result.warnings) top.push(`  ${w.pointer || '/'}: ${w.message}`)
  }
  doc.commentBefore = top.map((l) => (l ? ` ${l}` : '')).join('\n')
  for (const [pointer, lines] of result.comments) {
    if (pointer === '') continue
    const node = doc.getIn(pathOf(pointer), true)
    if (!isNode(node)) continue
    const text = lines.map((l) => ` ${l}`).join('\n')
    node.commentBefore = node.commentBefore ? `${node.commentBefore}\n${text}` : text
  }
  return doc.toString({ lineWidth: 0 })
}
