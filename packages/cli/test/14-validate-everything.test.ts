import t from 'tap'
import { run, tempDir, writeFiles } from './helpers/cli.js'
import { jwksRecorder, sideEffectFile, tcpRecorder } from './helpers/recorders.js'

// `gatehouse validate` reports every problem of a file in one run (schema, unknown plugins,
// plugin configs, references) and has no side effect: no plugin `init`, so no Redis connection and
// no JWKS fetch. `--online` runs the plugins' own I/O checks (jwt fetches its JWKS URLs).

t.test('four kinds of mistake, all reported in one run, each located; no socket opened', async (t) => {
  const redis = await tcpRecorder(t)
  const jwks = await jwksRecorder(t)
  const dir = tempDir(t)
  writeFiles(dir, { 'gateway.yaml': sideEffectFile(redis.url, jwks.url, true) })
  const r = await run(['validate', 'gateway.yaml'], { cwd: dir })
  t.equal(r.code, 1, r.stderr)
  const lines = r.stderr.split('\n')
  const line = (re: RegExp) => lines.find((l) => re.test(l)) ?? ''
  t.match(
    line(/methods\/1/),
    /^gateway\.yaml:9:\d+ \/services\/0\/routes\/0\/methods\/1: must match an HTTP method: upper-case letters, e\.g\. "GET" \("post"\)$/,
    'the schema error: file:line:column and pointer',
  )
  t.match(
    line(/cros/),
    /^gateway\.yaml:23:11 \/plugins\/2\/name \(plugin cros\): plugin "cros" is not installed: .*Did you mean "cors"/,
    'the unknown plugin, with the near miss it stands for',
  )
  t.match(
    line(/limits\/minute/),
    /^gateway\.yaml:13:33 \/services\/0\/routes\/0\/plugins\/0\/config\/limits\/minute \(plugin rate-limit\): must be integer/,
    'the bad plugin config, with its plugin',
  )
  t.match(
    line(/userz/),
    /^gateway\.yaml:25:12 \/plugins\/3\/route \(plugin request-termination\): no route named "userz"; did you mean "users"\?/,
    'the dangling route reference, with the name it may stand for',
  )
  t.match(r.stderr, /4 problems in .*gateway\.yaml/, 'exactly those four')
  t.equal(redis.seen.connections, 0, 'no connection to Redis (rate-limit and jwt were not initialised)')
  t.equal(jwks.seen.connections, 0, 'no JWKS fetch')
})

t.test('a valid file: no socket opened; --online runs the plugins checks that need I/O', async (t) => {
  const redis = await tcpRecorder(t)
  const jwks = await jwksRecorder(t)
  const dir = tempDir(t)
  writeFiles(dir, { 'gateway.yaml': sideEffectFile(redis.url, jwks.url, false) })
  const r = await run(['validate', 'gateway.yaml'], { cwd: dir })
  t.equal(r.code, 0, r.stderr)
  t.match(r.stdout, /gateway\.yaml: valid \(1 route, 5 plugin instances\)/)
  t.equal(redis.seen.connections, 0, 'no connection to Redis')
  t.equal(jwks.seen.connections, 0, 'no JWKS fetch')

  const online = await run(['validate', 'gateway.yaml', '--online'], { cwd: dir })
  t.equal(online.code, 0, online.stderr)
  t.equal(jwks.seen.requests, 1, '--online: jwt fetched its JWKS URL once')
  t.equal(redis.seen.connections, 0, 'still no Redis connection: checks do not initialise plugins')

  // The JWKS server gone: --online says so, offline validation does not care.
  const gone = jwks.url.replace(/:\d+\//, ':9/')
  writeFiles(dir, { 'gone.yaml': sideEffectFile(redis.url, gone, false) })
  const offline = await run(['validate', 'gone.yaml'], { cwd: dir })
  t.equal(offline.code, 0, offline.stderr)
  const failed = await run(['validate', 'gone.yaml', '--online'], { cwd: dir })
  t.equal(failed.code, 1)
  t.match(
    failed.stderr,
    /^gone\.yaml:\d+:\d+ \/plugins\/1\/config\/jwks\/0\/url \(plugin jwt\): http:\/\/127\.0\.0\.1:9\/jwks\.json cannot be fetched/m,
  )
})
