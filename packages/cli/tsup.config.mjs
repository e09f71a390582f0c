import { defineConfig } from 'tsup'
import { packageConfig } from '../../tsup.config.base.mjs'

export default defineConfig({
  ...packageConfig({ index: 'src/index.ts', cli: 'src/cli.ts' }),
  // Each command imports what it needs with import(): the ESM build (which bin/gatehouse.js runs) is
  // split into chunks so that those imports stay lazy. Unsplit, esbuild hoists every dependency's
  // import to the top of dist/cli.js, and `gatehouse --help` would load a gateway. Left undefined,
  // tsup splits the ESM build and leaves the CJS build in one file (whose lazy parts use require()).
  splitting: undefined,
})
