/**
 * Real static file servers behind a `/public` route (path kept): a file outside `public/` must never be
 * served through the gateway. Both servers decode `%2F` before resolving dot segments, as many do, so
 * `GET /public/..%2fsecret.txt` sent to them directly serves the secret: the gateway must not forward it.
 */
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join, normalize } from 'node:path'
import { startGateway } from '@gatehousejs/sdk/testing'
import t, { type Test } from 'tap'
import { rawRequest } from './helpers/http.js'
import { nginxServer } from './helpers/nginx.js'

const SECRET = 'top-secret-outside-public'

/** A web root with `public/hello.txt` and, outside `public/`, `secret.txt`. */
function webRoot(tt: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'gh-static-'))
  tt.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const root = join(dir, 'www')
  mkdirSync(join(root, 'public'), { recursive: true })
  writeFileSync(join(root, 'public', 'hello.txt'), 'hello from public')
  writeFileSync(join(root, 'secret.txt'), SECRET)
  // nginx's workers run as `nobody` when the test runs as root.
  chmodSync(join(root, 'public'), 0o755)
  return root
}

/** A plain Node static server: percent-decodes the path, resolves it under the root, serves the file. */
async function nodeStaticServer(tt: Test, root: string): Promise<string> {
  const server = http.createServer((req, res) => {
    let path: string
    try {
      path = decodeURIComponent((req.url ?? '/').split('?')[0]!)
    } catch {
      res.writeHead(400).end()
      return
    }
    const file = join(root, normalize(path).replace(/^(\.\.[/\\])+/, ''))
    try {
      if (!statSync(file).isFile()) throw new Error('not a file')
    } catch {
      res.writeHead(404).end('not found')
      return
    }
    const data = readFileSync(file)
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': data.length }).end(data)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  tt.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())))
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}

for (const [name, start] of [
  ['a plain Node static server', nodeStaticServer],
  ['nginx', (tt: Test, root: string) => nginxServer(tt, root, '/public/hello.txt')],
] as const) {
  t.test(`${name} behind /public never serves a file outside public/`, async (t) => {
    const root = webRoot(t)
    const origin = await start(t, root)
    const direct = await rawRequest(
      origin,
      'GET /public/..%2fsecret.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
    )
    t.equal(direct.body, SECRET, 'asked directly, the server itself serves the secret (the hazard is real)')
    const gw = await startGateway({
      t,
      config: {
        services: [{ name: 'static', url: origin, routes: [{ paths: ['/public'], stripPath: false }] }],
      },
    })
    const ok = await rawRequest(
      gw.url,
      'GET /public/hello.txt HTTP/1.1\r\nHost: gw\r\nConnection: close\r\n\r\n',
    )
    t.equal(ok.body, 'hello from public', 'a file under public/ is served')
    for (const target of [
      '/public/..%2fsecret.txt',
      '/public/..%2Fsecret.txt',
      '/public/%2e%2e%2fsecret.txt',
      '/public/%2e%2e%5csecret.txt',
      '/public/..%252fsecret.txt',
      '/public/x/..%2f..%2fsecret.txt',
      '/public/../secret.txt',
      '/public/%2e%2e/secret.txt',
    ]) {
      const res = await rawRequest(gw.url, `GET ${target} HTTP/1.1\r\nHost: gw\r\nConnection: close\r\n\r\n`)
      t.notOk(res.body.includes(SECRET), `${target}: the secret is not served (${res.status})`)
      t.ok(res.status >= 400 && res.status < 500, `${target}: a 4xx`)
    }
  })
}
