#!/usr/bin/env node
// `npm run test:node -- <major> [npm test arguments]`: the whole of `npm test` (install, build, lint,
// typecheck, every test) on another major version of Node, e.g. `npm run test:node -- 24` or
// `npm run test:node -- 22 core`. The Node comes from the npm registry: npx installs the `node`
// package, which fetches the official binary for this platform, into npx's cache, and puts it first
// on PATH for everything the run starts (pnpm, turbo, tap and the processes tests spawn). The
// dependency tree has no native addon, so the tree installed for one Node serves every other.
import { spawnSync } from 'node:child_process'
import { root } from './pnpm.mjs'

const [major, ...rest] = process.argv.slice(2)
if (!/^[1-9]\d*$/.test(major ?? '')) {
  console.error('usage: npm run test:node -- <major> [npm test arguments], e.g. npm run test:node -- 24')
  process.exit(2)
}
const quote = (arg) => `'${arg.replaceAll("'", "'\\''")}'`
const command = ['node scripts/test.mjs', ...rest.map(quote)].join(' ')
const run = spawnSync('npx', ['-y', '-p', `node@${major}`, '-c', command], { stdio: 'inherit', cwd: root })
if (run.error) console.error(`npx could not start: ${run.error.message}`)
process.exit(run.status ?? 1)
