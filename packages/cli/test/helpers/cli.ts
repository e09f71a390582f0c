import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, posix } from 'node:path'
import { fileURLToPath } from 'node:url'
import { withoutTapHook } from '@gatehousejs/sdk/testing'

export const BIN = fileURLToPath(new URL('../../bin/gatehouse.js', import.meta.url))

export interface TestLike {
  teardown(fn: () => unknown): void
}

/** A temporary directory removed at teardown. */
export function tempDir(t: TestLike, prefix = 'gatehouse-cli-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

/** Every file under `dir`, as paths relative to it (with `/`). */
export function filesUnder(dir: string, prefix = ''): string[] {
  return readdirSync(join(dir, prefix), { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? filesUnder(dir, posix.join(prefix, e.name)) : [posix.join(prefix, e.name)],
  )
}

/** Writes `files` (name → text) into `dir`; returns the path of the first. */
export function writeFiles(dir: string, files: Record<string, string>): string {
  let first = ''
  for (const [name, text] of Object.entries(files)) {
    const p = join(dir, name)
    writeFileSync(p, text)
    if (!first) first = p
  }
  return first
}

export interface RunResult {
  code: number | null
  stdout: string
  stderr: string
}

/** Runs the CLI to completion. `timeout` is a hang guard, not a timing assertion: generous, because
 * `npm test` runs two packages at once and a loaded 2-core machine can take tens of seconds to start one. */
export function run(
  args: string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv; timeout?: number } = {},
) {
  return new Promise<RunResult>((resolve, reject) => {
    const child = spawn(...withoutTapHook(process.execPath, [BIN, ...args], options.env), {
      cwd: options.cwd,
      env: { ...process.env, ...options.env },
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => {
      stdout += d
    })
    child.stderr.on('data', (d) => {
      stderr += d
    })
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`gatehouse ${args.join(' ')} did not finish in time\n${stderr}`))
    }, options.timeout ?? 120_000)
    child.on('close', (code) => {
      clearTimeout(timer)
      resolve({ code, stdout, stderr })
    })
  })
}

export interface Started {
  child: ChildProcess
  url: string
  admin: string | undefined
  status: string | undefined
  /** Everything written so far (stdout and stderr). */
  output(): string
  /** Stops it (SIGTERM by default) and resolves with its exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>
}

/** Starts `gatehouse start …` and waits for its "listening on" line; stopped at teardown. */
export function start(
  t: TestLike,
  args: string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv; timeout?: number; bin?: string } = {},
): Promise<Started> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      ...withoutTapHook(process.execPath, [options.bin ?? BIN, 'start', ...args], options.env),
      {
        cwd: options.cwd,
        env: { ...process.env, ...options.env },
      },
    )
    let out = ''
    let done = false
    // 'close', not 'exit': by then everything the process wrote has been read into `out`.
    const exited = new Promise<number | null>((r) => child.once('close', (code) => r(code)))
    const stop = async (signal: NodeJS.Signals = 'SIGTERM') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal)
      return exited
    }
    t.teardown(() => stop('SIGKILL'))
    const onData = (d: Buffer) => {
      out += d
      const m =
        /listening on (https?:\/\/[^\s,]+)(?:, admin API on (http:\/\/[^\s,]+))?(?:, status on (http:\/\/[^\s,]+))?/.exec(
          out,
        )
      if (m && !done) {
        done = true
        clearTimeout(timer)
        resolve({ child, url: m[1] as string, admin: m[2], status: m[3], output: () => out, stop })
      }
    }
    child.stdout?.on('data', onData)
    child.stderr?.on('data', onData)
    const timer = setTimeout(() => {
      if (done) return
      done = true
      child.kill('SIGKILL')
      reject(new Error(`gatehouse start did not listen in time:\n${out}`))
    }, options.timeout ?? 120_000)
    child.once('exit', (code) => {
      if (done) return
      done = true
      clearTimeout(timer)
      reject(Object.assign(new Error(`gatehouse start exited with ${code}:\n${out}`), { code, output: out }))
    })
  })
}
