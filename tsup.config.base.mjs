// One build config for every public package: ESM + CJS + .d.ts, node20 target.
// TS 6 needs ignoreDeprecations for tsup's d.ts pass (see shared/TOOLCHAIN.md).
export function packageConfig(entry) {
  return {
    entry,
    format: ['esm', 'cjs'],
    target: 'node20',
    platform: 'node',
    dts: { compilerOptions: { ignoreDeprecations: '6.0' } },
    sourcemap: true,
    clean: true,
    splitting: false,
    treeshake: false,
  }
}
