import { type ChildProcess, execFile, spawn } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import net from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { onTeardown, type TestLike } from './teardown.js'
import { waitFor } from './wait.js'

const run = promisify(execFile)

/** One process of a topology, stopped by its PID. */
export interface TopologyProcess {
  url: string
  port: number
  readonly running: boolean
  /** Kills it (SIGKILL, as a crash would). */
  stop(): Promise<void>
}

/** A real Redis Cluster on 127.0.0.1: `masters` redis-server processes sharing the 16384 slots. */
export interface TestRedisCluster {
  /** The seed URLs, one per master. */
  nodes: string[]
  processes: TopologyProcess[]
}

/** A real Sentinel setup on 127.0.0.1: one master, one replica, `sentinels` sentinels watching them. */
export interface TestRedisSentinel {
  /** The sentinels' URLs. */
  sentinels: string[]
  /** The monitored master's name. */
  name: string
  master: TopologyProcess
  replica: TopologyProcess
  /** Asks a sentinel which address is the master now (`127.0.0.1:<port>`). */
  currentMaster(): Promise<string>
}

export interface TopologyOptions {
  t?: TestLike
  binary?: string
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

function cli(port: number, ...args: string[]): Promise<string> {
  return run('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...args], { timeout: 10_000 }).then(
    (r) => r.stdout,
  )
}

/** Polls a redis-cli check every 100 ms for up to 20 s; the error names `what` and the last failure. */
async function until(what: string, check: () => Promise<boolean>): Promise<void> {
  await waitFor(what, check, { timeout: 20_000, interval: 100 })
}

/** Spawns one redis-server (or sentinel) with `args`, in `dir`, and waits until it answers PING. */
async function spawnServer(
  binary: string,
  dir: string,
  port: number,
  args: string[],
): Promise<TopologyProcess> {
  const child: ChildProcess = spawn(binary, args, { cwd: dir, stdio: 'ignore' })
  const alive = () => child.exitCode === null && child.signalCode === null
  await until(`redis-server on ${port} to answer PING`, async () => {
    if (!alive()) throw new Error(`redis-server on ${port} exited`)
    return (await cli(port, 'PING')).trim() === 'PONG'
  })
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    get running() {
      return alive()
    },
    stop: () =>
      new Promise<void>((resolve) => {
        if (!alive()) return resolve()
        child.once('exit', () => resolve())
        child.kill('SIGKILL')
      }),
  }
}

function workdir(t: TestLike | undefined, stops: Array<() => Promise<void>>): string {
  const dir = mkdtempSync(join(tmpdir(), 'gh-redis-'))
  onTeardown(t, async () => {
    await Promise.all(stops.map((s) => s()))
    rmSync(dir, { recursive: true, force: true })
  })
  return dir
}

const COMMON = ['--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--loglevel', 'warning']

/**
 * Starts a real Redis Cluster of `masters` (default 3) redis-server processes on free loopback ports,
 * joined with `redis-cli --cluster create`, and waits until every node reports `cluster_state:ok`.
 * Every process is killed at teardown.
 */
export async function startRedisCluster(
  options: TopologyOptions & { masters?: number } = {},
): Promise<TestRedisCluster> {
  const binary = options.binary ?? process.env.REDIS_SERVER ?? 'redis-server'
  const stops: Array<() => Promise<void>> = []
  const dir = workdir(options.t, stops)
  const processes: TopologyProcess[] = []
  for (let i = 0; i < (options.masters ?? 3); i++) {
    const port = await freePort()
    const proc = await spawnServer(binary, dir, port, [
      ...['--port', String(port), ...COMMON],
      ...['--cluster-enabled', 'yes', '--cluster-config-file', `nodes-${port}.conf`],
      ...['--cluster-node-timeout', '2000', '--cluster-announce-ip', '127.0.0.1'],
    ])
    processes.push(proc)
    stops.push(() => proc.stop())
  }
  await run(
    'redis-cli',
    ['--cluster', 'create', ...processes.map((p) => `127.0.0.1:${p.port}`), '--cluster-yes'],
    { timeout: 30_000 },
  )
  for (const p of processes)
    await until('the cluster to reach cluster_state:ok', async () =>
      (await cli(p.port, 'CLUSTER', 'INFO')).includes('cluster_state:ok'),
    )
  return { nodes: processes.map((p) => p.url), processes }
}

/**
 * Starts a real Sentinel setup: a master, a replica of it, and `sentinels` (default 3) sentinels with
 * quorum 2 (1 with a single sentinel), watching the master as `name` (default `mymaster`) and calling
 * it down after 1 s. Every process is killed at teardown.
 */
export async function startRedisSentinel(
  options: TopologyOptions & { sentinels?: number; name?: string } = {},
): Promise<TestRedisSentinel> {
  const binary = options.binary ?? process.env.REDIS_SERVER ?? 'redis-server'
  const name = options.name ?? 'mymaster'
  const count = options.sentinels ?? 3
  const stops: Array<() => Promise<void>> = []
  const dir = workdir(options.t, stops)
  const masterPort = await freePort()
  const master = await spawnServer(binary, dir, masterPort, ['--port', String(masterPort), ...COMMON])
  stops.push(() => master.stop())
  const replicaPort = await freePort()
  const replica = await spawnServer(binary, dir, replicaPort, [
    ...['--port', String(replicaPort), ...COMMON],
    ...['--replicaof', '127.0.0.1', String(masterPort)],
  ])
  stops.push(() => replica.stop())
  await until('the replica to sync', async () =>
    (await cli(replicaPort, 'INFO', 'replication')).includes('master_link_status:up'),
  )
  const sentinels: TopologyProcess[] = []
  for (let i = 0; i < count; i++) {
    const port = await freePort()
    // A sentinel rewrites its config file: each needs its own, writable.
    const conf = join(dir, `sentinel-${port}.conf`)
    writeFileSync(
      conf,
      [
        `port ${port}`,
        'bind 127.0.0.1',
        `sentinel monitor ${name} 127.0.0.1 ${masterPort} ${Math.min(2, count)}`,
        `sentinel down-after-milliseconds ${name} 1000`,
        `sentinel failover-timeout ${name} 5000`,
        `sentinel parallel-syncs ${name} 1`,
        '',
      ].join('\n'),
    )
    const proc = await spawnServer(binary, dir, port, [conf, '--sentinel'])
    sentinels.push(proc)
    stops.push(() => proc.stop())
  }
  const first = sentinels[0]!
  // Sentinels find each other and the replica through the master's hello channel.
  await until('the sentinels to see the replica and each other', async () => {
    const info = await cli(first.port, 'SENTINEL', 'MASTER', name)
    const lines = info.split('\n').map((l) => l.trim())
    const num = (key: string) => Number(lines[lines.indexOf(key) + 1])
    return num('num-slaves') >= 1 && num('num-other-sentinels') >= count - 1
  })
  return {
    sentinels: sentinels.map((s) => s.url),
    name,
    master,
    replica,
    async currentMaster() {
      const out = (await cli(first.port, 'SENTINEL', 'GET-MASTER-ADDR-BY-NAME', name)).trim().split('\n')
      return `${out[0]}:${out[1]}`
    },
  }
}
