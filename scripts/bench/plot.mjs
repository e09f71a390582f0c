// Draws a body-size benchmark result (scripts/bench/bodies.mjs) as an SVG: CPU µs per response
// against body size, both on log scales, one line per proxy, each point the median of the rounds
// with a bar over the range the rounds spanned.
//   node scripts/bench/plot.mjs .bench/bodies-<timestamp>.json [out.svg]
// Writes next to the JSON (same name, .svg) unless given an output path.
import { readFileSync, writeFileSync } from 'node:fs'

const [file, outArg] = process.argv.slice(2)
if (!file) {
  console.error('usage: node scripts/bench/plot.mjs <bodies-….json> [out.svg]')
  process.exit(2)
}
const run = JSON.parse(readFileSync(file, 'utf8'))
const points = run.summary.filter((s) => Number.isFinite(s.cpu))
const targets = [...new Set(points.map((p) => p.target))]
const sizes = [...new Set(points.map((p) => p.bytes))].sort((a, b) => a - b)
const COLOURS = ['#d62728', '#9467bd', '#1f77b4', '#2ca02c', '#ff7f0e', '#8c564b', '#e377c2', '#7f7f7f']

const W = 760
const H = 460
const M = { left: 70, right: 170, top: 40, bottom: 60 }
const lo = Math.min(...points.map((p) => p.cpuMin))
const hi = Math.max(...points.map((p) => p.cpuMax))
const yMin = 10 ** Math.floor(Math.log10(lo))
const yMax = 10 ** Math.ceil(Math.log10(hi))
const x = (bytes) =>
  M.left +
  ((Math.log10(bytes) - Math.log10(sizes[0])) / (Math.log10(sizes.at(-1)) - Math.log10(sizes[0]) || 1)) *
    (W - M.left - M.right)
const y = (v) =>
  H -
  M.bottom -
  ((Math.log10(v) - Math.log10(yMin)) / (Math.log10(yMax) - Math.log10(yMin))) * (H - M.top - M.bottom)
const label = (b) => (b >= 1048576 ? `${b / 1048576} MiB` : b >= 1024 ? `${b / 1024} KiB` : `${b} B`)

const out = []
out.push(
  `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
  `<title>CPU µs per response by body size, origin ${run.origin}</title>`,
  `<rect width="${W}" height="${H}" fill="white"/>`,
  `<text x="${M.left}" y="22" font-size="14" font-weight="bold">CPU µs per response by body size (origin: ${run.origin}; median of ${run.rounds} rounds, bars: range)</text>`,
)
for (let d = yMin; d <= yMax; d *= 10) {
  for (const m of [1, 2, 5]) {
    const v = d * m
    if (v > yMax) break
    out.push(
      `<line x1="${M.left}" x2="${W - M.right}" y1="${y(v)}" y2="${y(v)}" stroke="#ddd"/>`,
      `<text x="${M.left - 6}" y="${y(v) + 4}" text-anchor="end">${v.toLocaleString('en-US')}</text>`,
    )
  }
}
for (const b of sizes) {
  out.push(
    `<line x1="${x(b)}" x2="${x(b)}" y1="${M.top}" y2="${H - M.bottom}" stroke="#eee"/>`,
    `<text x="${x(b)}" y="${H - M.bottom + 18}" text-anchor="middle">${label(b)}</text>`,
  )
}
out.push(
  `<text x="${(M.left + W - M.right) / 2}" y="${H - 18}" text-anchor="middle">response body size</text>`,
  `<text x="18" y="${(M.top + H - M.bottom) / 2}" transform="rotate(-90 18 ${(M.top + H - M.bottom) / 2})" text-anchor="middle">CPU µs per response (proxy process)</text>`,
)
targets.forEach((t, i) => {
  const c = COLOURS[i % COLOURS.length]
  const ps = points.filter((p) => p.target === t).sort((a, b) => a.bytes - b.bytes)
  out.push(
    `<polyline fill="none" stroke="${c}" stroke-width="2" points="${ps.map((p) => `${x(p.bytes)},${y(p.cpu)}`).join(' ')}"/>`,
  )
  for (const p of ps) {
    out.push(
      `<line x1="${x(p.bytes)}" x2="${x(p.bytes)}" y1="${y(p.cpuMin)}" y2="${y(p.cpuMax)}" stroke="${c}" stroke-width="1.5"/>`,
      `<circle cx="${x(p.bytes)}" cy="${y(p.cpu)}" r="3" fill="${c}"/>`,
    )
  }
  const ly = M.top + 10 + i * 20
  out.push(
    `<line x1="${W - M.right + 15}" x2="${W - M.right + 40}" y1="${ly}" y2="${ly}" stroke="${c}" stroke-width="2"/>`,
    `<text x="${W - M.right + 46}" y="${ly + 4}">${t}</text>`,
  )
})
out.push('</svg>')
const target = outArg ?? file.replace(/\.json$/, '.svg')
writeFileSync(target, `${out.join('\n')}\n`)
console.log(`wrote ${target}`)
