import type { Operation } from './compile.js'

interface Entry {
  regex: RegExp
  names: string[]
  literal: number
  ops: Map<string, Operation>
}

/** Finds the operation of a request path and method; templates with more literal text win. */
export class OperationMatcher {
  private readonly bySegments = new Map<number, Entry[]>()

  constructor(operations: Operation[], basePath: string) {
    const byTemplate = new Map<string, Entry>()
    for (const op of operations) {
      let e = byTemplate.get(op.template)
      if (!e) {
        const names: string[] = []
        let literal = 0
        const full = `${basePath}${op.template}`
        const pattern = full
          .split('/')
          .map((seg) => {
            const parts = seg.split(/(\{[^{}]+\})/)
            return parts
              .map((part) => {
                const m = /^\{([^{}]+)\}$/.exec(part)
                if (m) {
                  names.push(m[1] as string)
                  return '([^/]+?)'
                }
                literal += part.length
                return part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
              })
              .join('')
          })
          .join('/')
        e = { regex: new RegExp(`^${pattern}/?$`), names, literal, ops: new Map() }
        byTemplate.set(op.template, e)
        const n = full.split('/').length
        const list = this.bySegments.get(n) ?? []
        list.push(e)
        this.bySegments.set(n, list)
      }
      e.ops.set(op.method, op)
    }
    for (const list of this.bySegments.values()) list.sort((a, b) => b.literal - a.literal)
  }

  /** The operation, `'method'` when the path is known but not the method, or undefined. */
  find(
    method: string,
    path: string,
  ): { op: Operation; params: Record<string, string> } | 'method' | undefined {
    const n = path.endsWith('/') && path.length > 1 ? path.split('/').length - 1 : path.split('/').length
    let pathKnown = false
    for (const count of [n, n + 1]) {
      for (const e of this.bySegments.get(count) ?? []) {
        const m = e.regex.exec(path)
        if (!m) continue
        pathKnown = true
        const op = e.ops.get(method) ?? (method === 'HEAD' ? e.ops.get('GET') : undefined)
        if (!op) continue
        const params: Record<string, string> = {}
        e.names.forEach((name, i) => {
          const raw = m[i + 1] as string
          try {
            params[name] = decodeURIComponent(raw)
          } catch {
            params[name] = raw
          }
        })
        return { op, params }
      }
    }
    return pathKnown ? 'method' : undefined
  }
}
