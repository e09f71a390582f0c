// Prints the functions with the most self time in a V8 .cpuprofile (from `npm run bench -- --profile`),
// then self time by area (gatehouse, fastify, undici, node, native). Given the number of requests the
// process served (the bench prints it), times are shown in µs per request as well as % of busy time.
//   node scripts/bench/profile-top.mjs .bench/profiles/<file>.cpuprofile [count=30] [requests]
//     [--from <s>]        only samples taken <s> seconds or more after the profile began (skips startup)
//     [--callers <name>]  also prints the call stacks that end in functions named <name>, by self time
import { readFileSync } from 'node:fs'
import { parseFlags } from './flags.mjs'

const USAGE =
  'usage: node scripts/bench/profile-top.mjs <file.cpuprofile> [count] [requests] [--from <s>] [--callers <name>]'
const { values: opts, positionals } = parseFlags(
  { from: { type: 'string' }, callers: { type: 'string' } },
  USAGE,
  { allowPositionals: true },
)
const [file, count = '30', requests] = positionals
if (!file) {
  console.error(USAGE)
  process.exit(2)
}
const profile = JSON.parse(readFileSync(file, 'utf8'))
const byId = new Map(profile.nodes.map((n) => [n.id, n]))
const parent = new Map()
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id)
const from = Number(opts.from ?? 0) * 1e6
const perNode = new Map()
let clock = 0
for (let i = 0; i < profile.samples.length; i++) {
  clock += profile.timeDeltas[i] ?? 0
  if (clock < from) continue
  perNode.set(profile.samples[i], (perNode.get(profile.samples[i]) ?? 0) + (profile.timeDeltas[i] ?? 0))
}
const self = new Map()
const areas = new Map()
let total = 0
let idle = 0
for (const [id, us] of perNode) {
  const { callFrame: f } = byId.get(id)
  total += us
  if (f.functionName === '(idle)') {
    idle += us
    continue
  }
  const key = `${f.functionName || '(anonymous)'}  ${where(f)}`
  self.set(key, (self.get(key) ?? 0) + us)
  const area = areaOf(f)
  areas.set(area, (areas.get(area) ?? 0) + us)
}
const busy = total - idle
const n = requests ? Number(requests) : undefined
const cell = (us) =>
  `${((100 * us) / busy).toFixed(1).padStart(5)}%` + (n ? `  ${(us / n).toFixed(2).padStart(6)} µs/req` : '')

console.log(
  `${(total / 1e6).toFixed(1)} s sampled, ${(busy / 1e6).toFixed(1)} s busy` +
    (n ? `, ${n} requests: ${(busy / n).toFixed(1)} µs busy per request` : '') +
    (from > 0 ? ` (from ${opts.from} s on)` : n ? ' (startup included)' : ''),
)
console.log(`\ntop ${count} functions by self time:`)
for (const [key, us] of [...self].sort((a, b) => b[1] - a[1]).slice(0, Number(count))) {
  console.log(`${cell(us)}  ${key}`)
}
console.log('\nself time by area:')
for (const [area, us] of [...areas].sort((a, b) => b[1] - a[1])) {
  if (us / busy >= 0.001) console.log(`${cell(us)}  ${area}`)
}

if (opts.callers !== undefined) {
  const stacks = new Map()
  for (const [id, us] of perNode) {
    if (byId.get(id).callFrame.functionName !== opts.callers) continue
    const frames = []
    for (let at = parent.get(id); at !== undefined && frames.length < 8; at = parent.get(at)) {
      const f = byId.get(at).callFrame
      if (f.functionName !== '(root)') frames.push(`${f.functionName || '(anonymous)'} ${where(f)}`)
    }
    const key = frames.join('\n      ← ')
    stacks.set(key, (stacks.get(key) ?? 0) + us)
  }
  console.log(`\ncallers of ${opts.callers}:`)
  for (const [key, us] of [...stacks].sort((a, b) => b[1] - a[1]).slice(0, 8)) {
    console.log(`${cell(us)}  ← ${key}`)
  }
}

function where(f) {
  if (!f.url) return ''
  const short = f.url.replace(/^file:\/\//, '').replace(/.*node_modules\/\.pnpm\/[^/]+\/node_modules\//, '')
  return `${short}:${f.lineNumber + 1}`
}

/** Which code a frame belongs to: our packages, a dependency, Node's JS, or native/V8 work. */
function areaOf(f) {
  if (f.functionName === '(garbage collector)') return 'V8 garbage collector'
  const url = f.url ?? ''
  const ours = /\/(packages|plugins)\/([^/]+)\/dist\//.exec(url)
  if (ours) return `gatehouse ${ours[2]}`
  const dep = /node_modules\/\.pnpm\/[^/]+\/node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)
  if (dep) return dep[1]
  if (url.startsWith('node:')) return 'node (JS)'
  if (url.startsWith('wasm:')) return 'llhttp (wasm, in undici)'
  return 'native (syscalls, V8 builtins, program)'
}
