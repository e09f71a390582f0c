/**
 * The soak and chaos run (scripts/soak, docs/reliability.md "Soak and chaos"), short: `gatehouse
 * start` with jwt, rate-limit and cache on Redis, transformers and prometheus, in front of five real
 * upstream processes, a load generator in its own process at 20 requests/s, and every fault of the
 * schedule once (a target killed, every target killed, a stalled upstream, Redis stopped, client
 * aborts, slowloris, slow POST, a burst above maxInflight), with a reload every 3 s. Asserts counts,
 * never timings: nothing unexpected, nothing lost, each fault seen by clients as documented, and the
 * gateway's file descriptors and Redis connections back to where they started.
 */
import { execFile } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'

const ROOT = fileURLToPath(new URL('../../../', import.meta.url))

interface Window {
  name: string
  sent: number
  statuses: Record<string, number>
  aborted: number
  expected: Record<string, number>
  unexpected: number
  unexpectedExamples: unknown[]
  hostile: { opened: number; cut408: number; closed: number; notCut: number; other: number }
}

t.test(
  'a short soak run: no unexpected failure, no lost request, no leaked fd or Redis connection',
  async (t) => {
    const out = mkdtempSync(join(tmpdir(), 'gatehouse-soak-'))
    t.teardown(() => rmSync(out, { recursive: true, force: true }))
    const code = await new Promise<number>((resolve) => {
      const child = execFile(
        process.execPath,
        [join(ROOT, 'scripts/soak/soak.mjs'), '--seconds', '60', '--rate', '20', '--out', out],
        { cwd: ROOT, maxBuffer: 16 * 1024 * 1024, timeout: 600_000 },
        (err) => resolve(err ? ((err as { code?: number }).code ?? 1) : 0),
      )
      child.stdout?.on('data', () => {})
    })
    const file = readdirSync(out).find((f) => f.endsWith('.json'))
    t.ok(file, 'the run wrote its JSON result')
    if (!file) return
    const result = JSON.parse(readFileSync(join(out, file), 'utf8')) as {
      windows: Window[]
      lost: unknown[]
      reloads: { applied: number; failed: number }
      growth: Record<string, { before: number; after: number; ok: boolean }>
      verdict: { pass: boolean; reasons: string[] }
      faults: { what: string }[]
    }
    const byName = (name: string) => result.windows.filter((w) => w.name === name)
    const sum = (ws: Window[], f: (w: Window) => number) => ws.reduce((a, w) => a + f(w), 0)

    t.same(
      result.windows.flatMap((w) => w.unexpectedExamples),
      [],
      'no unexpected failure (the examples say which, if any)',
    )
    t.equal(
      sum(result.windows, (w) => w.unexpected),
      0,
      'no unexpected failure',
    )
    t.same(result.lost, [], 'no request lost: every one was answered, errored or aborted by the client')
    t.ok(sum(result.windows, (w) => w.sent) > 900, 'the load ran the whole time')
    t.ok(result.reloads.applied >= 5, `the configuration was reloaded (${result.reloads.applied} times)`)
    t.equal(result.reloads.failed, 0, 'no reload failed')
    t.notOk(
      result.faults.some((f) => f.what.startsWith('fault step failed')),
      'every fault was injected and undone',
    )

    // A fault's expected failures are counted in the window the request was sent in, which may be the
    // one before (a fault that began while it was in flight) or after (its recovery): count them all.
    const expected = (reason: RegExp) =>
      result.windows
        .flatMap((w) => Object.entries(w.expected))
        .filter(([why]) => reason.test(why))
        .reduce((a, [, n]) => a + n, 0)
    t.ok(expected(/every catalog target down/) > 0, 'every target down: 502/503')
    t.ok(expected(/slow upstream stalls: 504/) > 0, 'a stalled upstream: 504 GH_UPSTREAM_TIMEOUT')
    t.ok(expected(/Redis down/) > 0, 'Redis down: the failClosed route answers 503')
    t.ok(
      (byName('redis-down')[0]?.statuses['200'] ?? 0) > 0,
      'Redis down: the failOpen routes and the cache keep serving',
    )
    t.ok(expected(/burst above maxInflight/) > 0, 'a burst above maxInflight: 503 CONCURRENCY_LIMIT')
    t.ok(sum(byName('client-aborts'), (w) => w.aborted) > 0, 'clients aborted requests')
    for (const name of ['slowloris', 'slow-post']) {
      const h = byName(name)[0]?.hostile
      t.ok(h && h.opened > 0, `${name}: slow clients were started`)
      t.equal(h?.cut408, h?.opened, `${name}: every slow client was cut with 408 GH_REQUEST_TIMEOUT`)
    }
    t.ok(
      result.growth.fds?.ok,
      `open fds back to their level (${result.growth.fds?.before} → ${result.growth.fds?.after})`,
    )
    t.ok(
      result.growth.redis?.ok,
      `Redis connections back to their level (${result.growth.redis?.before} → ${result.growth.redis?.after})`,
    )
    t.equal(
      code === 0,
      result.verdict.pass,
      `the exit code follows the verdict (${result.verdict.reasons.join('; ')})`,
    )
  },
)
