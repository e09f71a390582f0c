import { mkdirSync } from 'node:fs'
import https from 'node:https'
import { join } from 'node:path'
import { startUpstream } from '@gatehousejs/sdk/testing'
import { generate } from 'selfsigned'
import t from 'tap'
import { run, start, tempDir, writeFiles } from './helpers/cli.js'

// TLS from a gateway file: the certificate as PEM text from the environment (`${TLS_CERT}`), the key
// as a path relative to the file; `validate` names a missing file with its line; `start` serves HTTPS.

function yaml(upstreamUrl: string, keyPath: string): string {
  return `tls:
  certificates:
    - cert: \${TLS_CERT}
      key: ${keyPath}
services:
  - name: echo
    url: ${upstreamUrl}
    routes: [{ paths: [/] }]
`
}

t.test('a gateway file with tls: validate, then serve HTTPS', async (t) => {
  const made = await generate([{ name: 'commonName', value: 'cli.test' }], {
    keyType: 'ec',
    algorithm: 'sha256',
  })
  const upstream = await startUpstream({ t })
  const dir = tempDir(t)
  mkdirSync(join(dir, 'tls'))
  writeFiles(dir, { 'tls/key.pem': made.private })
  const file = writeFiles(dir, { 'gateway.yaml': yaml(upstream.url, 'tls/key.pem') })
  const env = { TLS_CERT: made.cert }

  const ok = await run(['validate', file], { env })
  t.equal(ok.code, 0, ok.stderr)

  writeFiles(dir, { 'bad.yaml': yaml(upstream.url, 'tls/missing.pem') })
  const bad = await run(['validate', 'bad.yaml'], { cwd: dir, env })
  t.equal(bad.code, 1)
  t.match(
    bad.stderr,
    /^bad\.yaml:4:12 \/tls\/certificates\/0\/key: cannot read the key file tls\/missing\.pem \(ENOENT\)/m,
    'a missing key file is named with its line, column and pointer',
  )

  const gw = await start(t, [file, '--port', '0', '--host', '127.0.0.1'], { env })
  t.match(gw.url, /^https:/)
  const status = await new Promise<number | undefined>((resolve, reject) => {
    https
      .get(`${gw.url}/hello`, { ca: made.cert, servername: 'cli.test', agent: false }, (res) => {
        res.resume()
        res.on('end', () => resolve(res.statusCode))
      })
      .on('error', reject)
  })
  t.equal(status, 200)
  t.equal(upstream.last()?.headers['x-forwarded-proto'], 'https')
})
