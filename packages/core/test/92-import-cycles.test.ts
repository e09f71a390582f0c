import { readdirSync, readFileSync, statSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import ts from 'typescript'

/**
 * No import cycle in core, not even one held together by `import type`: a cycle of value imports lets
 * the order modules evaluate in decide whether a binding exists yet, and a type-only one says the types
 * live in the wrong module. Shared shapes live in model.ts, which declares types and nothing else.
 */

const SRC = fileURLToPath(new URL('../src/', import.meta.url))

interface Edge {
  to: string
}

function importGraph(): Map<string, Edge[]> {
  const files: string[] = []
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name)
      if (statSync(p).isDirectory()) walk(p)
      else if (name.endsWith('.ts')) files.push(p)
    }
  }
  walk(SRC)
  const graph = new Map<string, Edge[]>()
  for (const file of files) {
    const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest)
    const edges: Edge[] = []
    for (const st of source.statements) {
      if (!(ts.isImportDeclaration(st) || ts.isExportDeclaration(st))) continue
      if (!st.moduleSpecifier || !ts.isStringLiteral(st.moduleSpecifier)) continue
      const spec = st.moduleSpecifier.text
      if (!spec.startsWith('.')) continue
      edges.push({ to: relative(SRC, resolve(dirname(file), spec.replace(/\.js$/, '.ts'))) })
    }
    graph.set(relative(SRC, file), edges)
  }
  return graph
}

/** Tarjan's strongly connected components with more than one file (or a file importing itself). */
function cycles(graph: Map<string, Edge[]>): string[][] {
  let index = 0
  const indices = new Map<string, number>()
  const low = new Map<string, number>()
  const stack: string[] = []
  const onStack = new Set<string>()
  const out: string[][] = []
  const visit = (v: string) => {
    indices.set(v, index)
    low.set(v, index++)
    stack.push(v)
    onStack.add(v)
    for (const e of graph.get(v) ?? []) {
      if (!indices.has(e.to)) {
        visit(e.to)
        low.set(v, Math.min(low.get(v)!, low.get(e.to)!))
      } else if (onStack.has(e.to)) low.set(v, Math.min(low.get(v)!, indices.get(e.to)!))
    }
    if (low.get(v) === indices.get(v)) {
      const group: string[] = []
      let w: string
      do {
        w = stack.pop()!
        onStack.delete(w)
        group.push(w)
      } while (w !== v)
      const selfLoop = (graph.get(v) ?? []).some((e) => e.to === v)
      if (group.length > 1 || selfLoop) out.push(group.sort())
    }
  }
  for (const v of [...graph.keys()].sort()) if (!indices.has(v)) visit(v)
  return out.sort((a, b) => a[0]!.localeCompare(b[0]!))
}

const graph = importGraph()

t.test('no import cycle in core, type-only imports included', async (t) => {
  t.ok(graph.size > 20, 'the sources were read')
  t.same(cycles(graph), [])
})

t.test('model.ts declares types only, and imports only types', async (t) => {
  const file = join(SRC, 'model.ts')
  const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest)
  const values = source.statements.filter(
    (st) =>
      !ts.isInterfaceDeclaration(st) &&
      !ts.isTypeAliasDeclaration(st) &&
      !(ts.isImportDeclaration(st) && st.importClause?.isTypeOnly === true),
  )
  t.same(
    values.map((st) => st.getText(source).split('\n')[0]),
    [],
    'every statement is an interface, a type alias or an `import type`',
  )
})
