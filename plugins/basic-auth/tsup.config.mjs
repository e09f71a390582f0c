import { defineConfig } from 'tsup'
import { packageConfig } from '../../tsup.config.base.mjs'

// `cli` is the hash helper's command line (`gatehouse-basic-auth-hash`); esbuild keeps its #! line.
export default defineConfig(packageConfig({ index: 'src/index.ts', cli: 'src/cli.ts' }))
