import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import t from 'tap'

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
