#!/usr/bin/env node
// `npm run pack [-- --out DIR] [-- --no-build]`: installable tarballs of every public package in one
// folder (default `tarballs/`), packed by the pinned pnpm, which rewrites `workspace:` ranges into the
// versions they point at, as `changeset publish` does. Prints the `npm install` line that uses them,
// so a build can be tried in any project before it is published. --no-build: skip the install and
// build (when they are done already, as in `npm test`).
import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { pnpmCommand, root } from './pnpm.mjs'
import { prepare } from './prepare.mjs'

const { values } = parseArgs({
  options: { out: { type: 'string', default: join(root, 'tarballs') }, 'no-build': { type: 'boolean' } },
})
const out = resolve(values.out)

/** The packages a release publishes: every package under packages/ and plugins/ that is not private. */
export function publicPackages() {
  const found = []
  for (const group of ['packages', 'plugins']) {
    for (const entry of readdirSync(join(root, group)).sort()) {
      const file = join(root, group, entry, 'package.json')
      if (!existsSync(file)) continue
      const manifest = JSON.parse(readFileSync(file, 'utf8'))
      if (!manifest.private)
        found.push({ name: manifest.name, version: manifest.version, dir: join(root, group, entry) })
    }
  }
  return found
}

if (!values['no-build']) await prepare({ quiet: true })
mkdirSync(out, { recursive: true })
for (const old of readdirSync(out)) if (old.endsWith('.tgz')) rmSync(join(out, old))

// One recursive `pnpm pack` for all of them (two at a time), not one pnpm per package: pnpm's own
// start was most of the time (17 s for 22 packages, now 1-2 s). The tarballs hold the same files;
// the order in which pnpm writes rewritten `workspace:` ranges into package.json varies from run to
// run either way.
const packages = publicPackages()
const [cmd, ...pre] = pnpmCommand()
const r = spawnSync(
  cmd,
  [
    ...pre,
    '--recursive',
    ...packages.map((pkg) => `--filter=${pkg.name}`),
    'pack',
    '--pack-destination',
    out,
    '--json',
  ],
  { cwd: root, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 },
)
let packed = []
try {
  packed = r.status === 0 ? JSON.parse(r.stdout) : []
} catch {
  // reported below, with what pnpm printed
}
const byName = new Map(packed.map((p) => [p.name, p.filename]))
const tarballs = []
for (const pkg of packages) {
  const tarball = byName.get(pkg.name)
  if (!tarball || !existsSync(tarball)) {
    console.error(`could not pack ${pkg.name} (pnpm exit ${r.status}):\n${r.stdout}${r.stderr}`)
    process.exit(1)
  }
  tarballs.push(tarball)
  console.log(`packed ${pkg.name}@${pkg.version}`)
}

const quote = (p) => (/^[\w@./:+-]+$/.test(p) ? p : JSON.stringify(p))
console.log(`\n${tarballs.length} tarballs in ${out}. Try them in any project (outside this workspace):\n`)
console.log(`npm install ${tarballs.map(quote).join(' ')}`)
