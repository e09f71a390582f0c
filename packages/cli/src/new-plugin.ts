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
// Written at build time from plugins/_template by scripts/copy-template.mjs: one template, not two.
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
    // npm drops `.gitignore` from published tarballs, so the template keeps it as `gitignore`; a
    // package.json in the CLI's tarball would be taken for a nested package, so it is `.tmpl`.
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
 * A text of plugins/_template, renamed. The template's plugin is `template` (package
 * `@gatehousejs/plugin-template`, codes `GH_TEMPLATE_…`, `TemplateSchema`, `templateAccess`); each
 * spelling becomes the new name's: `tenant-stamp` gives `gatehouse-plugin-tenant-stamp`,
 * `GH_TENANT_STAMP_…`, `TenantStampSchema`, `tenantStampAccess`, `name: 'tenant-stamp'` and, as a
 * variable, `tenantStamp`. A name that already ends in `header` does not say HEADER twice:
 * `tenant-header` gives `GH_TENANT_HEADER_REQUIRED`.
 */
export function renameTemplate(text: string, name: string): string {
  const camel = name.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase())
  const pascal = `${camel.charAt(0).toUpperCase()}${camel.slice(1)}`
  const upper = name.toUpperCase().replace(/-/g, '_')
  const headerArea = upper === 'HEADER' || upper.endsWith('_HEADER') ? upper : `${upper}_HEADER`
  return (
    text
      .replaceAll('@gatehousejs/plugin-template', `gatehouse-plugin-${name}`)
      .replaceAll('GH_TEMPLATE_HEADER_', `GH_${headerArea}_`)
      .replace(/(?<![A-Za-z])TEMPLATE(?![A-Za-z])/g, upper)
      .replace(/\bTemplate(?=[A-Z])/g, pascal)
      .replace(/\btemplate(?=[A-Z])/g, camel)
      // The name as a configuration writes it: quoted, in backticks, or at the start of a pattern.
      .replace(/(['"`^])template\b/g, `$1${name}`)
      // What is left is code: the definition's variable.
      .replace(/\btemplate\b/g, camel)
  )
}

/**
 * `gatehouse new-plugin <name>`: writes a plugin package (source, tests against a real gateway,
 * README, build config) that builds, tests and packs with plain npm: plugins/_template, renamed.
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
    renameTemplate(text, name)
      .replaceAll('__SDK_PEER__', range)
      .replaceAll('__SDK__', options.sdk ?? range)
      .replaceAll('__CORE__', options.core ?? range)
  const written = await copyTree(TEMPLATE, dir, fill)
  const shown = relative(process.cwd(), dir) || '.'
  out.log(`created gatehouse-plugin-${name} in ${shown} (${written.length} files)

Next:
  cd ${shown}
  npm install
  npm test        # runs its tests against a real gateway and upstream
  npm pack        # builds it (dist/) and writes the tarball to publish (npm publish when ready)

Use it from a gateway file installed next to it: plugins: [{ name: ${name} }]`)
  return 0
}
