import { type Document, isMap, isScalar, isSeq, LineCounter, type Node, parseDocument } from 'yaml'

/** Where a JSON pointer sits in a file: 1-based line and column. */
export interface Position {
  line: number
  column: number
}

/** A YAML (or JSON) text parsed with positions: the document, offsets to lines, pointers to places. */
export interface YamlDoc {
  doc: Document.Parsed
  /** Line and column of a character offset. */
  pos(offset: number): Position
  /**
   * The place of a JSON pointer's value (the key's when the value is empty), or of its nearest
   * existing ancestor when the pointer goes past what the file holds.
   */
  locate(pointer: string): Position | undefined
}

/** Parses `text` as YAML 1.2 (which also reads JSON), duplicate keys refused; errors are in `doc.errors`. */
export function parseYamlDoc(text: string): YamlDoc {
  const lineCounter = new LineCounter()
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true })
  const pos = (offset: number): Position => {
    const p = lineCounter.linePos(offset)
    return { line: p.line, column: p.col }
  }
  function locate(pointer: string): Position | undefined {
    const segments = pointer === '' ? [] : pointer.slice(1).split('/').map(unescapePointer)
    let node: unknown = doc.contents
    let best: Position | undefined = doc.contents?.range ? pos(doc.contents.range[0]) : undefined
    for (const seg of segments) {
      if (isMap(node)) {
        const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === seg)
        if (!pair) break
        // The value's place (where the fix goes), or the key's when the value is empty.
        const range = (pair.value as Node | null)?.range ?? (pair.key as Node).range
        if (range) best = pos(range[0])
        node = pair.value
      } else if (isSeq(node)) {
        const item = node.items[Number(seg)] as Node | undefined
        if (!item) break
        if (item.range) best = pos(item.range[0])
        node = item
      } else break
    }
    return best
  }
  return { doc, pos, locate }
}

/** Unescapes one JSON pointer segment (RFC 6901). */
export function unescapePointer(segment: string): string {
  return segment.replace(/~1/g, '/').replace(/~0/g, '~')
}
