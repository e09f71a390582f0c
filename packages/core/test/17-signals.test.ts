import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { fileURLToPath } from 'node:url'
import { request, withoutTapHook } from '@gatehousejs/sdk/testing'
import t from 'tap'
import { waitUntil } from './helpers/http.js'

const fixture = fileURLToPath(new URL('./fixtures/signal-gateway.mjs', import.meta.url))

function startGatewayProcess(t: { teardown(fn: () => void): void }) {
  const child = spawn(...withoutTapHook(process.execPath, [fixture]), {
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  })
  const events: Array<Record<string, string>> = []
  let buffered = ''
  const listening = new Promise<string>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => {
      buffered += d.toString()
      let nl = buffered.indexOf('\n')
      while (nl >= 0) {
        const ev = JSON.parse(buffered.slice(0, nl))
        events.push(ev)
        if (ev.event === 'listening') resolve(ev.url)
        buffered = buffered.slice(nl + 1)
        nl = buffered.indexOf('\n')
      }
    })
    child.once('exit', () => reject(new Error('the gateway process exited before listening')))
  })
  return { child, events, listening }
}

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  t.test(`${signal}: in-flight requests finish, plugins close, the process ends by the signal`, async (t) => {
    const { child, events, listening } = startGatewayProcess(t)
    const url = await listening
    const inFlight = request(url, { path: '/slow' })
    await waitUntil(() => events.some((e) => e.event === 'upstream-request'), 10_000, 'the request upstream')
    const exited = once(child, 'exit')
    child.kill(signal)
    const res = await inFlight
    t.equal(res.status, 200, 'the request in flight when the signal came is answered')
    t.equal(res.text, 'slow ok')
    const [code, sig] = await Promise.race([
      exited,
      new Promise<never>((_, reject) =>
        setTimeout(() => reject(new Error('process did not exit in 10 s')), 10_000),
      ),
    ])
    t.equal(sig, signal, 'the process re-raises the signal after closing, so it ends as a signalled process')
    t.equal(code, null)
    t.ok(
      events.some((e) => e.event === 'plugin-closed'),
      'plugin close() ran before exit',
    )
    await t.rejects(request(url, { path: '/after', timeout: 2000 }), 'no new connections after close')
  })
}
