#!/usr/bin/env node
// Runs the pinned pnpm (package.json "packageManager") with the given arguments: the one on PATH when
// it is the right version, otherwise through `npx -y pnpm@<version>`, which needs only Node and npm
// and also puts pnpm on PATH for child processes (turbo calls pnpm).
import { spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

export const root = join(dirname(fileURLToPath(import.meta.url)), '..')
export const pnpmVersion = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).packageManager.split(
  '@',
)[1]

let command
export function pnpmCommand() {
  if (command) return command
  const probe = spawnSync('pnpm', ['--version'], { encoding: 'utf8' })
  command =
    probe.status === 0 && probe.stdout.trim() === pnpmVersion
      ? ['pnpm']
      : ['npx', '-y', `pnpm@${pnpmVersion}`]
  return command
}

/** Runs pnpm synchronously with inherited stdio; returns the exit status. */
export function pnpm(args, options = {}) {
  const [cmd, ...pre] = pnpmCommand()
  const r = spawnSync(cmd, [...pre, ...args], { stdio: 'inherit', cwd: root, ...options })
  return r.status ?? 1
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  process.exit(pnpm(process.argv.slice(2)))
}
