import { readFile } from 'node:fs/promises'
import { defineConfig } from 'tsup'

// src/index.ts imports package.json for its version; the bundle keeps only its name and version.
const manifestFields = {
  name: 'manifest-fields',
  setup(build) {
    build.onLoad({ filter: /[\\/]package\.json$/ }, async (args) => {
      const { name, version } = JSON.parse(await readFile(args.path, 'utf8'))
      return { contents: JSON.stringify({ name, version }), loader: 'json' }
    })
  },
}

// ESM + CJS + type declarations, so both `import` and `require` users can load the plugin.
export default defineConfig({
  entry: { index: 'src/index.ts' },
  format: ['esm', 'cjs'],
  target: 'node20',
  platform: 'node',
  dts: { compilerOptions: { ignoreDeprecations: '6.0' } },
  // No source maps: they would name src/*.ts, which the package does not ship (`files: ["dist"]`).
  sourcemap: false,
  clean: true,
  esbuildPlugins: [manifestFields],
})
