import { defineConfig } from 'tsup'
import { packageConfig } from '../../tsup.config.base.mjs'

// One entry per export of package.json: the root and each subpath.
export default defineConfig(
  packageConfig({
    index: 'src/index.ts',
    testing: 'src/testing/index.ts',
    redis: 'src/redis/index.ts',
    transform: 'src/transform/index.ts',
    config: 'src/config/index.ts',
    host: 'src/host/index.ts',
  }),
)
