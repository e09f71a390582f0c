// Draws a soak result (scripts/soak/soak.mjs) as an SVG, as scripts/bench/plot.mjs does for bodies:
// four panels over time (RSS and heap after GC in MiB; open fds and sockets; p50/p99 latency of the
// answered requests per window; event-loop delay p99 and max in ms), the fault windows shaded and named. Also: `node scripts/soak/plot.mjs <soak.json>`.
import { readFileSync, writeFileSync } from 'node:fs'

const W = 900
const PANEL = 190
const M = { left: 70, right: 150, top: 50, gap: 40, bottom: 40 }
const COLOURS = ['#d62728', '#1f77b4', '#2ca02c', '#ff7f0e']

export function plot(result) {
  const samples = result.samples.filter((s) => s.label !== 'before load' && s.label !== 'after load, quiet')
  const tMax = Math.max(result.seconds * 1000, ...samples.map((s) => s.t))
  const x = (t) => M.left + (t / tMax) * (W - M.left - M.right)
  const panels = [
    {
      title: 'memory (MiB)',
      series: [
        ['RSS', (s) => s.rss / 1048576],
        ['heap after GC', (s) => s.heapUsed / 1048576],
      ],
    },
    {
      title: 'open file descriptors',
      series: [
        ['fds', (s) => s.fds],
        ['sockets', (s) => s.sockets],
      ],
    },
    {
      title: 'latency of answered requests per window (ms)',
      steps: true,
      series: [
        ['p50', 'p50'],
        ['p99', 'p99'],
      ],
    },
    {
      title: 'event-loop delay (ms)',
      series: [
        ['p99', (s) => s.loopP99],
        ['max', (s) => s.loopMax],
      ],
    },
  ]
  const H = M.top + panels.length * (PANEL + M.gap) + M.bottom
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="11">`,
    `<title>Soak run ${result.startedAt}: RSS and heap, fds and sockets, latency and event-loop delay over time</title>`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${M.left}" y="22" font-size="14" font-weight="bold">Soak run ${result.startedAt}: ${result.seconds} s at ${result.rate} req/s, a reload every ${result.reloads.every / 1000} s</text>`,
  ]
  panels.forEach((panel, i) => {
    const top = M.top + i * (PANEL + M.gap)
    const bottom = top + PANEL
    const values = panel.steps
      ? result.windows.flatMap((w) => panel.series.map(([, k]) => w[k]))
      : samples.flatMap((s) => panel.series.map(([, f]) => f(s)))
    const finite = values.filter((v) => Number.isFinite(v))
    const yMax = niceMax(Math.max(1, ...finite))
    const y = (v) => bottom - (v / yMax) * PANEL
    for (const w of result.schedule.windows) {
      if (!w.fault) continue
      out.push(
        `<rect x="${x(w.start)}" y="${top}" width="${x(w.end) - x(w.start)}" height="${PANEL}" fill="#f2e6d9"/>`,
      )
      if (i === 0)
        out.push(
          `<text x="${x(w.start) + 2}" y="${top - 4}" font-size="9" transform="rotate(-20 ${x(w.start) + 2} ${top - 4})">${w.name}</text>`,
        )
    }
    for (let k = 0; k <= 4; k++) {
      const v = (yMax / 4) * k
      out.push(
        `<line x1="${M.left}" x2="${W - M.right}" y1="${y(v)}" y2="${y(v)}" stroke="#ddd"/>`,
        `<text x="${M.left - 6}" y="${y(v) + 4}" text-anchor="end">${round(v)}</text>`,
      )
    }
    out.push(
      `<text x="${M.left}" y="${top + 12}" font-weight="bold">${panel.title}</text>`,
      `<line x1="${M.left}" x2="${W - M.right}" y1="${bottom}" y2="${bottom}" stroke="#333"/>`,
    )
    panel.series.forEach(([name, f], j) => {
      // Per window: a flat segment over the window's span.
      const pts = panel.steps
        ? result.windows
            .filter((w) => Number.isFinite(w[f]))
            .flatMap((w) => [
              `${x(w.start).toFixed(1)},${y(w[f]).toFixed(1)}`,
              `${x(w.end).toFixed(1)},${y(w[f]).toFixed(1)}`,
            ])
        : samples
            .filter((s) => Number.isFinite(f(s)))
            .map((s) => `${x(s.t).toFixed(1)},${y(f(s)).toFixed(1)}`)
      out.push(
        `<polyline fill="none" stroke="${COLOURS[j]}" stroke-width="1.5" points="${pts.join(' ')}"/>`,
        `<text x="${W - M.right + 10}" y="${top + 20 + j * 16}" fill="${COLOURS[j]}">${name}</text>`,
      )
    })
  })
  const axisY = M.top + panels.length * (PANEL + M.gap) - M.gap + 16
  for (let k = 0; k <= 6; k++) {
    const t = (tMax / 6) * k
    out.push(`<text x="${x(t)}" y="${axisY}" text-anchor="middle">${Math.round(t / 1000)} s</text>`)
  }
  out.push('</svg>')
  return `${out.join('\n')}\n`
}

function niceMax(v) {
  const p = 10 ** Math.floor(Math.log10(v))
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p
  return 10 * p
}

function round(v) {
  return v >= 10 ? Math.round(v) : Math.round(v * 10) / 10
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [file, outArg] = process.argv.slice(2)
  if (!file) {
    console.error('usage: node scripts/soak/plot.mjs <soak-….json> [out.svg]')
    process.exit(2)
  }
  const result = JSON.parse(readFileSync(file, 'utf8'))
  const out = outArg ?? file.replace(/\.json$/, '.svg')
  writeFileSync(out, plot(result))
  console.log(out)
}
