import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import t from 'tap'
import { filesUnder } from './helpers/cli.js'

// What a release ships, checked on the built packages: a plugin's `version` (what a gateway reports
// and the CLI prints) is the one in its package.json, which changesets bump.

const ROOT = fileURLToPath(new URL('../../../', import.meta.url))
const requireCjs = createRequire(import.meta.url)

interface Manifest {
  name: string
  version: string
  private?: boolean
}

function pluginPackages(): { dir: string; manifest: Manifest }[] {
  return readdirSync(join(ROOT, 'plugins'))
    .sort()
    .map((entry) => join(ROOT, 'plugins', entry))
    .filter((dir) => existsSync(join(dir, 'package.json')))
    .map((dir) => ({
      dir,
      manifest: JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as Manifest,
    }))
}

t.test('every built plugin reports the version of its package.json, from ESM and CJS', async (t) => {
  const plugins = pluginPackages()
  t.ok(plugins.length >= 10, 'finds the first-party plugins')
  for (const { dir, manifest } of plugins) {
    const esm = (await import(pathToFileURL(join(dir, 'dist/index.js')).href)) as {
      default: { name: string; version: string }
    }
    t.equal(esm.default.version, manifest.version, `${manifest.name} (ESM)`)
    // As a CommonJS consumer loads it: `require(...)`, not `import()`, whose view of a CJS module
    // depends on the loader (Node's own gives module.exports as `default`; tsx unwraps `__esModule`).
    const cjs = requireCjs(join(dir, 'dist/index.cjs')) as { default: { version: string } }
    t.equal(cjs.default.version, manifest.version, `${manifest.name} (CJS)`)
    const bundle = readFileSync(join(dir, 'dist/index.js'), 'utf8')
    t.notMatch(
      bundle,
      /devDependencies|"scripts"/,
      `${manifest.name}: the bundle inlines only name and version`,
    )
  }
})

/** Every `.js` and `.cjs` file under a package's `dist`, recursively. */
function bundles(dist: string): string[] {
  if (!existsSync(dist)) return []
  return filesUnder(dist)
    .filter((f) => /\.c?js$/.test(f))
    .map((f) => join(dist, f))
}

t.test('every built bundle is pure ASCII, so V8 keeps its source one byte per character', async (t) => {
  const files = ['packages', 'plugins'].flatMap((group) =>
    readdirSync(join(ROOT, group))
      .sort()
      .flatMap((entry) => bundles(join(ROOT, group, entry, 'dist'))),
  )
  t.ok(
    files.some((f) => f.endsWith(join('core', 'dist', 'index.js'))),
    'finds core among the bundles',
  )
  t.ok(files.length >= 30, `finds the bundles of every package (${files.length})`)
  const outside: string[] = []
  for (const file of files) {
    const lines = readFileSync(file, 'utf8').split('\n')
    lines.forEach((line, i) => {
      if (/[\u0080-\uffff]/.test(line)) outside.push(`${file.slice(ROOT.length)}:${i + 1}: ${line.trim()}`)
    })
  }
  t.same(outside, [], 'no character outside ASCII in any bundle')
})

t.test("the build's ASCII pass spells comments in ASCII and refuses anything else", async (t) => {
  const { asciiOutput } = (await import(pathToFileURL(join(ROOT, 'tsup.config.base.mjs')).href)) as {
    asciiOutput: { renderChunk(code: string, info: { path: string }): { code: string } | undefined }
  }
  const code = [
    'class Pool {',
    '  // ── connections ── (a → b…)',
    '  /** § 7.8, 2×3, é, 💡 */',
    '  x = "\\u2192"',
    '}',
  ].join('\n')
  t.same(
    asciiOutput.renderChunk(code, { path: '/x/dist/index.js' })?.code.split('\n'),
    [
      'class Pool {',
      '  // -- connections -- (a -> b...)',
      '  /** section  7.8, 2x3, \\u00e9, \\ud83d\\udca1 */',
      '  x = "\\u2192"',
      '}',
    ],
    'comment characters are spelt in ASCII, escaped code is left alone',
  )
  t.equal(
    asciiOutput.renderChunk('const a = 1\n', { path: '/x/dist/index.cjs' }),
    undefined,
    'ASCII: unchanged',
  )
  t.equal(asciiOutput.renderChunk('// →\n', { path: '/x/dist/index.d.ts' }), undefined, 'only .js and .cjs')
  t.throws(
    () => asciiOutput.renderChunk('const a = 1\nconst b = String.raw`→`\n', { path: '/x/dist/index.js' }),
    /\/x\/dist\/index\.js:2: a character outside ASCII outside a comment: const b = String\.raw`→`/,
    'a character on a code line fails the build, naming the file and line',
  )
})
