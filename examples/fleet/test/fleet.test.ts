import { spawn } from 'node:child_process'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { withoutTapHook } from '@gatehousejs/sdk/testing'
import t from 'tap'

// The demo as `npm run demo:fleet` runs it, in its bounded mode: redis-server, three nodes started by
// the CLI, two applies; it must converge, print the fleet table, and stop everything by itself.

const here = dirname(fileURLToPath(import.meta.url))

t.test('the fleet demo converges three nodes on the second apply and stops by itself', async (t) => {
  const child = spawn(
    ...withoutTapHook(process.execPath, [join(here, '..', 'start.mjs'), '--port', '0', '--for', '0']),
    {
      env: { ...process.env, REDIS_URL: '' },
    },
  )
  t.teardown(() => {
    child.kill('SIGKILL')
  })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (d) => {
    stdout += d
  })
  child.stderr.on('data', (d) => {
    stderr += d
  })
  const code = await new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`the demo did not stop in time:\n${stdout}\n${stderr}`)),
      200_000,
    )
    child.on('exit', (c) => {
      clearTimeout(timer)
      resolve(c)
    })
  })
  t.equal(code, 0, stderr)
  t.match(stdout, /published v1/, 'the first apply is published')
  t.match(stdout, /~ .*response-transformer/, 'diff names the plugin that changes')
  t.match(stdout, /published v2/, 'the second apply is published')
  t.match(stdout, /current v2 \([0-9a-f]{12}\), 3 nodes/)
  for (const id of ['a', 'b', 'c']) {
    t.match(
      stdout,
      new RegExp(`\\n${id} +\\S+ +\\d+ +\\S+ +v2 +[0-9a-f]{12} +in-sync`),
      `node ${id} is in sync on v2`,
    )
  }
  t.match(stdout, /admin API: GET \/fleet/)
  t.match(stdout, /Stopping in 0 s\./)
})
