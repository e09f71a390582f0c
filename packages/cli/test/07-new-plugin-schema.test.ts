import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Ajv } from 'ajv'
import t from 'tap'
import { parseConfigText } from '../src/load.js'
import { renameTemplate } from '../src/new-plugin.js'
import { filesUnder, run, tempDir, writeFiles } from './helpers/cli.js'

// `gatehouse new-plugin` writes a complete package (the packaging test builds, tests and packs it with
// npm); the published JSON Schema checks files as editors will.

const TEMPLATE = fileURLToPath(new URL('../../../plugins/_template/', import.meta.url))

t.test('new-plugin writes plugins/_template as a package named after the plugin', async (t) => {
  const dir = tempDir(t)
  const r = await run(['new-plugin', 'tenant-stamp', '--sdk', '^9.9.9'], { cwd: dir })
  t.equal(r.code, 0, r.stderr)
  t.match(r.stdout, /created gatehouse-plugin-tenant-stamp in gatehouse-plugin-tenant-stamp/)
  const root = join(dir, 'gatehouse-plugin-tenant-stamp')
  const written = filesUnder(root).sort()
  const fromTemplate = ['src', 'test'].flatMap((d) => filesUnder(TEMPLATE, d))
  t.same(
    written,
    [...fromTemplate, 'README.md', 'package.json', 'tsconfig.json', 'tsup.config.mjs', '.gitignore'].sort(),
    "the template's sources and tests, its README and manifest, and a standalone build config",
  )
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'))
  t.equal(pkg.name, 'gatehouse-plugin-tenant-stamp')
  t.equal(pkg.private, undefined, 'publishable')
  t.equal(pkg.devDependencies['@gatehousejs/sdk'], '^9.9.9', '--sdk sets the dependency spec')
  t.match(pkg.peerDependencies['@gatehousejs/sdk'], /^\^\d+\.\d+\.\d+$/)
  t.notMatch(JSON.stringify(pkg), /workspace:/, 'no workspace ranges')
  t.same(pkg.exports, JSON.parse(readFileSync(join(TEMPLATE, 'package.json'), 'utf8')).exports)
  const src = readFileSync(join(root, 'src/index.ts'), 'utf8')
  t.match(src, /name: 'tenant-stamp'/)
  t.match(src, /export const tenantStamp = definePlugin/)
  t.match(readFileSync(join(root, 'src/schema.ts'), 'utf8'), /export const TenantStampSchema/)
  t.match(readFileSync(join(root, 'src/errors.ts'), 'utf8'), /'GH_TENANT_STAMP_HEADER_REQUIRED'/)
  for (const f of written) {
    const text = readFileSync(join(root, f), 'utf8')
    t.notMatch(text, /template|__[A-Z_]+__/i, `${f}: renamed everywhere, no placeholder left`)
  }
  // Each file is the template's, renamed: renaming the template's own text gives the same file.
  for (const f of fromTemplate) {
    const original = readFileSync(join(TEMPLATE, f), 'utf8')
    t.equal(
      readFileSync(join(root, f), 'utf8'),
      renameTemplate(original, 'tenant-stamp'),
      `${f} is the template's`,
    )
  }
})

t.test('new-plugin says HEADER once when the plugin name already ends in it', async (t) => {
  const dir = tempDir(t)
  const r = await run(['new-plugin', 'tenant-header'], { cwd: dir })
  t.equal(r.code, 0, r.stderr)
  const root = join(dir, 'gatehouse-plugin-tenant-header')
  const written = ['src/errors.ts', 'README.md', 'test/03-required-headers.test.ts'].map((f) =>
    readFileSync(join(root, f), 'utf8'),
  )
  for (const text of written) {
    t.match(text, /GH_TENANT_HEADER_REQUIRED/)
    t.notMatch(text, /HEADER_HEADER|__[A-Z_]+__/)
  }
})

t.test('new-plugin refuses a bad name (exit 2) and a non-empty directory (exit 1)', async (t) => {
  const dir = tempDir(t)
  const bad = await run(['new-plugin', 'Bad_Name'], { cwd: dir })
  t.equal(bad.code, 2)
  t.match(bad.stderr, /must be kebab-case/)
  writeFiles(dir, { 'keep.txt': 'x' })
  const full = await run(['new-plugin', 'ok', '--dir', dir])
  t.equal(full.code, 1)
  t.match(full.stderr, /exists and is not empty/)
})

t.test('the published JSON Schema accepts a good file and rejects a bad one', async (t) => {
  const schemaFile = new URL('../schema/gatehouse.schema.json', import.meta.url)
  const schema = JSON.parse(readFileSync(schemaFile, 'utf8'))
  t.equal(schema.title, 'Gatehouse gateway file')
  const ajv = new Ajv({ strict: false, allErrors: true })
  const validate = ajv.compile(schema)
  const good = parseConfigText(
    'services:\n  - name: a\n    url: http://127.0.0.1:9\n    routes: [{ paths: [/a], methods: [GET] }]\nplugins:\n  - name: jwt\n',
    'x.yaml',
    {},
  ).config
  t.ok(validate(good), JSON.stringify(validate.errors))
  t.notOk(validate({ services: [{ name: 'a', url: 'x', routes: [{ paths: ['no-slash'] }] }] }))
  t.notOk(validate({ servces: [] }), 'unknown top-level keys are errors, as in the gateway')
})
