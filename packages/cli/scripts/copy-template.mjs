// Writes template/plugin/, what `gatehouse new-plugin` copies, from plugins/_template: one template,
// one source of truth. The plugin's own files (src/, test/, README.md) are copied as they are, minus
// the README's `<!-- template-only -->` blocks; package.json is _template's, made standalone (no
// workspace ranges, no `private`, the build and test tools as dev dependencies at the versions this
// repository uses); tsconfig.json, tsup.config.mjs and gitignore come from template/standalone/,
// since _template's extend the repository's shared configs. `new-plugin` then replaces the name.
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'

const SOURCE = new URL('../../../plugins/_template/', import.meta.url)
const STANDALONE = new URL('../template/standalone/', import.meta.url)
const OUT = new URL('../template/plugin/', import.meta.url)
const ROOT_MANIFEST = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8'))

/** The README without what is true only of the folder in this repository (it is private, copy it). */
function standaloneReadme(text) {
  return text.replace(/<!-- template-only -->[\s\S]*?<!-- \/template-only -->\n*/g, '')
}

/** _template's package.json as a package of its own; `__SDK__`, `__SDK_PEER__`, `__CORE__` are filled by new-plugin. */
function standaloneManifest(manifest, tools) {
  const { private: _private, devDependencies: _dev, peerDependencies: _peer, scripts, ...rest } = manifest
  return {
    ...rest,
    version: '0.1.0',
    description: 'A Gatehouse plugin: template',
    scripts: { ...scripts, prepack: 'tsup' },
    peerDependencies: { '@gatehousejs/sdk': '__SDK_PEER__' },
    devDependencies: {
      '@gatehousejs/core': '__CORE__',
      '@gatehousejs/sdk': '__SDK__',
      ...Object.fromEntries(['@types/node', 'tap', 'tsup', 'typescript'].map((name) => [name, tools[name]])),
    },
  }
}

if (!existsSync(SOURCE)) throw new Error(`copy-template: ${SOURCE.pathname} is missing`)
rmSync(OUT, { recursive: true, force: true })
mkdirSync(OUT, { recursive: true })
for (const dir of ['src', 'test'])
  cpSync(new URL(`${dir}/`, SOURCE), new URL(`${dir}/`, OUT), { recursive: true })
writeFileSync(new URL('README.md', OUT), standaloneReadme(readFileSync(new URL('README.md', SOURCE), 'utf8')))
const manifest = JSON.parse(readFileSync(new URL('package.json', SOURCE), 'utf8'))
// As `package.json.tmpl`: a nested package.json with `exports` inside the CLI's tarball would be
// read by some tools as a package of its own (publint refuses it).
writeFileSync(
  new URL('package.json.tmpl', OUT),
  `${JSON.stringify(standaloneManifest(manifest, ROOT_MANIFEST.devDependencies), null, 2)}\n`,
)
cpSync(STANDALONE, OUT, { recursive: true })
