import { defineConfig } from 'tsup'
import { packageConfig } from '../../tsup.config.base.mjs'

export default defineConfig(
  packageConfig({ index: 'src/index.ts', testing: 'src/testing/index.ts', redis: 'src/redis/index.ts' }),
)
