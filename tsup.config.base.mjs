// One build config for every public package: ESM + CJS + .d.ts, node20 target.
// TS 6 needs ignoreDeprecations for tsup's d.ts pass (see shared/TOOLCHAIN.md).
import { readFile } from 'node:fs/promises'

/**
 * A package's own `package.json` is its one source of truth for its name and version: source files
 * import it (`import manifest from '../package.json' with { type: 'json' }`) and use
 * `manifest.version`, which works unchanged under tap (from source), tsc and the build. esbuild
 * inlines imported JSON, so this plugin hands it only `name` and `version`: the bundle carries no
 * dependency lists, scripts or test config.
 */
export const manifestFields = {
  name: 'gatehouse-manifest-fields',
  setup(build) {
    build.onLoad({ filter: /[\\/]package\.json$/ }, async (args) => {
      const { name, version } = JSON.parse(await readFile(args.path, 'utf8'))
      return { contents: JSON.stringify({ name, version }), loader: 'json' }
    })
  },
}

/** Comment characters esbuild copies verbatim, and their ASCII spelling. */
const ASCII_SPELLING = {
  '\u2500': '-',
  '\u2192': '->',
  '\u2190': '<-',
  '\u2026': '...',
  '\u00a7': 'section ',
  '\u00d7': 'x',
}

/**
 * Keeps every bundle pure ASCII. V8 holds each module's source for the life of the process (lazy
 * compilation needs it) and stores it as a two-byte string when any character in it is above U+00FF:
 * a single arrow in a comment doubled what core's 0.8 MB bundle kept in every gateway's heap.
 * esbuild escapes such characters in code (its default ASCII charset) but copies the comments it
 * keeps in class bodies verbatim: this spells them in ASCII, and fails the build on any that is not
 * on a comment line.
 */
export const asciiOutput = {
  name: 'gatehouse-ascii-output',
  renderChunk(code, info) {
    const outside = /[\u0080-\uffff]/
    if (!/\.c?js$/.test(info.path) || !outside.test(code)) return undefined
    const lines = code.split('\n')
    for (let i = 0; i < lines.length; i++) {
      if (!outside.test(lines[i])) continue
      if (!/^\s*(\/\/|\/\*|\*)/.test(lines[i])) {
        throw new Error(
          `${info.path}:${i + 1}: a character outside ASCII outside a comment: ${lines[i].trim()}`,
        )
      }
      lines[i] = lines[i].replace(
        /[\u0080-\uffff]/g,
        (c) => ASCII_SPELLING[c] ?? `\\u${c.codePointAt(0).toString(16).padStart(4, '0')}`,
      )
    }
    return { code: lines.join('\n') }
  },
}

export function packageConfig(entry) {
  return {
    entry,
    format: ['esm', 'cjs'],
    target: 'node20',
    platform: 'node',
    dts: { compilerOptions: { ignoreDeprecations: '6.0' } },
    // No source maps in the packages: esbuild's maps name `../src/*.ts` and tsup's CJS shim under
    // node_modules/.pnpm, none of which a package ships, so a user's bundler or debugger would look
    // for files that are not there. The bundles are plain, unminified JavaScript and read as they are.
    sourcemap: false,
    clean: true,
    splitting: false,
    treeshake: false,
    // import.meta.url in the CJS build (the CLI finds its template and its own install with it).
    shims: true,
    esbuildPlugins: [manifestFields],
    plugins: [asciiOutput],
  }
}
