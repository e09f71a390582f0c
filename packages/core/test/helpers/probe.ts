/**
 * Process-wide settings in tests. A probe is a module run in a Node process of its own, for what is
 * per process (glibc's heap thresholds, V8's flags, what the first `listen()` arms) and must not leak
 * into the test's process; a refused setting fails `listen()` before anything is armed, so that is
 * checked in the test's process.
 */
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { createGateway } from '@gatehousejs/core'
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

/**
 * Sets the environment variable `name` to each of `bad` in turn and checks that `listen()` rejects
 * with a `TypeError` whose message matches `message(bad)`; the variable is restored afterwards.
 */
export async function refusedByListen(
  t: Test,
  name: string,
  bad: string[],
  message: (value: string) => RegExp,
): Promise<void> {
  const saved = process.env[name]
  t.teardown(() => {
    if (saved === undefined) delete process.env[name]
    else process.env[name] = saved
  })
  for (const value of bad) {
    process.env[name] = value
    const gw = await createGateway(
      { services: [{ name: 'o', url: 'http://127.0.0.1:9', routes: [{ paths: ['/'] }] }] },
      { logger: false, handleSignals: false },
    )
    await t.rejects(
      gw.listen({ port: 0, host: '127.0.0.1' }),
      { name: 'TypeError', message: message(value) },
      `${JSON.stringify(value)} is refused before the gateway listens`,
    )
    await gw.close()
  }
}
