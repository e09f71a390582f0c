import { execFile } from 'node:child_process'
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { request, startUpstream } from '@gatehousejs/sdk/testing'
import t from 'tap'
import { start, tempDir } from './helpers/cli.js'

// As users install it: every public package packed, checked by publint and arethetypeswrong, then
// installed with plain npm into an empty project outside the workspace; a gateway composed in code
// (ESM and CJS); and `gatehouse start` on a YAML file that uses a third-party plugin made with
// `gatehouse new-plugin`, built, tested and packed on its own, and installed from its tarball.

const exec = promisify(execFile)
const ROOT = fileURLToPath(new URL('../../../', import.meta.url))
const BIN_DIR = fileURLToPath(new URL('../node_modules/.bin/', import.meta.url))
const NPM_ENV = {
  ...process.env,
  npm_config_fund: 'false',
  npm_config_audit: 'false',
  npm_config_update_notifier: 'false',
}

interface Packed {
  name: string
  tarball: string
}

function publicPackages(): { name: string; dir: string }[] {
  const out: { name: string; dir: string }[] = []
  for (const group of ['packages', 'plugins']) {
    for (const entry of readdirSync(join(ROOT, group)).sort()) {
      const pj = join(ROOT, group, entry, 'package.json')
      if (!existsSync(pj)) continue
      const manifest = JSON.parse(readFileSync(pj, 'utf8')) as { name: string; private?: boolean }
      if (!manifest.private) out.push({ name: manifest.name, dir: join(ROOT, group, entry) })
    }
  }
  return out
}

async function npm(args: string[], cwd: string, timeout = 600_000) {
  return exec('npm', args, { cwd, env: NPM_ENV, timeout, maxBuffer: 64 * 1024 * 1024 })
}

