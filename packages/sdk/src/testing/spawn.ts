import { existsSync } from 'node:fs'

/** tap's processinfo hook as a Node option: `--import=…/@tapjs/processinfo/…` (or `--require`, `--loader`), quoted or not. */
const HOOK_OPTION =
  /"?--(?:import|require|loader|experimental-loader)[= ][^\s"]*@tapjs[\\/]processinfo[^\s"]*"?(?=\s|$)/g
const HOOK_ARG = /^--(?:import|require|loader|experimental-loader)=.*@tapjs[\\/]processinfo/

/**
 * `[command, args]` to spawn `command` without tap's processinfo hook when tap runs with coverage
 * off: `spawn(...withoutTapHook(process.execPath, [file]), options)`.
 *
 * tap wraps `child_process` so that every descendant process loads its hook through `NODE_OPTIONS`,
 * to report coverage. With coverage off (`TAP_DISABLE_COVERAGE=1`, tap's `--disable-coverage`) the
 * hook only records which files each process loaded, at 0.2–0.6 CPU-s per process start, and it keeps
 * a child's event loop busy at exit, which can hide a lost last log line. The command runs through
 * `/usr/bin/env -u NODE_OPTIONS`, which execs it: `child.pid` is the command's own PID, so
 * `process.kill(child.pid, 'SIGTERM')` reaches it and `exit` reports its code or signal. Any other
 * `NODE_OPTIONS` are kept, and a hook option in `args` (`[...process.execArgv, file]`) is dropped.
 *
 * With coverage on, outside tap, or where `/usr/bin/env` does not exist (Windows), `command` and
 * `args` are returned unchanged, so coverage still counts the child.
 *
 * @param env the variables the child gets over `process.env` (`{ ...process.env, ...env }`): its
 * `NODE_OPTIONS`, when set, is the one kept.
 */
export function withoutTapHook(
  command: string,
  args: readonly string[],
  env?: NodeJS.ProcessEnv,
): [string, string[]] {
  if (process.env.TAP_DISABLE_COVERAGE !== '1' || !existsSync('/usr/bin/env')) return [command, [...args]]
  const options = env?.NODE_OPTIONS ?? process.env.NODE_OPTIONS ?? ''
  const kept = options.replace(HOOK_OPTION, '').trim()
  return [
    '/usr/bin/env',
    [
      '-u',
      'NODE_OPTIONS',
      ...(kept === '' ? [] : [`NODE_OPTIONS=${kept}`]),
      command,
      ...args.filter((a) => !HOOK_ARG.test(a)),
    ],
  ]
}
