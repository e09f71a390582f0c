// The load generator of the benchmark scripts (run.mjs, bodies.mjs): always a process of its own,
// never the runner, so on a 2-core machine the client cannot set the pace of what it measures.
// wrk when installed (installed with apt-get when missing and running as root), else autocannon's
// CLI. The client is pinned to CPU 0 and the process under test to CPU 1 when `taskset` exists
// (`pinProxy` is the prefix for the latter); with `rt`, both run under SCHED_RR (root and `chrt`).
// `BENCH_LOADGEN=autocannon` in the environment picks autocannon even when wrk is installed.
import { spawn, spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import { join } from 'node:path'

export function which(bin) {
  const r = spawnSync('sh', ['-c', `command -v ${bin}`], { encoding: 'utf8' })
  return r.status === 0 ? r.stdout.trim() : undefined
}

/**
 * @param {{ root: string, connections: number, rt?: boolean, timeout?: number,
 *           onSpawn?: (child: import('node:child_process').ChildProcess) => void }} options
 *   `timeout`: seconds after which one request counts as timed out (default 60).
 */
export function loadGenerator({ root, connections, rt = false, timeout = 60, onSpawn }) {
  const taskset = which('taskset')
  const chrt = rt ? which('chrt') : undefined
  if (rt && (!chrt || process.getuid?.() !== 0)) throw new Error('--rt needs chrt and root')
  // BENCH_LOADGEN=autocannon picks autocannon's CLI even when wrk is installed.
  let wrk = process.env.BENCH_LOADGEN === 'autocannon' ? undefined : which('wrk')
  if (!wrk && process.env.BENCH_LOADGEN !== 'autocannon' && process.getuid?.() === 0 && which('apt-get')) {
    console.log('wrk is missing: apt-get install -y wrk')
    spawnSync('apt-get', ['install', '-y', 'wrk'], { stdio: 'ignore' })
    wrk = which('wrk')
  }
  const pinClient = taskset ? [taskset, '-c', '0'] : []
  const pinProxy = taskset && os.availableParallelism() > 1 ? [taskset, '-c', '1'] : []
  const rtPrefix = chrt ? [chrt, '-r', '10'] : []
  const scripts = mkdtempSync(join(os.tmpdir(), 'gatehouse-loadgen-'))
  process.on('exit', () => rmSync(scripts, { recursive: true, force: true }))
  let scriptCount = 0

  /** A wrk Lua script setting the method, headers and body (long brackets: no escaping needed). */
  function wrkScript(request) {
    const long = (s) => {
      let eq = ''
      while (s.includes(`]${eq}]`)) eq += '='
      return `[${eq}[${s}]${eq}]`
    }
    const lines = [`wrk.method = ${long(request.method ?? 'GET')}`]
    for (const [k, v] of Object.entries(request.headers ?? {}))
      lines.push(`wrk.headers[ ${long(k)} ] = ${long(String(v))}`)
    if (request.body !== undefined) lines.push(`wrk.body = ${long(String(request.body))}`)
    const file = join(scripts, `request-${++scriptCount}.lua`)
    writeFileSync(file, `${lines.join('\n')}\n`)
    return file
  }

  function capture(cmd, ms) {
    return new Promise((done) => {
      const child = spawn(cmd[0], cmd.slice(1), { stdio: ['ignore', 'pipe', 'ignore'] })
      onSpawn?.(child)
      let out = ''
      child.stdout.on('data', (c) => {
        out += c
      })
      const timer = setTimeout(() => child.kill('SIGKILL'), ms)
      child.on('close', () => {
        clearTimeout(timer)
        done(out)
      })
    })
  }

  /**
   * Loads `url` for `seconds` with `connections` keep-alive connections (pipelining 1).
   * @returns {Promise<{ requests: number, rps: number, p50: number, p99: number, bytesPerSec: number,
   *   non2xx: number, errors: number, timeouts: number }>} latencies in ms
   */
  async function load(url, seconds, request) {
    const deadline = (seconds + timeout + 30) * 1000
    if (wrk) {
      const script = request ? ['-s', wrkScript(request)] : []
      const cmd = [...rtPrefix, ...pinClient, wrk, '-t1', `-c${connections}`, `-d${seconds}s`]
      const out = await capture([...cmd, '--timeout', `${timeout}s`, '--latency', ...script, url], deadline)
      const requests = Number(/(\d+) requests in/.exec(out)?.[1] ?? 0)
      const errs = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out)
      return {
        requests,
        rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? 0),
        p50: latencyMs(/\s50%\s+([\d.]+)(us|ms|s)\b/.exec(out)),
        p99: latencyMs(/\s99%\s+([\d.]+)(us|ms|s)\b/.exec(out)),
        bytesPerSec: bytes(/Transfer\/sec:\s+([\d.]+)(B|KB|MB|GB)/.exec(out)),
        non2xx: Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0),
        errors: errs ? Number(errs[1]) + Number(errs[2]) + Number(errs[3]) : requests === 0 ? 1 : 0,
        timeouts: errs ? Number(errs[4]) : 0,
      }
    }
    const cli = join(root, 'node_modules/autocannon/autocannon.js')
    const cmd = [...rtPrefix, ...pinClient, process.execPath, cli, '-j', '-t', String(timeout)]
    cmd.push('-c', String(connections), '-d', String(seconds))
    if (request?.method) cmd.push('-m', request.method)
    for (const [k, v] of Object.entries(request?.headers ?? {})) cmd.push('-H', `${k}=${v}`)
    if (request?.body !== undefined) cmd.push('-b', String(request.body))
    const out = await capture([...cmd, url], deadline)
    let j
    try {
      j = JSON.parse(out)
    } catch {
      return {
        requests: 0,
        rps: 0,
        p50: Number.NaN,
        p99: Number.NaN,
        bytesPerSec: 0,
        non2xx: 0,
        errors: 1,
        timeouts: 0,
      }
    }
    return {
      requests: j.requests.total,
      rps: j.requests.average,
      p50: j.latency.p50,
      p99: j.latency.p99,
      bytesPerSec: j.throughput.average,
      non2xx: j.non2xx,
      errors: j.errors,
      timeouts: j.timeouts,
    }
  }

  return { name: wrk ? 'wrk' : 'autocannon', load, pinClient, pinProxy, rtPrefix, rt: Boolean(chrt) }
}

function latencyMs(m) {
  if (!m) return Number.NaN
  return Number(m[1]) * (m[2] === 'us' ? 0.001 : m[2] === 's' ? 1000 : 1)
}
function bytes(m) {
  if (!m) return 0
  return Number(m[1]) * { B: 1, KB: 1024, MB: 1024 ** 2, GB: 1024 ** 3 }[m[2]]
}
