// Child processes and CPU accounting for the benchmark scripts that run their own measurement loop
// (tls.mjs, grpc.mjs; aggregate.mjs carries the same code and can move to this module). Children
// listen on 127.0.0.1, port 0, print `listening on <url>`, and are stopped by PID: SIGTERM, then
// SIGKILL after 5 s; none outlives the runner.
import { execFileSync, spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { parseFlags } from './flags.mjs'

const children = new Map()
let stopping = false

/**
 * Starts `node [...nodeArgs] <root>/<script> ...args`; resolves to `{ url, pid, child }` once it prints
 * its URL. `options.prefix` runs node under a wrapper, e.g. loadgen.mjs's `pinProxy` (`taskset -c 1`);
 * `options.nodeArgs`: flags for node itself; `options.ipc`: open an IPC channel (`child.send`);
 * `options.timeout`: seconds to wait for the URL (default 30; a loaded machine can need more).
 */
export function start(root, name, script, args = [], env = {}, options = {}) {
  const { prefix = [], nodeArgs = [], ipc = false, timeout = 30 } = options
  const command = [...prefix, process.execPath, ...nodeArgs, join(root, script), ...args]
  const child = spawn(command[0], command.slice(1), {
    cwd: root,
    env: { ...process.env, ...env, HOST: '127.0.0.1', PORT: '0', NODE_ENV: 'production' },
    stdio: ['ignore', 'pipe', 'pipe', ...(ipc ? ['ipc'] : [])],
  })
  children.set(child.pid, child)
  let out = ''
  let err = ''
  child.stderr.on('data', (c) => {
    if (err.length < 10_000) err += c
  })
  return new Promise((resolveStart, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${name} did not start within ${timeout} s\n${err}`)),
      timeout * 1000,
    )
    child.stdout.on('data', (c) => {
      out += c
      const m = /listening on (\S+)/.exec(out)
      if (m) {
        clearTimeout(timer)
        resolveStart({ url: m[1], pid: child.pid, child })
      }
    })
    child.on('exit', (code, signal) => {
      children.delete(child.pid)
      clearTimeout(timer)
      if (!stopping && !child.stopping) {
        console.error(`${name} (pid ${child.pid}) exited early: code ${code}, signal ${signal}\n${err}`)
        process.exitCode = 1
        reject(new Error(`${name} died`))
      }
    })
    console.log(`started ${name} (pid ${child.pid})`)
  })
}

/** Stops one child started by `start`: SIGTERM, then SIGKILL after 5 s. */
export function stop(pid) {
  const child = children.get(pid)
  if (!child) return Promise.resolve()
  child.stopping = true
  return new Promise((done) => {
    const force = setTimeout(() => child.kill('SIGKILL'), 5000)
    child.once('exit', () => {
      clearTimeout(force)
      done()
    })
    child.kill('SIGTERM')
  })
}

export async function stopAll() {
  stopping = true
  await Promise.all([...children.keys()].map(stop))
}
process.on('exit', () => {
  for (const child of children.values()) child.kill('SIGKILL')
})

const CLOCK_TICKS = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100
  } catch {
    return 100
  }
})()

/** user + system CPU seconds a process has used so far (Linux /proc); NaN elsewhere. */
export function cpuSeconds(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS
  } catch {
    return Number.NaN
  }
}

export function median(xs) {
  const s = [...xs].sort((a, b) => a - b)
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2
}

/**
 * The flags every driver script takes (`--duration`, `--rounds`, `--connections`, `--warmup`, each a
 * positive number; exits 2 otherwise), plus the script's own `extra` string options. `--help` lists
 * them; an unknown option exits 2 with that list.
 * @param {Record<string, { type: 'string', default?: string }>} [extra]
 */
export function benchFlags(extra = {}) {
  const known = {
    duration: { type: 'string', default: '5' },
    rounds: { type: 'string', default: '3' },
    connections: { type: 'string', default: '50' },
    warmup: { type: 'string', default: '2' },
    ...extra,
  }
  const usage = `options: ${Object.entries(known)
    .map(([k, o]) => `--${k} <value>${o.default === undefined ? '' : ` (default ${o.default})`}`)
    .join(', ')}`
  const { values: flags } = parseFlags(known, usage)
  const options = {
    duration: Number(flags.duration),
    rounds: Math.round(Number(flags.rounds)),
    connections: Math.round(Number(flags.connections)),
    warmup: Number(flags.warmup),
  }
  for (const [k, v] of Object.entries(options)) {
    if (!Number.isFinite(v) || v <= 0) {
      console.error(`--${k} must be a positive number`)
      process.exit(2)
    }
  }
  return { options, flags }
}

/**
 * A closed-loop client in this process, for scenarios a load generator cannot script (a screen of
 * three calls in sequence, a sampled mirror): `connections` virtual clients each call `once()` back
 * to back for `seconds`. Latencies in ms; a rejected call counts as an error.
 */
export async function closedLoop(connections, seconds, once) {
  const end = performance.now() + seconds * 1000
  const latencies = []
  let errors = 0
  async function client() {
    while (performance.now() < end) {
      const began = performance.now()
      try {
        await once()
        latencies.push(performance.now() - began)
      } catch {
        errors++
      }
    }
  }
  await Promise.all(Array.from({ length: connections }, client))
  latencies.sort((a, b) => a - b)
  const at = (q) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0
  return { count: latencies.length, errors, p50: at(0.5), p99: at(0.99) }
}
