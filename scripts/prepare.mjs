// What both `npm test` and `npm run demo` do first: install what is missing, then build.
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { pnpm, root } from './pnpm.mjs'

export function prepare({ quiet = false } = {}) {
  const major = Number(process.versions.node.split('.')[0])
  const minor = Number(process.versions.node.split('.')[1])
  if (major < 20 || (major === 20 && minor < 19)) {
    console.error(`Gatehouse needs Node >= 20.19; this is ${process.version}.`)
    process.exit(1)
  }
  const stdio = quiet ? ['ignore', 'ignore', 'inherit'] : 'inherit'
  if (!existsSync(join(root, 'node_modules', '.modules.yaml')) || process.env.CI) {
    console.log('› installing dependencies (pnpm install)')
  }
  if (pnpm(['install', '--frozen-lockfile', '--prefer-offline'], { stdio }) !== 0) {
    console.error('pnpm install failed')
    process.exit(1)
  }
  console.log('› building packages (turbo run build)')
  if (pnpm(['exec', 'turbo', 'run', 'build', '--output-logs=errors-only'], { stdio }) !== 0) {
    console.error('build failed')
    process.exit(1)
  }
}
