import { execFile } from 'node:child_process'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join, posix } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { withoutTapHook } from '@gatehousejs/sdk/testing'
import t from 'tap'
import { filesUnder } from './helpers/cli.js'

// A release, rehearsed: `pnpm -r publish --dry-run` (what `changeset publish` runs) for every public
// package, and a check of the file list each would publish: what a user needs (the build, the
// LICENSE, the README, the package.json) and nothing else: no tests, no sources, no build config,
// no caches, no source map that names a file the package does not ship.

const exec = promisify(execFile)
const ROOT = fileURLToPath(new URL('../../../', import.meta.url))

interface Manifest {
  name: string
  version: string
  private?: boolean
  main?: string
  module?: string
  types?: string
  bin?: string | Record<string, string>
  exports?: unknown
  files?: string[]
}

interface Pkg {
  dir: string
  manifest: Manifest
}

function publicPackages(): Pkg[] {
  const out: Pkg[] = []
  for (const group of ['packages', 'plugins']) {
    for (const entry of readdirSync(join(ROOT, group)).sort()) {
      const file = join(ROOT, group, entry, 'package.json')
      if (!existsSync(file)) continue
      const manifest = JSON.parse(readFileSync(file, 'utf8')) as Manifest
      if (!manifest.private) out.push({ dir: join(ROOT, group, entry), manifest })
    }
  }
  return out
}

/**
 * The file list of each package from npm's dry-run report (`npm notice 📦  name@version`, then one
 * `npm notice <size> <path>` per file until `Tarball Details`).
 */
function fileLists(report: string): Map<string, string[]> {
  const lists = new Map<string, string[]>()
  let current: string[] | undefined
  for (const line of report.split('\n')) {
    const header = /^npm notice 📦\s+(\S+)@\d\S*\s*$/.exec(line)
    if (header) {
      current = []
      lists.set(header[1] as string, current)
      continue
    }
    if (/^npm notice Tarball Details/.test(line)) current = undefined
    const file = current && /^npm notice\s+[\d.]+[kMG]?B\s+(\S.*?)\s*$/.exec(line)
    if (file) current?.push(file[1] as string)
  }
  return lists
}

/** Every path a package.json points at: main, module, types, bin and the leaves of `exports`. */
function entryPoints(m: Manifest): string[] {
  const out: string[] = []
  const walk = (v: unknown) => {
    if (typeof v === 'string') out.push(v)
    else if (v && typeof v === 'object') for (const x of Object.values(v)) walk(x)
  }
  walk([m.main, m.module, m.types, m.bin, m.exports])
  return out.filter((p) => !p.includes('*')).map((p) => posix.normalize(p))
}

/** Top-level entries a package may ship: these, plus the folders its own `files` names. */
const ALWAYS = new Set(['LICENSE', 'README.md', 'CHANGELOG.md', 'package.json'])

