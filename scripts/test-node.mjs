#!/usr/bin/env node
// `npm run test:node -- <major> [npm test arguments]`: the whole of `npm test` (install, build, lint,
// typecheck, every test) on another major version of Node, e.g. `npm run test:node -- 24` or
// `npm run test:node -- 22 core`. The Node comes from the npm registry: npx installs the `node`
// package, which fetches the official binary for this platform, into npx's cache. Only the binary's
// path is taken from npx: the tests run with this process's environment and that binary first on PATH
// (for pnpm, turbo, tap and the processes tests spawn), not inside `npx -c`, whose `npm_config_*`
// variables would reach the `npx` commands the packaging test runs. The dependency tree has no native
// addon, so the tree installed for one Node serves every other.
import { spawnSync } from 'node:child_process'
import { delimiter, dirname } from 'node:path'
import { root } from './pnpm.mjs'

const [major, ...rest] = process.argv.slice(2)
if (!/^[1-9]\d*$/.test(major ?? '')) {
  console.error('usage: npm run test:node -- <major> [npm test arguments], e.g. npm run test:node -- 24')
  process.exit(2)
}
const probe = spawnSync('npx', ['-y', '-p', `node@${major}`, '-c', 'node -p "process.execPath"'], {
  cwd: root,
  encoding: 'utf8',
  stdio: ['ignore', 'pipe', 'inherit'],
})
const node = probe.status === 0 ? probe.stdout.trim().split('\n').pop() : undefined
if (!node) {
  console.error(`could not get Node ${major} from the npm registry (npx exit ${probe.status})`)
  process.exit(1)
}
const version = spawnSync(node, ['-v'], { encoding: 'utf8' }).stdout.trim()
// The `node` package's versions trail the official releases by a few weeks.
console.log(`› npm test on Node ${version} (${node})`)
const run = spawnSync(node, ['scripts/test.mjs', ...rest], {
  cwd: root,
  stdio: 'inherit',
  env: { ...process.env, PATH: `${dirname(node)}${delimiter}${process.env.PATH ?? ''}` },
})
if (run.error) console.error(`could not start the tests: ${run.error.message}`)
process.exit(run.status ?? 1)
