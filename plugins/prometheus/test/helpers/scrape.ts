import { type TestGateway, WaitTimeoutError, waitFor } from '@gatehousejs/sdk/testing'

/**
 * A strict parser of the Prometheus text exposition format 0.0.4: every line must be a HELP or TYPE
 * comment or a sample `name{label="value",...} value`, each family's TYPE before its samples and
 * samples of one family together; anything else throws. (The npm parser we tried drops histogram
 * labels, sums and counts, so it could not check what matters here.)
 */
export interface Sample {
  name: string
  labels: Record<string, string>
  value: number
}
export interface Family {
  name: string
  type: string
  help: string
  samples: Sample[]
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(,|$)/y
const SUFFIXES = ['_bucket', '_sum', '_count']

export function parseExposition(text: string): Family[] {
  const families: Family[] = []
  const byName = new Map<string, Family>()
  let current: Family | undefined
  for (const line of text.split('\n')) {
    if (line === '') continue
    const meta = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.*)$/.exec(line)
    if (meta) {
      const [, kind, name, rest] = meta as unknown as [string, string, string, string]
      let fam = byName.get(name)
      if (!fam) {
        fam = { name, type: 'untyped', help: '', samples: [] }
        byName.set(name, fam)
        families.push(fam)
      }
      if (kind === 'HELP') fam.help = rest
      else if (['counter', 'gauge', 'histogram', 'summary', 'untyped'].includes(rest)) fam.type = rest
      else throw new Error(`bad TYPE line: ${line}`)
      current = fam
      continue
    }
    if (line.startsWith('#')) continue
    const m = SAMPLE.exec(line)
    if (!m) throw new Error(`not a sample line: ${line}`)
    const [, name, labelText, valueText] = m as unknown as [string, string, string | undefined, string]
    const base = current && (name === current.name || SUFFIXES.some((s) => name === current!.name + s))
    if (!base) throw new Error(`sample ${name} outside its family`)
    const labels: Record<string, string> = {}
    if (labelText) {
      LABEL.lastIndex = 0
      while (LABEL.lastIndex < labelText.length) {
        const l = LABEL.exec(labelText)
        if (!l) throw new Error(`bad labels: ${labelText}`)
        labels[l[1]!] = l[2]!.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c))
      }
    }
    // Values are Go floats: `NaN`, `+Inf`, `-Inf` in any case (prom-client writes `Nan`).
    const v = valueText.toLowerCase()
    const value =
      v === '+inf' ? Infinity : v === '-inf' ? -Infinity : v === 'nan' ? Number.NaN : Number(valueText)
    if (Number.isNaN(value) && v !== 'nan') throw new Error(`bad value: ${line}`)
    current!.samples.push({ name, labels, value })
  }
  return families
}

/** Scrapes over HTTP and parses; a non-200 or a malformed exposition throws. */
export async function scrape(gw: Pick<TestGateway, 'request'>, path = '/metrics', headers = {}) {
  const res = await gw.request({ path, headers })
  if (res.status !== 200) throw new Error(`scrape answered ${res.status}: ${res.text}`)
  return metricsOf(res.text)
}

export function metricsOf(text: string) {
  const families = parseExposition(text)
  const family = (name: string) => families.find((f) => f.name === name)
  /** Samples named `name` (a counter/gauge, or a histogram's `_count`/`_sum`/`_bucket`) matching `labels`. */
  const samples = (name: string, labels: Record<string, string> = {}): Sample[] =>
    families
      .flatMap((f) => f.samples)
      .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
  /** The sum of the matching samples; for a histogram family name, of its `_count` samples. */
  const total = (name: string, labels: Record<string, string> = {}): number => {
    const sampleName = family(name)?.type === 'histogram' ? `${name}_count` : name
    return samples(sampleName, labels).reduce((n, s) => n + s.value, 0)
  }
  return { families, family, samples, total }
}

/**
 * `log` handlers run after the response: poll (the test kit's `waitFor`, up to 10 s) until the check
 * holds. Returns either way; the test's own assertions say what was wrong.
 */
export async function eventually(check: () => Promise<boolean>): Promise<void> {
  await waitFor('the metrics', check).catch((err: unknown) => {
    if (!(err instanceof WaitTimeoutError)) throw err
  })
}
