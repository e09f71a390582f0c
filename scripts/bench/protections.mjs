// The cost of the server protections (docs/reliability.md): `node scripts/bench/protections.mjs
// [--duration 5 --rounds 3 --connections 50 --warmup 2]`.
//
// Two Gatehouse processes in front of the same bench upstream (scripts/bench/upstream.mjs, `/small`):
// `off` with every protection turned off, `on` with the defaults plus shedding at 1 s and a gateway and
// a route `maxInflight` far above the load (so every request takes every check). The load generator is wrk
// in its own process (-t1, keep-alive); rounds alternate which gateway goes first. Reports per
// gateway the median requests/s, p50/p99 latency, and gateway CPU microseconds per request (from
// /proc, steadier than requests/s on a shared machine), then the ratios on/off. Exits 1 on any
// non-2xx answer or socket error. Children are stopped by PID.
import { spawnSync } from 'node:child_process'
import { dirname, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { benchFlags, cpuSeconds, median, start as startChild, stopAll } from './children.mjs'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..')
const { options } = benchFlags()
const start = (name, script, env) => startChild(root, name, script, [], env)

function which(cmd) {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' }).stdout.trim()
}

/** wrk's "2.00ms" / "850.00us" / "1.20s" in milliseconds. */
function ms(text) {
  const m = /([\d.]+)(us|ms|s)/.exec(text ?? '')
  if (!m) return Number.NaN
  const n = Number(m[1])
  return m[2] === 'us' ? n / 1000 : m[2] === 's' ? n * 1000 : n
}

function runWrk(wrk, url, seconds) {
  const out = spawnSync(wrk, ['-t1', `-c${options.connections}`, `-d${seconds}s`, '--latency', url], {
    encoding: 'utf8',
    timeout: (seconds + 30) * 1000,
  })
  if (out.status !== 0) throw new Error(`wrk failed: ${out.stderr || out.error}`)
  const text = out.stdout
  const requests = Number(/(\d+) requests in/.exec(text)?.[1] ?? 0)
  const bad = Number(/Non-2xx or 3xx responses: (\d+)/.exec(text)?.[1] ?? 0)
  const socketErrors = /Socket errors: (.*)/.exec(text)?.[1]
  return {
    requests,
    rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(text)?.[1] ?? 0),
    p50: ms(/\s50%\s+(\S+)/.exec(text)?.[1]),
    p99: ms(/\s99%\s+(\S+)/.exec(text)?.[1]),
    failed:
      bad > 0 || (socketErrors !== undefined && /(connect|read|write|timeout) [1-9]/.test(socketErrors)),
    why: `${bad} non-2xx, socket errors: ${socketErrors ?? 'none'}`,
  }
}

async function main() {
  const wrk = which('wrk')
  if (!wrk) {
    console.error('wrk is needed (apt-get install -y wrk)')
    process.exit(2)
  }
  const upstream = await start('upstream', 'scripts/bench/upstream.mjs', {})
  const gateways = {
    off: await start('gateway (protections off)', 'scripts/bench/protections-gateway.mjs', {
      UPSTREAM_URL: upstream.url,
      PROTECT: 'off',
    }),
    on: await start('gateway (protections on)', 'scripts/bench/protections-gateway.mjs', {
      UPSTREAM_URL: upstream.url,
      PROTECT: 'on',
    }),
  }
  const results = { off: [], on: [] }
  for (const name of ['off', 'on']) runWrk(wrk, `${gateways[name].url}/small`, options.warmup)
  for (let round = 0; round < options.rounds; round++) {
    const order = round % 2 === 0 ? ['off', 'on'] : ['on', 'off']
    for (const name of order) {
      const g = gateways[name]
      const cpuBefore = cpuSeconds(g.pid)
      const r = runWrk(wrk, `${g.url}/small`, options.duration)
      const cpu = cpuSeconds(g.pid) - cpuBefore
      if (r.failed) {
        console.error(`${name}: failed answers (${r.why})`)
        process.exitCode = 1
      }
      results[name].push({ ...r, cpuUs: r.requests > 0 ? (cpu * 1e6) / r.requests : Number.NaN })
      console.log(
        `round ${round + 1} ${name.padEnd(3)} ${r.rps.toFixed(0).padStart(7)} req/s  p50 ${r.p50.toFixed(2)} ms  p99 ${r.p99.toFixed(2)} ms  ${(
          (cpu * 1e6) / r.requests
        ).toFixed(1)} µs CPU/request`,
      )
    }
  }
  const summary = {}
  for (const name of ['off', 'on']) {
    const rs = results[name]
    summary[name] = {
      rps: median(rs.map((r) => r.rps)),
      p50: median(rs.map((r) => r.p50)),
      p99: median(rs.map((r) => r.p99)),
      cpuUs: median(rs.map((r) => r.cpuUs)),
    }
  }
  console.log('\nmedian of rounds        req/s    p50 ms   p99 ms   µs CPU/request')
  for (const name of ['off', 'on']) {
    const s = summary[name]
    console.log(
      `protections ${name.padEnd(3)}     ${s.rps.toFixed(0).padStart(8)} ${s.p50.toFixed(2).padStart(8)} ${s.p99
        .toFixed(2)
        .padStart(8)} ${s.cpuUs.toFixed(1).padStart(10)}`,
    )
  }
  const ratio = (k) => (summary.on[k] / summary.off[k]).toFixed(3)
  console.log(
    `ratio on/off           ${ratio('rps').padStart(8)} ${ratio('p50').padStart(8)} ${ratio('p99').padStart(8)} ${ratio('cpuUs').padStart(10)}`,
  )
}

main()
  .catch((err) => {
    console.error(err)
    process.exitCode = 1
  })
  .finally(stopAll)
