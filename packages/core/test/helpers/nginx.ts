/**
 * nginx as a real upstream for core's tests: a static file server on a free loopback port, with
 * `sendfile on` (the kernel copies the file into the socket, in segments as large as the socket takes,
 * as production origins do). `npm test` installs nginx when it is missing (scripts/redis.mjs).
 */
import { spawn, spawnSync } from 'node:child_process'
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import type { Test } from 'tap'
import { rawRequest, unusedPort } from './http.js'

/**
 * Starts nginx serving `root`, with its config, pid file and logs in `root`'s parent directory, and
 * resolves with its base URL once `HEAD <probe>` answers 200. Stopped (SIGTERM, awaited) at `tt`'s
 * teardown. `root` and its parent are made world-readable: nginx's workers run as `nobody` when the
 * test runs as root.
 */
export async function nginxServer(tt: Test, root: string, probe: string): Promise<string> {
  const binary = ['nginx', '/usr/sbin/nginx'].find((b) => spawnSync(b, ['-v']).status === 0)
  if (binary === undefined) throw new Error('nginx is needed for this test (apt-get install -y nginx)')
  const prefix = dirname(root)
  for (const d of [prefix, root]) chmodSync(d, 0o755)
  const port = await unusedPort()
  const user = process.getuid?.() === 0 ? 'user nobody nogroup;' : ''
  writeFileSync(
    join(prefix, 'nginx.conf'),
    `${user}
worker_processes 1;
pid ${prefix}/nginx.pid;
error_log ${prefix}/error.log;
events { worker_connections 64; }
http {
  access_log off;
  sendfile on;
  client_body_temp_path ${prefix}/tmp; proxy_temp_path ${prefix}/tmp; fastcgi_temp_path ${prefix}/tmp;
  uwsgi_temp_path ${prefix}/tmp; scgi_temp_path ${prefix}/tmp;
  server { listen 127.0.0.1:${port}; root ${root}; }
}
`,
  )
  mkdirSync(join(prefix, 'tmp'), { recursive: true })
  const child = spawn(binary, ['-p', prefix, '-c', join(prefix, 'nginx.conf'), '-g', 'daemon off;'], {
    stdio: 'ignore',
  })
  tt.teardown(
    () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve()
        child.once('exit', () => resolve())
        child.kill('SIGTERM')
      }),
  )
  const url = `http://127.0.0.1:${port}`
  const deadline = Date.now() + 10_000
  for (;;) {
    // HEAD: the probe may name a large file (03b's 10 MiB), which a loaded machine reads slowly.
    const r = await rawRequest(url, `HEAD ${probe} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`, {
      timeout: 1_000,
    }).catch(() => undefined)
    if (r?.status === 200) break
    if (Date.now() > deadline || child.exitCode !== null) throw new Error('nginx did not start')
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  return url
}
