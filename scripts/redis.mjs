// Tests that share state across gateway nodes start their own `redis-server` processes (see
// `startRedis` in @gatehousejs/sdk/testing). This makes sure the binary exists: when it is missing and
// we may use apt-get (root, or passwordless sudo), it installs Debian's `redis-server`.
import { spawnSync } from 'node:child_process'

function works(cmd, args) {
  const r = spawnSync(cmd, args, { stdio: 'ignore' })
  return r.status === 0
}

export function ensureRedisServer() {
  const binary = process.env.REDIS_SERVER ?? 'redis-server'
  if (works(binary, ['--version'])) return true
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0
  const sudo = isRoot ? [] : works('sudo', ['-n', 'true']) ? ['sudo', '-n'] : undefined
  if (!sudo || !works('apt-get', ['--version'])) {
    console.error(
      '› redis-server is not installed and apt-get cannot be used here; tests that need Redis will fail.\n' +
        '  Install it (e.g. `apt-get install -y redis-server`, `brew install redis`) or set REDIS_SERVER.',
    )
    return false
  }
  console.log('› installing redis-server (apt-get) for the tests that share state through Redis')
  const run = (args) => {
    const [cmd, ...rest] = [...sudo, 'apt-get', ...args]
    return spawnSync(cmd, rest, {
      stdio: ['ignore', 'ignore', 'inherit'],
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    }).status
  }
  if (run(['install', '-y', '-qq', 'redis-server']) !== 0) {
    run(['update', '-qq'])
    run(['install', '-y', '-qq', 'redis-server'])
  }
  if (works(binary, ['--version'])) return true
  console.error('› installing redis-server failed; tests that need Redis will fail')
  return false
}

/**
 * core's path-confusion test (packages/core/test/07-static-upstream.test.ts) puts a real nginx behind
 * the gateway as a static file server: install Debian's `nginx` when it is missing and apt-get may be used.
 */
export function ensureNginx() {
  const found = ['nginx', '/usr/sbin/nginx'].some((b) => works(b, ['-v']))
  if (found) return true
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0
  const sudo = isRoot ? [] : works('sudo', ['-n', 'true']) ? ['sudo', '-n'] : undefined
  if (!sudo || !works('apt-get', ['--version'])) {
    console.error('› nginx is not installed and apt-get cannot be used here; core test 07 will fail.')
    return false
  }
  console.log('› installing nginx (apt-get) for core test 07 (a real static file server upstream)')
  const [cmd, ...rest] = [...sudo, 'apt-get', 'install', '-y', '-qq', 'nginx']
  spawnSync(cmd, rest, {
    stdio: ['ignore', 'ignore', 'inherit'],
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  })
  return ['nginx', '/usr/sbin/nginx'].some((b) => works(b, ['-v']))
}
