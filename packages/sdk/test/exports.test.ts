import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import ts from 'typescript'

// The public surface of each entry point is exactly what packages/sdk/README.md lists under
// "Exports", names and types alike, so an export added by accident (or dropped) fails here. The names
// come from the TypeScript compiler's view of each entry's source; the built ESM and CJS modules must
// carry exactly its value exports.

const PKG = fileURLToPath(new URL('../', import.meta.url))
const require = createRequire(import.meta.url)

const ENTRIES: Record<string, string> = {
  '@gatehousejs/sdk': 'src/index.ts',
  '@gatehousejs/sdk/testing': 'src/testing/index.ts',
  '@gatehousejs/sdk/redis': 'src/redis/index.ts',
  '@gatehousejs/sdk/transform': 'src/transform/index.ts',
  '@gatehousejs/sdk/config': 'src/config/index.ts',
  '@gatehousejs/sdk/host': 'src/host/index.ts',
}

/** The names the README lists for one entry: every `name` between `<!-- exports: entry -->` and `<!-- /exports -->`. */
function documented(readme: string, entry: string): string[] {
  const start = readme.indexOf(`<!-- exports: ${entry} -->`)
  if (start < 0) throw new Error(`README.md has no <!-- exports: ${entry} --> block`)
  const end = readme.indexOf('<!-- /exports -->', start)
  const block = readme.slice(start, end)
  return [...block.matchAll(/`([A-Za-z_$][\w$]*)`/g)].map((m) => m[1] as string).sort()
}

const program = ts.createProgram(
  Object.values(ENTRIES).map((f) => PKG + f),
  {
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    target: ts.ScriptTarget.ES2022,
    // Only the export lists are read: no type check, no lib or @types files to load.
    noLib: true,
    types: [],
    skipLibCheck: true,
    resolveJsonModule: true,
    noEmit: true,
  },
)
const checker = program.getTypeChecker()

/** Every name an entry exports, and those of them that are values (exist at run time). */
function exportsOf(file: string): { all: string[]; values: string[] } {
  const source = program.getSourceFile(PKG + file)
  const symbol = source && checker.getSymbolAtLocation(source)
  if (!symbol) throw new Error(`no module symbol for ${file}`)
  const all: string[] = []
  const values: string[] = []
  for (const s of checker.getExportsOfModule(symbol)) {
    all.push(s.name)
    const target = s.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(s) : s
    if (target.flags & ts.SymbolFlags.Value) values.push(s.name)
  }
  return { all: all.sort(), values: values.sort() }
}

const readme = readFileSync(PKG + 'README.md', 'utf8')

for (const [entry, file] of Object.entries(ENTRIES)) {
  t.test(`${entry} exports exactly what the README lists`, async (t) => {
    const { all, values } = exportsOf(file)
    const listed = documented(readme, entry)
    t.same(
      all.filter((n) => !listed.includes(n)),
      [],
      'exported but not documented (document it, or stop exporting it)',
    )
    t.same(
      listed.filter((n) => !all.includes(n)),
      [],
      'documented but not exported',
    )
    t.same(new Set(listed).size, listed.length, 'each name is listed once')
    const esm = Object.keys(await import(entry)).sort()
    t.same(esm, values, 'the ESM build carries exactly the value exports')
    const cjs = Object.keys(require(entry)).sort()
    t.same(cjs, values, 'the CJS build carries exactly the value exports')
  })
}

t.test('no entry point re-exports a whole module', async (t) => {
  for (const file of Object.values(ENTRIES)) {
    t.notMatch(readFileSync(PKG + file, 'utf8'), /export \*/, `${file} names its exports`)
  }
})
