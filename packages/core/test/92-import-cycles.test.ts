import { readdirSync, readFileSync, statSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import ts from 'typescript'

/**
 * Import cycles in core, read from the TypeScript sources. A cycle of value imports is an error: the
 * order modules evaluate in would then decide whether a binding exists yet. Cycles held together by
 * `import type` alone cost nothing at run time but say the types live in the wrong module; the ones
 * left are listed here and may only shrink (move the shared types to a types-only module).
 */

const SRC = fileURLToPath(new URL('../src/', import.meta.url))

/** Groups of files that import each other only through `import type` (strongly connected components). */
const KNOWN_TYPE_ONLY_CYCLES: string[][] = [
  ['admin.ts', 'gateway.ts'],
  ['balancer.ts', 'health.ts'],
  [
    'body.ts',
    'compile.ts',
    'context.ts',
    'instances.ts',
    'mirror.ts',
    'retry.ts',
    'upstreams.ts',
    'validate-config.ts',
  ],
  ['dispatch.ts', 'lifecycle.ts'],
]

interface Edge {
  to: string
  typeOnly: boolean
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
      let typeOnly: boolean
      if (ts.isImportDeclaration(st)) {
        const clause = st.importClause
        const named = clause?.namedBindings
        typeOnly =
          clause?.isTypeOnly === true ||
          (clause !== undefined &&
            clause.name === undefined &&
            named !== undefined &&
            ts.isNamedImports(named) &&
            named.elements.length > 0 &&
            named.elements.every((e) => e.isTypeOnly))
      } else {
        typeOnly = st.isTypeOnly
      }
      edges.push({ to: relative(SRC, resolve(dirname(file), spec.replace(/\.js$/, '.ts'))), typeOnly })
    }
    graph.set(relative(SRC, file), edges)
  }
  return graph
}

/** Tarjan's strongly connected components with more than one file (or a file importing itself). */
function cycles(graph: Map<string, Edge[]>, withTypes: boolean): string[][] {
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
      if (!withTypes && e.typeOnly) continue
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
      const selfLoop = (graph.get(v) ?? []).some((e) => e.to === v && (withTypes || !e.typeOnly))
      if (group.length > 1 || selfLoop) out.push(group.sort())
    }
  }
  for (const v of [...graph.keys()].sort()) if (!indices.has(v)) visit(v)
  return out.sort((a, b) => a[0]!.localeCompare(b[0]!))
}

const graph = importGraph()

t.test('no import cycle of values in core', async (t) => {
  t.ok(graph.size > 20, 'the sources were read')
  t.same(cycles(graph, false), [])
})

t.test('the cycles through `import type` are only those listed, and may only shrink', async (t) => {
  for (const group of cycles(graph, true)) {
    t.ok(
      KNOWN_TYPE_ONLY_CYCLES.some((known) => group.every((f) => known.includes(f))),
      `${group.join(' ↔ ')}: a known cycle (a new one fails: move the shared types to a types-only module)`,
    )
  }
})
