import { defineConfig } from 'tsup'

// ESM + CJS + type declarations, so both `import` and `require` users can load the plugin.
export default defineConfig({
  entry: { index: 'src/index.ts' },
  format: ['esm', 'cjs'],
  target: 'node20',
  platform: 'node',
  dts: { compilerOptions: { ignoreDeprecations: '6.0' } },
  sourcemap: true,
  clean: true,
})
