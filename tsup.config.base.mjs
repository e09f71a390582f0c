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
  }
}
