import { startRedis } from '@gatehousejs/sdk/testing'
import t from 'tap'
import { run as runCli, tempDir, writeFiles } from './helpers/cli.js'
import { dumpRedis, KEY } from './helpers/fleet.js'
import { jwksRecorder, sideEffectFile, tcpRecorder } from './helpers/recorders.js'

// `gatehouse apply` runs every check `validate` runs, on the same validate-only path: no plugin is
// initialised, so the only connection it opens is the store's (the file's own Redis connection and
// JWKS URLs are not touched). `gatehouse routes` needs the plugins' `init` (a chain lists the phases
// their handlers take part in), but a file that fails validation never gets that far.

/** The CLI, with a bound that allows for a loaded machine (a bound, not a timing assertion). */
const run = (args: string[], options: Parameters<typeof runCli>[1] = {}) =>
  runCli(args, { timeout: 120_000, ...options })

t.test('apply: every validate problem in one run, nothing written, no plugin socket', async (t) => {
  const store = await startRedis({ t })
  const redis = await tcpRecorder(t)
  const jwks = await jwksRecorder(t)
  const dir = tempDir(t)
  writeFiles(dir, { 'gateway.yaml': sideEffectFile(redis.url, jwks.url, true) })
  const r = await run(['apply', 'gateway.yaml', '--store', store.url], {
    cwd: dir,
    env: { GATEHOUSE_CONFIG_KEY: KEY },
  })
  t.equal(r.code, 1, r.stderr)
  t.match(r.stderr, /^gateway\.yaml:9:\d+ \/services\/0\/routes\/0\/methods\/1: /m, 'the schema error')
  t.match(r.stderr, /^gateway\.yaml:23:11 \/plugins\/2\/name \(plugin cros\): .*Did you mean "cors"/m)
  t.match(
    r.stderr,
    /^gateway\.yaml:13:33 \S+\/config\/limits\/minute \(plugin rate-limit\): must be integer/m,
  )
  t.match(
    r.stderr,
    /^gateway\.yaml:25:12 \/plugins\/3\/route \(plugin request-termination\): no route named "userz"/m,
  )
  t.match(r.stderr, /4 problems in .*gateway\.yaml/, 'the four validate reports, in one run')
  t.same([...(await dumpRedis(store.url)).keys()], [], 'nothing written to the store')
  t.equal(redis.seen.connections, 0, 'no connection to the file’s Redis')
  t.equal(jwks.seen.connections, 0, 'no JWKS fetch')
})

t.test('apply of a valid file: published, and still no plugin socket', async (t) => {
  const store = await startRedis({ t })
  const redis = await tcpRecorder(t)
  const jwks = await jwksRecorder(t)
  const dir = tempDir(t)
  writeFiles(dir, { 'gateway.yaml': sideEffectFile(redis.url, jwks.url, false) })
  const env = { GATEHOUSE_CONFIG_KEY: KEY }

  const dry = await run(['apply', 'gateway.yaml', '--store', store.url, '--dry-run'], { cwd: dir, env })
  t.equal(dry.code, 0, dry.stderr)
  t.match(dry.stdout, /dry run: nothing written/)
  t.match(dry.stdout, /\+ plugin rate-limit \(global\)/)

  const applied = await run(['apply', 'gateway.yaml', '--store', store.url, '-m', 'first'], { cwd: dir, env })
  t.equal(applied.code, 0, applied.stderr)
  t.match(applied.stdout, /published v1 \([0-9a-f]{12}\)/)
  const keys = [...(await dumpRedis(store.url)).keys()]
  t.ok(keys.length > 0, 'the snapshot is in the store')
  t.equal(redis.seen.connections, 0, 'no connection to the file’s Redis (rate-limit, jwt not initialised)')
  t.equal(jwks.seen.connections, 0, 'no JWKS fetch')
})

t.test('routes: an invalid file is reported as validate reports it, before any plugin init', async (t) => {
  const redis = await tcpRecorder(t)
  const jwks = await jwksRecorder(t)
  const dir = tempDir(t)
  writeFiles(dir, { 'gateway.yaml': sideEffectFile(redis.url, jwks.url, true) })
  const r = await run(['routes', 'gateway.yaml'], { cwd: dir })
  t.equal(r.code, 1, r.stderr)
  t.match(r.stderr, /^gateway\.yaml:9:\d+ \/services\/0\/routes\/0\/methods\/1: /m)
  t.match(r.stderr, /^gateway\.yaml:23:11 \/plugins\/2\/name \(plugin cros\): /m)
  t.match(r.stderr, /4 problems in .*gateway\.yaml/, 'all four, not only the unresolved plugin')
  t.equal(redis.seen.connections, 0, 'no connection to Redis')
  t.equal(jwks.seen.connections, 0, 'no JWKS fetch')
})
