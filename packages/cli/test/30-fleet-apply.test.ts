/**
 * `gatehouse apply|diff|history|rollback` against a real redis-server: what is published, what is
 * refused before anything is written, and that secrets in ${ENV} form never reach Redis.
 */
import { createHmac } from 'node:crypto'
import { startRedis, startUpstream } from '@gatehousejs/sdk/testing'
import t from 'tap'
import { run as runCli, start, tempDir, writeFiles } from './helpers/cli.js'
import { dumpRedis, fleetConfig, KEY, redisClient, stampOf, waitFor } from './helpers/fleet.js'
import { installPackage } from './helpers/plugins.js'

/** The CLI, with a bound that allows for a loaded machine (a bound, not a timing assertion). */
const run = (args: string[], options: Parameters<typeof runCli>[1] = {}) =>
  runCli(args, { timeout: 120_000, ...options })

const PREFIX = '{gatehouse:fleet}:'

t.test('apply refuses before writing anything: no key, an invalid file, an unreachable store', async (t) => {
  const redis = await startRedis({ t })
  const dir = tempDir(t)
  installPackage(dir, 'gatehouse-plugin-stamp', 'stamp')
  const good = writeFiles(dir, { 'gateway.yaml': fleetConfig('http://127.0.0.1:9', 'v1') })
  const bad = writeFiles(dir, {
    'bad.yaml': 'services:\n  - name: echo\n    url: not a url\n    routes: [{ paths: [/] }]\n',
  })

  const noKey = await run(['apply', good, '--store', redis.url], {
    cwd: dir,
    env: { GATEHOUSE_CONFIG_KEY: '' },
  })
  t.equal(noKey.code, 2, 'no key: exit 2')
  t.match(noKey.stderr, /GH_FLEET_KEY_MISSING: GATEHOUSE_CONFIG_KEY must be set/)

  const invalid = await run(['apply', bad, '--store', redis.url], {
    cwd: dir,
    env: { GATEHOUSE_CONFIG_KEY: KEY },
  })
  t.equal(invalid.code, 1, 'invalid file: exit 1')
  t.match(invalid.stderr, /bad\.yaml:3:\d+ \/services\/0\/url/, 'names the file, line and pointer')

  const dry = await run(['apply', good, '--store', redis.url, '--dry-run'], { cwd: dir })
  t.equal(dry.code, 0, dry.stderr)
  t.match(dry.stdout, /dry run: nothing written/)
  t.match(dry.stdout, /\+ service echo/)
  t.match(dry.stdout, /\+ plugin stamp \(global\)/)

  t.same([...(await dumpRedis(redis.url)).keys()], [], 'Redis is still empty')

  await redis.stop()
  const down = await run(['apply', good, '--store', redis.url], {
    cwd: dir,
    env: { GATEHOUSE_CONFIG_KEY: KEY },
  })
  t.equal(down.code, 3, 'unreachable store: exit 3')
  t.match(
    down.stderr,
    new RegExp(`GH_FLEET_STORE_UNREACHABLE: the configuration store redis://127.0.0.1:${redis.port}`),
  )
})

