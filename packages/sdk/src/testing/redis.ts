import { type ChildProcess, spawn, spawnSync } from 'node:child_process'
import net from 'node:net'
import { onTeardown, type TestLike } from './teardown.js'

export interface RedisOptions {
  t?: TestLike
  /** The `redis-server` binary; default `$REDIS_SERVER` or `redis-server` on PATH. */
  binary?: string
}

/** A real `redis-server` on 127.0.0.1, started for a test and stopped with it. */
export interface TestRedis {
  /** `redis://127.0.0.1:<port>` */
  url: string
  port: number
  /** Whether the server is running now. */
  readonly running: boolean
  /** Stops the server (SIGKILL by default, as a crash would); the port stays reserved for `start()`. */
  stop(signal?: NodeJS.Signals): Promise<void>
  /** Starts it again on the same port, empty. */
  start(): Promise<void>
}

function binaryOf(options: RedisOptions): string {
  return options.binary ?? process.env.REDIS_SERVER ?? 'redis-server'
}

/** Whether a `redis-server` binary can be run here. */
export function hasRedisServer(binary?: string): boolean {
  const r = spawnSync(binary ?? process.env.REDIS_SERVER ?? 'redis-server', ['--version'], {
    stdio: 'ignore',
  })
  return r.status === 0
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer()
    srv.unref()
    srv.on('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo
      srv.close(() => resolve(port))
    })
  })
}

function waitForPort(port: number, child: ChildProcess, deadline: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const attempt = () => {
      if (child.exitCode !== null || child.signalCode !== null) {
        reject(new Error(`redis-server exited (${child.exitCode ?? child.signalCode}) before listening`))
        return
      }
      const sock = net.connect(port, '127.0.0.1')
      sock.once('connect', () => {
        // A PING proves the server answers, not just that the port is bound.
        sock.write('PING\r\n')
        sock.once('data', () => {
          sock.destroy()
          resolve()
        })
      })
      sock.once('error', () => {
        sock.destroy()
        if (Date.now() > deadline) reject(new Error(`redis-server did not listen on ${port} within 10 s`))
        else setTimeout(attempt, 25)
      })
    }
    attempt()
  })
}

/**
 * Starts a real `redis-server` for a test: on a free loopback port, no persistence, stopped at
 * teardown. Throws a clear error when no `redis-server` is installed (`npm test` installs it).
 *
 * @example
 * const redis = await startRedis({ t })
 * const gw = await startGateway({ t, config: { redis: { default: { url: redis.url } }, plugins: [{ name: 'rate-limit', config: { limits: { minute: 10 }, redis: 'default' } }] } })
 * await redis.stop() // Redis goes down mid-test
 * await redis.start() // and comes back
 */
export async function startRedis(options: RedisOptions = {}): Promise<TestRedis> {
  const binary = binaryOf(options)
  if (!hasRedisServer(binary)) {
    throw new Error(
      `startRedis: "${binary}" cannot be run. Install Redis (e.g. apt-get install -y redis-server) or set REDIS_SERVER.`,
    )
  }
  const port = await freePort()
  let child: ChildProcess | undefined

  async function start(): Promise<void> {
    if (child && child.exitCode === null && child.signalCode === null) return
    const proc = spawn(
      binary,
      [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--save',
        '',
        '--appendonly',
        'no',
        '--protected-mode',
        'yes',
        '--loglevel',
        'warning',
      ],
      { stdio: 'ignore' },
    )
    child = proc
    await waitForPort(port, proc, Date.now() + 10_000)
  }

  async function stop(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const proc = child
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return
    await new Promise<void>((resolve) => {
      proc.once('exit', () => resolve())
      proc.kill(signal)
    })
  }

  await start()
  onTeardown(options.t, () => stop())
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    get running() {
      return child !== undefined && child.exitCode === null && child.signalCode === null
    },
    stop,
    start,
  }
}