/** What no package ships, wherever it sits (`template/` of the CLI is scaffold content: see below). */
const NEVER: [RegExp, string][] = [
  [/(^|\/)(test|tests|__tests__)\//, 'a test folder'],
  [/\.(test|spec)\.[cm]?[jt]sx?$/, 'a test file'],
  [/(^|\/)fixtures?\//, 'test fixtures'],
  [/(^|\/)src\//, 'sources (the bundles are what runs)'],
  [/(^|\/)tsconfig[^/]*\.json$/, 'a tsconfig'],
  [/(^|\/)tsup\.config\.[cm]?[jt]s$/, 'build config'],
  [/\.tsbuildinfo$/, 'a TypeScript build cache'],
  [/(^|\/)\.(turbo|tap|nyc_output)\//, 'a cache folder'],
  [/(^|\/)coverage\//, 'coverage'],
  [/(^|\/)node_modules\//, 'node_modules'],
  [/(^|\/)\.env/, 'an env file'],
  [/\.log$/, 'a log file'],
]

/**
 * The CLI's `template/plugin/` is what `gatehouse new-plugin` copies: plugins/_template (its sources,
 * tests, README and manifest as `package.json.tmpl`) and a standalone build config, all of which the user needs. These are
 * the only such files it may ship.
 */
const TEMPLATE = join(ROOT, 'plugins/_template')
const TEMPLATE_FILES = new Set(
  [
    ...['src', 'test'].flatMap((d) => filesUnder(TEMPLATE, d)),
    'README.md',
    'package.json.tmpl',
    'gitignore',
    'tsconfig.json',
    'tsup.config.mjs',
  ].map((f) => `template/plugin/${f}`),
)

t.test(
  'a publish dry run of every public package ships what a user needs and nothing else',
  { timeout: 600_000 },
  async (t) => {
    const packages = publicPackages()
    t.ok(packages.length >= 20, 'finds core, sdk, cli and the first-party plugins')

    // --force skips pnpm's "is this version on the registry already?" lookup, and npm's --offline its
    // login check: the rehearsal needs no network. --dry-run publishes nothing.
    // Without tap's hook: pnpm starts an npm process per package, and none of them needs it.
    const run = await exec(
      ...withoutTapHook(process.execPath, [
        join(ROOT, 'scripts/pnpm.mjs'),
        '-r',
        'publish',
        '--dry-run',
        '--no-git-checks',
        '--force',
      ]),
      {
        cwd: ROOT,
        env: { ...process.env, npm_config_offline: 'true', npm_config_update_notifier: 'false' },
        timeout: 540_000,
        maxBuffer: 64 * 1024 * 1024,
      },
    )
    const report = `${run.stdout}\n${run.stderr}`
    const lists = fileLists(report)

    for (const { dir, manifest } of packages) {
      const id = `${manifest.name}@${manifest.version}`
      t.match(
        run.stdout,
        new RegExp(`^\\+ ${id.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}$`, 'm'),
        `${id}: published (dry run)`,
      )
      const files = lists.get(manifest.name) ?? []
      t.comment(`${id} would publish ${files.length} files:\n  ${files.join('\n  ')}`)
      const shipped = new Set(files)

      // pnpm adds the workspace root's LICENSE to a package that has none (06-packaging compares it).
      for (const must of ['LICENSE', 'README.md', 'package.json'])
        t.ok(shipped.has(must), `${id}: ships ${must}`)
      const missing = entryPoints(manifest).filter((p) => !shipped.has(p))
      t.same(missing, [], `${id}: every entry point of package.json is shipped`)

      const roots = new Set([...ALWAYS, ...(manifest.files ?? [])])
      const stray = files.filter((f) => ![...roots].some((r) => f === r || f.startsWith(`${r}/`)))
      t.same(stray, [], `${id}: only LICENSE, README, package.json and its \`files\``)

      const unwanted: string[] = []
      for (const f of files) {
        if (f.startsWith('template/')) {
          if (!TEMPLATE_FILES.has(f)) unwanted.push(`${f} (not a known template file)`)
          continue
        }
        for (const [pattern, what] of NEVER) if (pattern.test(f)) unwanted.push(`${f} (${what})`)
        if (f.startsWith('dist/') && !/\.(js|cjs|mjs|d\.ts|d\.cts|d\.mts|json|map)$/.test(f)) {
          unwanted.push(`${f} (not a build output)`)
        }
      }
      t.same(unwanted, [], `${id}: no tests, sources, build config or caches`)

      // A source map is only useful when the sources it names ship with it.
      const dangling: string[] = []
      for (const f of files.filter((x) => x.endsWith('.map'))) {
        const map = JSON.parse(readFileSync(join(dir, f), 'utf8')) as {
          sources?: string[]
          sourceRoot?: string
        }
        for (const source of map.sources ?? []) {
          const target = posix.normalize(posix.join(posix.dirname(f), map.sourceRoot ?? '', source))
          if (!shipped.has(target)) dangling.push(`${f} → ${source}`)
        }
      }
      t.same(dangling, [], `${id}: no source map names a file the package does not ship`)
    }
    t.same(
      [...lists.keys()].sort(),
      packages.map((p) => p.manifest.name).sort(),
      'the dry run publishes exactly the public packages',
    )
  },
)