t.test(
  'apply publishes signed, content-addressed, versioned snapshots; diff, history, rollback',
  async (t) => {
    const redis = await startRedis({ t })
    const dir = tempDir(t)
    installPackage(dir, 'gatehouse-plugin-stamp', 'stamp')
    const env = { GATEHOUSE_CONFIG_KEY: KEY }
    const v1 = writeFiles(dir, { 'v1.yaml': fleetConfig('http://127.0.0.1:9', 'one') })
    // The same configuration with keys in another order and other whitespace: the same hash.
    const v1b = writeFiles(dir, {
      'v1b.yaml': `plugins: [{ config: { value: "one" }, name: stamp }]\nservices:\n  - routes: [{ paths: [/], name: all }]\n    url: http://127.0.0.1:9\n    name: echo\n`,
    })
    const v2 = writeFiles(dir, {
      'v2.yaml': `${fleetConfig('http://127.0.0.1:9', 'two')}consumers:\n  - username: ada\n`,
    })

    const first = await run(['apply', v1, '--store', redis.url, '--message', 'first'], { cwd: dir, env })
    t.equal(first.code, 0, first.stderr)
    t.match(first.stdout, /published v1 \([0-9a-f]{12}\)/)

    const client = await redisClient(redis.url)
    t.teardown(() => client.disconnect())
    const snap1 = JSON.parse((await client.get(`${PREFIX}snapshot:1`)) as string)
    t.equal(snap1.version, 1)
    t.equal(snap1.message, 'first')
    t.match(snap1.hash, /^sha256:[0-9a-f]{64}$/)
    const { signature, ...signed } = snap1
    const canonical = (v: unknown): string =>
      v === null || typeof v !== 'object'
        ? JSON.stringify(v)
        : Array.isArray(v)
          ? `[${v.map(canonical).join(',')}]`
          : `{${Object.keys(v)
              .sort()
              .map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`)
              .join(',')}}`
    t.equal(
      signature,
      `hmac-sha256:${createHmac('sha256', KEY).update(canonical(signed)).digest('hex')}`,
      'HMAC-SHA256 over the canonical JSON of the snapshot',
    )
    t.same(JSON.parse((await client.get(`${PREFIX}current`)) as string), { version: 1, hash: snap1.hash })
    const events = await client.xrange(`${PREFIX}events`, '-', '+')
    t.same(
      events.map((e) => e[1]),
      [['version', '1', 'hash', snap1.hash]],
      'announced on the stream',
    )

    const same = await run(['apply', v1b, '--store', redis.url], { cwd: dir, env })
    t.equal(same.code, 0, same.stderr)
    t.match(
      same.stdout,
      /unchanged: v1 .* already holds this configuration/,
      'same canonical form: nothing new',
    )
    t.equal(await client.get(`${PREFIX}version`), '1')

    const diff = await run(['diff', v2, '--store', redis.url, '--json'], { cwd: dir })
    t.equal(diff.code, 0, diff.stderr)
    const d = JSON.parse(diff.stdout)
    t.same(d.from, { version: 1, hash: snap1.hash })
    t.same(d.diff.consumers, { added: ['ada'], removed: [], changed: [] })
    t.same(d.diff.plugins, { added: [], removed: [], changed: ['stamp (global)'] })
    t.same(d.diff.services, { added: [], removed: [], changed: [] })
    const human = await run(['diff', v2, '--store', redis.url], { cwd: dir })
    t.match(human.stdout, /against v1:\n~ plugin stamp \(global\)\n\+ consumer ada/)

    const second = await run(['apply', v2, '--store', redis.url], { cwd: dir, env })
    t.equal(second.code, 0, second.stderr)
    t.match(second.stdout, /published v2 .*\n~ plugin stamp \(global\)\n\+ consumer ada/)

    const back = await run(['rollback', '1', '--store', redis.url], { cwd: dir, env })
    t.equal(back.code, 0, back.stderr)
    t.match(back.stdout, /published v3 \([0-9a-f]{12}\): the configuration of v1/)
    const snap3 = JSON.parse((await client.get(`${PREFIX}snapshot:3`)) as string)
    t.equal(snap3.hash, snap1.hash, 'a rollback is the old content under a new version')
    t.equal(snap3.rollbackOf, 1)

    const missing = await run(['rollback', '9', '--store', redis.url], { cwd: dir, env })
    t.equal(missing.code, 3)
    t.match(missing.stderr, /GH_FLEET_VERSION_UNKNOWN: no snapshot v9/)

    const history = await run(['history', '--store', redis.url, '--json'], { cwd: dir })
    const h = JSON.parse(history.stdout)
    t.same(
      h.history.map((e: { version: number; message: string }) => [e.version, e.message]),
      [
        [1, 'first'],
        [2, ''],
        [3, 'rollback to v1'],
      ],
    )
    t.same(h.current, { version: 3, hash: snap1.hash })
    const table = await run(['history', '--store', redis.url], { cwd: dir })
    t.match(
      table.stdout,
      /^VERSION +HASH +PUBLISHED +MESSAGE\n +v1 .* first\n +v2 .*\n\*v3 .* rollback of v1: rollback to v1$/m,
    )
  },
)

t.test('secrets stay ${ENV} references in Redis; each node resolves them from its own env', async (t) => {
  const redis = await startRedis({ t })
  const upstream = await startUpstream({ t })
  const dir = tempDir(t)
  installPackage(dir, 'gatehouse-plugin-stamp', 'stamp')
  const secret = 'sup3r-s3cret-value-7d1f'
  const file = writeFiles(dir, { 'gateway.yaml': fleetConfig(upstream.url, '${STAMP_SECRET}') })
  const applied = await run(['apply', file, '--store', redis.url], {
    cwd: dir,
    env: { GATEHOUSE_CONFIG_KEY: KEY, STAMP_SECRET: secret },
  })
  t.equal(applied.code, 0, applied.stderr)

  const node = await start(
    t,
    [
      '--store',
      redis.url,
      '--cache-dir',
      `${dir}/cache`,
      '--port',
      '0',
      '--host',
      '127.0.0.1',
      '--poll',
      '300ms',
    ],
    { cwd: dir, env: { GATEHOUSE_CONFIG_KEY: KEY, STAMP_SECRET: secret }, timeout: 120_000 },
  )
  t.equal(await stampOf(node.url), secret, 'the node resolved ${STAMP_SECRET} from its environment')
  await waitFor('the heartbeat', async () => (await dumpRedis(redis.url)).size >= 6)

  const all = await dumpRedis(redis.url)
  t.ok(all.size >= 6, `scanned ${all.size} keys: ${[...all.keys()].join(', ')}`)
  for (const [key, value] of all) t.notOk(value.includes(secret), `${key} does not hold the secret`)
  t.ok(
    [...all.values()].some((v) => v.includes('${STAMP_SECRET}')),
    'the snapshot holds the reference',
  )
  await node.stop()
})

t.test('a node with nothing to start from exits with a clear error', async (t) => {
  const redis = await startRedis({ t })
  const dir = tempDir(t)
  const args = ['--store', redis.url, '--cache-dir', `${dir}/cache`, '--port', '0', '--host', '127.0.0.1']
  await t.rejects(start(t, args, { cwd: dir, env: { GATEHOUSE_CONFIG_KEY: KEY }, timeout: 120_000 }), {
    code: 3,
    output:
      /GH_FLEET_NO_SNAPSHOT: no configuration to start from: the store redis:\/\/127\.0\.0\.1:\d+ has no snapshot yet \(run gatehouse apply\); no cached snapshot at /,
  })
  await redis.stop()
  await t.rejects(start(t, args, { cwd: dir, env: { GATEHOUSE_CONFIG_KEY: KEY }, timeout: 120_000 }), {
    code: 3,
    output:
      /GH_FLEET_NO_SNAPSHOT: no configuration to start from: the configuration store redis:\/\/127\.0\.0\.1:\d+ is unreachable: .*; no cached snapshot at /,
  })
  await t.rejects(start(t, args, { cwd: dir, env: { GATEHOUSE_CONFIG_KEY: '' }, timeout: 120_000 }), {
    code: 2,
    output: /GH_FLEET_KEY_MISSING/,
  })
  const withFile = await run(['start', 'gateway.yaml', '--store', redis.url], { cwd: dir })
  t.equal(withFile.code, 2)
  t.match(withFile.stderr, /start --store takes no file/)
})