t.test(
  'every public package packs, lints and installs as users get it',
  { timeout: 1_500_000 },
  async (t) => {
    const work = tempDir(t, 'gatehouse-pack-')
    const tarballs = join(work, 'tarballs')
    mkdirSync(tarballs)

    // 1. Pack with pnpm, which turns `workspace:^` into real version ranges, as a publish would.
    const packed: Packed[] = []
    for (const pkg of publicPackages()) {
      const { stdout } = await exec(
        process.execPath,
        [join(ROOT, 'scripts/pnpm.mjs'), '-C', pkg.dir, 'pack', '--pack-destination', tarballs],
        { timeout: 300_000, maxBuffer: 16 * 1024 * 1024 },
      )
      const tarball = stdout
        .trim()
        .split('\n')
        .map((l) => l.trim())
        .find((l) => l.endsWith('.tgz'))
      t.ok(tarball && existsSync(tarball), `${pkg.name} packs`)
      packed.push({ name: pkg.name, tarball: tarball as string })
    }
    const byName = new Map(packed.map((p) => [p.name, p.tarball]))
    t.ok(byName.has('@gatehousejs/core') && byName.has('@gatehousejs/sdk') && byName.has('@gatehousejs/cli'))

    // 2. publint (warnings are errors) and arethetypeswrong for ESM and CJS consumers (the node16 profile:
    //    Node's own resolution and bundlers; TypeScript's legacy node10 mode cannot see subpath exports).
    for (const p of packed) {
      const lint = await exec(join(BIN_DIR, 'publint'), ['run', p.tarball, '--strict'], {
        timeout: 120_000,
      }).then(
        (r) => ({ ok: true, out: r.stdout + r.stderr }),
        (e: { stdout?: string; stderr?: string }) => ({
          ok: false,
          out: `${e.stdout ?? ''}${e.stderr ?? ''}`,
        }),
      )
      t.ok(lint.ok, `publint: ${p.name}`, { diagnostic: !lint.ok, output: lint.out })
      const types = await exec(
        join(BIN_DIR, 'attw'),
        [p.tarball, '--profile', 'node16', '--format', 'ascii', '--no-color'],
        {
          timeout: 120_000,
        },
      ).then(
        (r) => ({ ok: true, out: r.stdout }),
        (e: { stdout?: string; stderr?: string }) => ({
          ok: false,
          out: `${e.stdout ?? ''}${e.stderr ?? ''}`,
        }),
      )
      t.ok(types.ok, `arethetypeswrong: ${p.name}`, { diagnostic: !types.ok, output: types.out })
    }

    // 3. An empty project outside the workspace installs every tarball with npm.
    const app = join(work, 'app')
    mkdirSync(app)
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, version: '1.0.0' }))
    await npm(['install', '--no-package-lock', ...packed.map((p) => p.tarball)], app)
    t.ok(existsSync(join(app, 'node_modules/@gatehousejs/core/package.json')), 'installed')

    const upstream = await startUpstream({ t })

    // 3a. A gateway composed in code, from ESM and from CJS.
    const esm = `import { createGateway } from '@gatehousejs/core'
import { definePlugin } from '@gatehousejs/sdk'
const hello = definePlugin({ name: 'hello', version: '1.0.0', priority: 1, init: () => ({
  access(ctx) { ctx.upstream.headers['x-hello'] = 'esm' } }) })
const gw = await createGateway({ services: [{ name: 'u', url: process.env.UPSTREAM, routes: [{ paths: ['/'] }] }],
  plugins: [{ name: 'hello' }] }, { plugins: [hello], logger: false })
const url = await gw.listen({ port: 0, host: '127.0.0.1' })
const res = await fetch(url + '/from-esm')
console.log(res.status)
await gw.close()
`
    writeFileSync(join(app, 'esm.mjs'), esm)
    const a = await exec(process.execPath, ['esm.mjs'], {
      cwd: app,
      env: { ...process.env, UPSTREAM: upstream.url },
    })
    t.equal(a.stdout.trim(), '200', 'ESM: a gateway composed in code serves')
    t.equal(upstream.last()?.headers['x-hello'], 'esm')

    const cjs = `const { createGateway } = require('@gatehousejs/core')
const { definePlugin } = require('@gatehousejs/sdk')
const hello = definePlugin({ name: 'hello', version: '1.0.0', priority: 1, init: () => ({
  access(ctx) { ctx.upstream.headers['x-hello'] = 'cjs' } }) })
;(async () => {
  const gw = await createGateway({ services: [{ name: 'u', url: process.env.UPSTREAM, routes: [{ paths: ['/'] }] }],
    plugins: [{ name: 'hello' }] }, { plugins: [hello], logger: false })
  const url = await gw.listen({ port: 0, host: '127.0.0.1' })
  const res = await fetch(url + '/from-cjs')
  console.log(res.status)
  await gw.close()
})()
`
    writeFileSync(join(app, 'cjs.cjs'), cjs)
    const b = await exec(process.execPath, ['cjs.cjs'], {
      cwd: app,
      env: { ...process.env, UPSTREAM: upstream.url },
    })
    t.equal(b.stdout.trim(), '200', 'CJS: the same with require()')
    t.equal(upstream.last()?.headers['x-hello'], 'cjs')

    // 3b. A third-party plugin: scaffolded, installed, tested and packed on its own.
    const gatehouse = join(app, 'node_modules/.bin/gatehouse')
    const scaffold = await exec(
      gatehouse,
      [
        'new-plugin',
        'tenant-stamp',
        '--dir',
        join(work, 'gatehouse-plugin-tenant-stamp'),
        '--sdk',
        `file:${byName.get('@gatehousejs/sdk')}`,
        '--core',
        `file:${byName.get('@gatehousejs/core')}`,
      ],
      { cwd: work },
    )
    t.match(scaffold.stdout, /created gatehouse-plugin-tenant-stamp/)
    const pluginDir = join(work, 'gatehouse-plugin-tenant-stamp')
    await npm(['install', '--no-package-lock'], pluginDir)
    const tested = await npm(['test'], pluginDir)
    t.match(tested.stdout, /# pass 3/, "the scaffold's own tests pass")
    t.match(tested.stdout, /# fail 0/)
    const packOut = await npm(['pack', '--pack-destination', tarballs], pluginDir)
    const pluginTarball = join(tarballs, packOut.stdout.trim().split('\n').pop() as string)
    t.ok(existsSync(pluginTarball), 'the plugin packs')
    await npm(['install', '--no-package-lock', ...packed.map((p) => p.tarball), pluginTarball], app)

    // `gatehouse start` on a YAML file naming the third-party plugin by its short name.
    writeFileSync(
      join(app, 'gateway.yaml'),
      `services:
  - name: echo
    url: \${UPSTREAM}
    routes:
      - paths: [/]
plugins:
  - name: tenant-stamp
    config: { value: from-a-package }
`,
    )
    const gw = await start(t, ['gateway.yaml', '--port', '0', '--host', '127.0.0.1', '--no-watch'], {
      cwd: app,
      env: { UPSTREAM: upstream.url },
      bin: join(app, 'node_modules/@gatehousejs/cli/bin/gatehouse.js'),
    })
    const res = await request(gw.url, { path: '/yaml' })
    t.equal(res.status, 200)
    t.equal(
      upstream.last()?.headers['x-tenant-stamp'],
      'from-a-package',
      'the packed third-party plugin runs',
    )
    const routes = await exec(gatehouse, ['routes', 'gateway.yaml'], {
      cwd: app,
      env: { ...process.env, UPSTREAM: upstream.url },
    })
    t.match(routes.stdout, /access: {2}tenant-stamp/)
  },
)
