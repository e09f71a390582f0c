/**
 * The error catalogue is complete (as Fastify's test/internals/errors.test.js keeps its docs honest):
 * every `GH_…` code that core, the CLI, the SDK or a first-party plugin can send has its row in
 * docs/errors.md, and every row there names a code that some source can still send.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..')

const SKIP = new Set(['node_modules', 'dist', 'test', '.turbo'])

/**
 * Every source file that can send an error: each package's and plugin's src/ (the plugin template
 * included: its codes are documented as the template's), the examples and the scripts (the demo).
 */
function sources(): string[] {
  const files: string[] = []
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir)) {
      if (SKIP.has(name)) continue
      const path = join(dir, name)
      if (statSync(path).isDirectory()) walk(path)
      else if (/\.(ts|js|mjs)$/.test(name) && !name.endsWith('.d.ts')) files.push(path)
    }
  }
  for (const group of ['packages', 'plugins']) {
    for (const name of readdirSync(join(root, group))) {
      const src = join(root, group, name, 'src')
      if (statSync(src, { throwIfNoEntry: false })?.isDirectory()) walk(src)
    }
  }
  walk(join(root, 'examples'))
  walk(join(root, 'scripts'))
  return files
}

/**
 * The codes a source file can send: a whole code in a string literal outside comments (doc comments
 * show made-up codes). The scaffold (packages/cli/src/new-plugin.ts) writes codes for a user's own
 * plugin, not Gatehouse's, and is left out.
 */
function codesIn(file: string): string[] {
  if (file.endsWith(join('cli', 'src', 'new-plugin.ts'))) return []
  const code = readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => !/^\s*(\*|\/\/|\/\*)/.test(line))
    .join('\n')
  return [...code.matchAll(/['"`](GH_[A-Z0-9]+(?:_[A-Z0-9]+)+)['"`]/g)].map((m) => m[1] as string)
}

/** gRPC errors are `GH_GRPC_<STATUS>`, built from the status table rather than written out. */
function grpcCodes(): string[] {
  const text = readFileSync(join(root, 'plugins/grpc/src/status.ts'), 'utf8')
  return [...text.matchAll(/name: '([A-Z_]+)'/g)].filter((m) => m[1] !== 'OK').map((m) => `GH_GRPC_${m[1]}`)
}

const defined = new Map<string, string>()
for (const file of sources()) {
  for (const code of codesIn(file)) if (!defined.has(code)) defined.set(code, relative(root, file))
}
for (const code of grpcCodes()) defined.set(code, 'plugins/grpc/src/status.ts')

const doc = readFileSync(join(root, 'docs/errors.md'), 'utf8')
const rows = new Set([...doc.matchAll(/^\| `(GH_[A-Z0-9_]+)`/gm)].map((m) => m[1] as string))

t.test('the scan finds the codes it must (so an empty scan cannot pass)', async (t) => {
  for (const code of [
    'GH_ROUTE_NOT_FOUND',
    'GH_ADMIN_UNAUTHORIZED',
    'GH_JWT_EXPIRED',
    'GH_GRPC_UNAVAILABLE',
  ]) {
    t.ok(defined.has(code), `${code} found in the sources`)
  }
  t.ok(rows.size > 50, `docs/errors.md has ${rows.size} rows`)
})

t.test('every code a source can send has its row in docs/errors.md', async (t) => {
  const missing = [...defined].filter(([code]) => !rows.has(code)).map(([code, file]) => `${code} (${file})`)
  t.same(missing, [], 'codes without a row in docs/errors.md')
})

t.test('every row in docs/errors.md names a code some source still sends', async (t) => {
  const stale = [...rows].filter((code) => !defined.has(code))
  t.same(stale, [], 'rows for codes nothing sends any more')
})
