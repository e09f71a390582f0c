import { writeFileSync } from 'node:fs'
import { request, startUpstream, waitFor } from '@gatehousejs/sdk/testing'
import t from 'tap'
import { start, tempDir, writeFiles } from './helpers/cli.js'
import { pluginSource } from './helpers/plugins.js'

// `gatehouse start`: serves the file, reloads it on change and on SIGHUP without failing a request,
// keeps the running config when the new one is invalid, and stops gracefully on SIGTERM.

function gatewayYaml(upstreamUrl: string, value: string): string {
  return `services:
  - name: echo
    url: ${upstreamUrl}
    routes:
      - name: echo
        paths: [/]
plugins:
  - name: ./stamp.mjs
    config: { value: ${value} }
`
}

/** A reload is a file watch or a signal away: polled for up to 15 s. */
const RELOAD = { timeout: 15_000, interval: 100 }

t.test('a file change reloads under load with no failed request; an invalid one is kept out', async (t) => {
  const upstream = await startUpstream({ t })
  const dir = tempDir(t)
  writeFiles(dir, { 'stamp.mjs': pluginSource('stamp') })
  const file = writeFiles(dir, { 'gateway.yaml': gatewayYaml(upstream.url, 'v1') })
  const gw = await start(t, [file, '--port', '0', '--host', '127.0.0.1'])

  const first = await request(gw.url, { path: '/a' })
  t.equal(first.status, 200)
  t.equal(upstream.last()?.headers['x-stamp'], 'v1')

  // Load: sequential requests from 4 clients for as long as the reload takes (bounded: 2000 requests).
  let stop = false
  const statuses = new Map<number, number>()
  let sent = 0
  const client = async () => {
    while (!stop && sent < 2000) {
      sent++
      const r = await request(gw.url, { path: '/load' }).catch(() => ({ status: 0 }))
      statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1)
    }
  }
  const clients = [client(), client(), client(), client()]
  await new Promise((r) => setTimeout(r, 200))
  writeFileSync(file, gatewayYaml(upstream.url, 'v2'))
  await waitFor('the reload', async () => upstream.last()?.headers['x-stamp'] === 'v2', RELOAD)
  await new Promise((r) => setTimeout(r, 200))
  stop = true
  await Promise.all(clients)
  t.same([...statuses.keys()], [200], `every request under load answered 200 (${sent} sent)`)
  await waitFor('the reload logged', async () => /configuration file applied/.test(gw.output()), RELOAD)
  t.match(gw.output(), /configuration file applied/)

  // An invalid file: refused, logged with its place, and the running config stays.
  writeFileSync(file, gatewayYaml(upstream.url, 'v3').replace('paths: [/]', 'paths: [nope]'))
  await waitFor('the refusal', async () => /configuration file refused/.test(gw.output()), RELOAD)
  t.match(gw.output(), /gateway\.yaml:6:17 \/services\/0\/routes\/0\/paths\/0/)
  const after = await request(gw.url, { path: '/b' })
  t.equal(after.status, 200)
  t.equal(upstream.last()?.headers['x-stamp'], 'v2', 'still the last good config')

  await gw.stop('SIGTERM')
  t.equal(gw.child.signalCode, 'SIGTERM', 'SIGTERM stops it, re-raised after the graceful close')
  t.match(gw.output(), /"msg":"closing gracefully"[\s\S]*"msg":"gateway closed"/, 'after draining')
})

t.test('SIGHUP reloads (with --no-watch, a change alone does not)', async (t) => {
  const upstream = await startUpstream({ t })
  const dir = tempDir(t)
  writeFiles(dir, { 'stamp.mjs': pluginSource('stamp') })
  const file = writeFiles(dir, { 'gateway.yaml': gatewayYaml(upstream.url, 'one') })
  const gw = await start(t, [file, '--port', '0', '--host', '127.0.0.1', '--no-watch'])
  writeFileSync(file, gatewayYaml(upstream.url, 'two'))
  await new Promise((r) => setTimeout(r, 800))
  await request(gw.url, { path: '/x' })
  t.equal(upstream.last()?.headers['x-stamp'], 'one', 'no reload without a signal')
  gw.child.kill('SIGHUP')
  await waitFor(
    'the SIGHUP reload',
    async () => {
      await request(gw.url, { path: '/y' })
      return upstream.last()?.headers['x-stamp'] === 'two'
    },
    RELOAD,
  )
  // The new config serves as soon as the gateway has swapped it in; the CLI logs "configuration file
  // applied" (with the reason) once the reload's promise has resolved, which can reach the output
  // after the answer above has reached the test.
  await waitFor(
    'the reload logged with its reason',
    async () => /"reason":"SIGHUP"/.test(gw.output()),
    RELOAD,
  )
  t.match(gw.output(), /"reason":"SIGHUP"/)
  t.pass('SIGHUP applied the new file')
})

t.test('a port in use exits 3 with a clear message', async (t) => {
  const upstream = await startUpstream({ t })
  const dir = tempDir(t)
  writeFiles(dir, { 'stamp.mjs': pluginSource('stamp') })
  const file = writeFiles(dir, { 'gateway.yaml': gatewayYaml(upstream.url, 'x') })
  const err = (await start(t, [
    file,
    '--port',
    String(upstream.port),
    '--host',
    '127.0.0.1',
    '--no-watch',
  ]).catch((e: unknown) => e)) as { code?: number; output?: string }
  t.equal(err.code, 3)
  t.match(err.output, /cannot listen: .*EADDRINUSE/)
})

// The process-wide memory settings core reads at the first listen() (docs/operating.md).
const badMemorySettings = [
  {
    name: 'GATEHOUSE_HEAP_KEEP_AFTER',
    value: 'soon',
    message: /GATEHOUSE_HEAP_KEEP_AFTER must be a whole number of upstream reads .* got "soon"/,
  },
  {
    name: 'GATEHOUSE_BODY_GC_EVERY',
    value: '1kb',
    message: /GATEHOUSE_BODY_GC_EVERY must be a size of at least 64kb .* got "1kb"/,
  },
]
for (const { name, value, message } of badMemorySettings) {
  t.test(`a bad ${name} exits 3 naming the variable`, async (t) => {
    const upstream = await startUpstream({ t })
    const dir = tempDir(t)
    writeFiles(dir, { 'stamp.mjs': pluginSource('stamp') })
    const file = writeFiles(dir, { 'gateway.yaml': gatewayYaml(upstream.url, 'x') })
    const err = (await start(t, [file, '--port', '0', '--host', '127.0.0.1', '--no-watch'], {
      env: { [name]: value },
    }).catch((e: unknown) => e)) as { code?: number; output?: string }
    t.equal(err.code, 3)
    t.match(err.output, message)
  })
}
