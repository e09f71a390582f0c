import { spawn } from 'node:child_process'
import { request, startUpstream, withoutTapHook } from '@gatehousejs/sdk/testing'
import t from 'tap'
import { BIN, start, tempDir, writeFiles } from './helpers/cli.js'

// Logs a person can read: under a pseudo-terminal (util-linux `script`) `gatehouse start` logs through
// pino-pretty, coloured, one line per request; off a terminal it stays JSON unless asked.

// A plugin that names the consumer from a header, so the request line has one to show.
const WHO = `export default {
  name: 'who', version: '1.0.0', priority: 1000, apiVersion: 1,
  schema: { type: 'object' },
  init() {
    return {
      access(ctx) {
        const name = ctx.request.headers['x-who']
        if (name) ctx.setConsumer({ id: name, username: name, customId: undefined, groups: [] })
      },
    }
  },
}
`

function yaml(upstreamUrl: string): string {
  return `services:
  - name: echo
    url: ${upstreamUrl}
    routes: [{ name: echo-route, paths: [/] }]
plugins:
  - name: ./who.mjs
`
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: ANSI colour codes are what is tested
const ANSI = /\u001b\[[0-9;]*m/g

t.test('pretty under a pseudo-terminal: coloured, one line per request', async (t) => {
  const upstream = await startUpstream({ t })
  const dir = tempDir(t)
  writeFiles(dir, { 'who.mjs': WHO })
  const file = writeFiles(dir, { 'gateway.yaml': yaml(upstream.url) })
  const command = withoutTapHook(process.execPath, [
    BIN,
    'start',
    file,
    '--port',
    '0',
    '--host',
    '127.0.0.1',
    '--no-watch',
  ])
    .flat()
    .map((a) => `'${a}'`)
    .join(' ')
  // `script` gives the CLI a terminal for stdin, stdout and stderr; FORCE_COLOR is left unset.
  const env: NodeJS.ProcessEnv = { ...process.env, TERM: 'xterm-256color' }
  delete env.FORCE_COLOR
  delete env.NO_COLOR
  delete env.GATEHOUSE_LOG_FORMAT
  const child = spawn('script', ['-q', '-e', '-c', `exec ${command}`, '/dev/null'], { env })
  let out = ''
  child.stdout.on('data', (d) => {
    out += d
  })
  const exited = new Promise((r) => child.once('exit', r))
  t.teardown(() => {
    child.kill('SIGKILL')
  })
  let url: string | undefined
  for (let i = 0; i < 300 && url === undefined; i++) {
    url = /listening on (http:\/\/[^\s,]+)/.exec(out.replace(ANSI, ''))?.[1]
    if (url === undefined) await new Promise((r) => setTimeout(r, 100))
  }
  t.ok(url, `the CLI says where it listens:\n${out}`)
  const ok = await request(url as string, {
    path: '/users/42',
    headers: { 'x-who': 'alice', 'x-request-id': 'r-1' },
  })
  t.equal(ok.status, 200)
  const missing = await request(url as string, {
    method: 'POST',
    path: '/orders',
    headers: { 'x-who': 'bob' },
  })
  t.equal(missing.status, 200)
  for (let i = 0; i < 100 && (out.match(/ms route=/g) ?? []).length < 2; i++) {
    await new Promise((r) => setTimeout(r, 100))
  }
  // Stop the CLI itself: `script` passes on its exit.
  const pid = Number(/"pid":(\d+)/.exec(out)?.[1] ?? 0)
  child.kill('SIGTERM')
  await exited
  t.notOk(pid, 'no JSON in a terminal')

  t.match(out, ANSI, 'coloured')
  const plain = out.replace(ANSI, '').replace(/\r/g, '')
  const lines = plain.split('\n')
  const requestLines = lines.filter((l) => / ms route=/.test(l))
  t.equal(requestLines.length, 2, `one line per request:\n${plain}`)
  t.match(
    requestLines[0],
    /^\[?\d\d:\d\d:\d\d\.\d{3}\]? INFO.*: GET \/users\/42 200 \d+\.\d ms route=echo-route consumer=alice id=\S+$/,
    'time, method, path, status, duration, route, consumer, request id',
  )
  t.match(requestLines[1], /POST \/orders 200 .* consumer=bob/)
  t.equal((plain.match(/listening/g) ?? []).length, 1, 'one "listening" line')
  t.notOk(/^\s*\{/.test(plain.split('\n').find((l) => l.includes('request')) ?? ''), 'no JSON line')
})

t.test('JSON off a terminal, and pretty on request', async (t) => {
  const upstream = await startUpstream({ t })
  const dir = tempDir(t)
  writeFiles(dir, { 'who.mjs': WHO })
  const file = writeFiles(dir, { 'gateway.yaml': yaml(upstream.url) })
  const env = { GATEHOUSE_LOG_FORMAT: '', FORCE_COLOR: '', NO_COLOR: '1', GATEHOUSE_LOG_LEVEL: 'debug' }
  const json = await start(t, [file, '--port', '0', '--host', '127.0.0.1', '--no-watch'], { env })
  await request(json.url, { path: '/a' })
  await json.stop()
  t.match(
    json.output(),
    /^\{"level":20,.*"msg":"gateway listening"/m,
    'JSON lines; GATEHOUSE_LOG_LEVEL=debug shows debug',
  )
  t.notMatch(json.output(), / ms route=/, 'no request lines in JSON')

  const pretty = await start(
    t,
    [file, '--port', '0', '--host', '127.0.0.1', '--no-watch', '--log-format', 'pretty'],
    { env: { ...env, GATEHOUSE_LOG_LEVEL: 'info' } },
  )
  await request(pretty.url, { path: '/b', headers: { 'x-who': 'carol' } })
  for (let i = 0; i < 50 && !/ ms route=/.test(pretty.output()); i++)
    await new Promise((r) => setTimeout(r, 100))
  await pretty.stop()
  t.match(pretty.output(), /INFO.*: GET \/b 200 \d+\.\d ms route=echo-route consumer=carol id=/)
  t.notMatch(pretty.output(), ANSI, 'no colours where they cannot show (NO_COLOR, not a terminal)')

  const bad = await start(t, [file, '--log-format', 'xml'], { env }).catch(
    (err) => err as { code: number; output: string },
  )
  t.equal((bad as { code: number }).code, 2, 'a wrong format is a usage error')
  t.match((bad as { output: string }).output, /--log-format takes json or pretty, not "xml"/)
})
