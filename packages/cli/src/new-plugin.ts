import { existsSync } from 'node:fs'
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises'
import { join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

export interface NewPluginOptions {
  /** Where to create the package. Default `./gatehouse-plugin-<name>`. */
  dir?: string
  /** The dependency spec for @gatehousejs/sdk (e.g. a version range or `file:` tarball). */
  sdk?: string
  /** The dependency spec for @gatehousejs/core (used by the tests). */
  core?: string
  /** The CLI's version: the default ranges are `^<version>`. */
  version: string
}

const NAME = /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/
const TEMPLATE = fileURLToPath(new URL('../template/plugin/', import.meta.url))

async function copyTree(from: string, to: string, fill: (text: string) => string): Promise<string[]> {
  const written: string[] = []
  await mkdir(to, { recursive: true })
  for (const entry of await readdir(from, { withFileTypes: true })) {
    const src = join(from, entry.name)
    if (entry.isDirectory()) {
      written.push(...(await copyTree(src, join(to, entry.name), fill)))
      continue
    }
    // npm drops `.gitignore` from published tarballs, so the template keeps it as `gitignore`.
    const name =
      entry.name === 'gitignore'
        ? '.gitignore'
        : entry.name.endsWith('.tmpl')
          ? entry.name.slice(0, -5)
          : entry.name
    const dest = join(to, name)
    await writeFile(dest, fill(await readFile(src, 'utf8')))
    written.push(dest)
  }
  return written
}

/**
 * The template's error code for a missing required header, `GH_<PLUGIN>_HEADER_MISSING`, without
 * saying HEADER twice when the plugin's name already ends in it: `tenant-header` gives
 * `GH_TENANT_HEADER_MISSING`, `tenant-stamp` gives `GH_TENANT_STAMP_HEADER_MISSING`.
 */
export function headerMissingCode(name: string): string {
  const area = name.toUpperCase().replace(/-/g, '_')
  return area === 'HEADER' || area.endsWith('_HEADER') ? `GH_${area}_MISSING` : `GH_${area}_HEADER_MISSING`
}

/**
 * `gatehouse new-plugin <name>`: writes a plugin package (source, a test against a real gateway,
 * README, build config) that builds, tests and packs with plain npm.
 */
export async function newPlugin(name: string, options: NewPluginOptions, out: Console): Promise<number> {
  if (!NAME.test(name)) {
    out.error(`gatehouse: the plugin name must be kebab-case, e.g. "tenant-header" (got "${name}")`)
    return 2
  }
  const dir = resolve(options.dir ?? `gatehouse-plugin-${name}`)
  if (existsSync(dir) && (await readdir(dir)).length > 0) {
    out.error(`gatehouse: ${dir} exists and is not empty; choose another --dir`)
    return 1
  }
  const range = `^${options.version}`
  const fill = (text: string) =>
    text
      .replaceAll('__SDK_PEER__', range)
      .replaceAll('__SDK__', options.sdk ?? range)
      .replaceAll('__CORE__', options.core ?? range)
      .replaceAll('__MISSING_CODE__', headerMissingCode(name))
      .replaceAll('__NAME__', name)
  const written = await copyTree(TEMPLATE, dir, fill)
  const shown = relative(process.cwd(), dir) || '.'
  out.log(`created gatehouse-plugin-${name} in ${shown} (${written.length} files)

Next:
  cd ${shown}
  npm install
  npm test        # builds it and runs its tests against a real gateway
  npm pack        # the tarball to publish (npm publish when ready)

Use it from a gateway file installed next to it: plugins: [{ name: ${name} }]`)
  return 0
}
