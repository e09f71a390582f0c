/**
 * A probe: a module run in a Node process of its own, for what is per process (glibc's heap
 * thresholds, V8's flags, what the first `listen()` arms) and must not leak into the test's process.
 */
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { withoutTapHook } from '@gatehousejs/sdk/testing'
import type { Test } from 'tap'

/**
 * Runs `script` (an ES module) with `nodeArgs` and `env` added to the test's, asserts that it exits
 * cleanly, and returns what it printed as JSON.
 */
export async function runProbe<T>(
  t: Test,
  script: string,
  opts: { env?: Record<string, string>; nodeArgs?: string[] } = {},
): Promise<T> {
  const args = [...(opts.nodeArgs ?? []), '--input-type=module', '-e', script]
  const child = spawn(...withoutTapHook(process.execPath, args), {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, ...opts.env },
  })
  t.teardown(() => {
    child.kill()
  })
  let out = ''
  child.stdout!.setEncoding('utf8').on('data', (d: string) => {
    out += d
  })
  const [code] = (await once(child, 'close')) as [number]
  t.equal(code, 0, 'the probe process exits cleanly')
  return JSON.parse(out) as T
}
