import { type ChildProcess, execFile, spawn } from 'node:child_process'
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { basename, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { checkPackage, createPackageFromTarballData } from '@arethetypeswrong/core'
import { request, startUpstream, withoutTapHook } from '@gatehousejs/sdk/testing'
import { publint } from 'publint'
import { formatMessage } from 'publint/utils'
import semver from 'semver'
import t, { type Test } from 'tap'
import { start, tempDir } from './helpers/cli.js'

// The path a user takes, as the README and docs/releasing.md tell it: `npm run pack` writes the
// tarballs and prints an `npm install` line; an empty project outside the workspace (`npm init -y`)
// runs that line with plain npm; the README's gateway example, pasted into index.mjs, serves; a
// plugin made with `npx gatehouse new-plugin` is built, tested and packed on its own, installed
// into the same project, and loaded by name from a gateway file by `gatehouse start`; a project made
// by `npx gatehouse init` installs its dependencies from the tarballs, starts and reloads its code.

const exec = promisify(execFile)
const ROOT = fileURLToPath(new URL('../../../', import.meta.url))
const NPM_ENV = {
  ...process.env,
  npm_config_fund: 'false',
  npm_config_audit: 'false',
  npm_config_update_notifier: 'false',
  // Use what npm has cached before asking the registry (registry access is still allowed).
  npm_config_prefer_offline: 'true',
}
const ENGINES = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).engines.node as string
const LICENSE = readFileSync(join(ROOT, 'LICENSE'), 'utf8')

interface Manifest {
  name: string
  version: string
  private?: boolean
  engines?: { node?: string }
}

function publicPackages(): Manifest[] {
  const out: Manifest[] = []
  for (const group of ['packages', 'plugins']) {
    for (const entry of readdirSync(join(ROOT, group)).sort()) {
      const file = join(ROOT, group, entry, 'package.json')
      if (!existsSync(file)) continue
      const manifest = JSON.parse(readFileSync(file, 'utf8')) as Manifest
      if (!manifest.private) out.push(manifest)
    }
  }
  return out
}

/** The file name pnpm and npm give a package's tarball: `@scope/name` → `scope-name-<version>.tgz`. */
function tarballName(m: Manifest): string {
  return `${m.name.replace(/^@/, '').replace('/', '-')}-${m.version}.tgz`
}

/** The arguments of a printed shell line (pack.mjs quotes a path with JSON when it must). */
function shellWords(line: string): string[] {
  return (line.match(/"(?:[^"\\]|\\.)*"|\S+/g) ?? []).map((w) => (w.startsWith('"') ? JSON.parse(w) : w))
}

/** The README's gateway example: the first ```js block of its "Quick start from npm" section. */
function readmeGatewayExample(): string {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8')
  const section = readme.split(/^## /m).find((s) => s.startsWith('Quick start from npm'))
  const block = section && /```js\n([\s\S]*?)```/.exec(section)
  if (!block?.[1]) throw new Error('README.md: no ```js block under "## Quick start from npm"')
  return block[1]
}

/** Every package installed under `dir/node_modules`, nested ones included. */
function installedPackages(dir: string): { path: string; manifest: Manifest }[] {
  const found: { path: string; manifest: Manifest }[] = []
  const modules = join(dir, 'node_modules')
  if (!existsSync(modules)) return found
  for (const entry of readdirSync(modules)) {
    if (entry.startsWith('.')) continue
    const dirs = entry.startsWith('@')
      ? readdirSync(join(modules, entry)).map((e) => join(modules, entry, e))
      : [join(modules, entry)]
    for (const pkg of dirs) {
      const file = join(pkg, 'package.json')
      if (!existsSync(file)) continue
      found.push({ path: pkg, manifest: JSON.parse(readFileSync(file, 'utf8')) as Manifest })
      found.push(...installedPackages(pkg))
    }
  }
  return found
}

interface NpmResult {
  stdout: string
  stderr: string
}

async function npm(args: string[], cwd: string, timeout = 600_000): Promise<NpmResult> {
  return exec(...withoutTapHook('npm', args), { cwd, env: NPM_ENV, timeout, maxBuffer: 64 * 1024 * 1024 })
}

/** `npm install` output must not warn that a package does not support this Node. */
function noEngineWarning(t: Test, what: string, r: NpmResult) {
  t.notMatch(`${r.stdout}\n${r.stderr}`, /EBADENGINE|Unsupported engine/, `${what}: no EBADENGINE warning`)
}

/** A port nothing listens on (bound, then released). */
async function closedPort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const { port } = server.address() as { port: number }
  await new Promise((r) => server.close(r))
  return port
}

/** Starts `node file` and waits for `pattern` in its output; killed by PID at teardown. */
function startScript(
  t: Test,
  file: string,
  options: { cwd: string; env: NodeJS.ProcessEnv },
  pattern: RegExp,
): Promise<{ child: ChildProcess; match: RegExpExecArray }> {
  return new Promise((resolve, reject) => {
    const child = spawn(...withoutTapHook(process.execPath, [file]), {
      cwd: options.cwd,
      env: { ...process.env, ...options.env },
    })
    t.teardown(() => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
    })
    let out = ''
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`node ${file} printed nothing matching ${pattern} in time:\n${out}`))
    }, 120_000)
    const onData = (d: Buffer) => {
      out += d
      const match = pattern.exec(out)
      if (match) {
        clearTimeout(timer)
        resolve({ child, match })
      }
    }
    child.stdout.on('data', onData)
    child.stderr.on('data', onData)
    child.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`node ${file} exited with ${code}:\n${out}`))
    })
  })
}

/**
 * publint with `--strict` (a warning is an error) and arethetypeswrong with the node16 profile (every
 * resolution but node10) on one tarball, as their CLIs decide: what would fail each, as text.
 */
async function lintTarball(tarball: string): Promise<{ errors: string[]; problems: string[] }> {
  const data = readFileSync(tarball)
  const bytes = new Uint8Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength))
  const { messages, pkg } = await publint({ pack: { tarball: bytes.slice().buffer }, strict: true })
  const errors = messages
    .filter((m) => m.type === 'error')
    .map((m) => `${m.code}: ${formatMessage(m, pkg, { color: false }) ?? ''}`)
  const analysis = await checkPackage(createPackageFromTarballData(bytes))
  const problems = analysis.types
    ? analysis.problems
        .filter((p) => !('resolutionKind' in p) || p.resolutionKind !== 'node10')
        .map((p) => JSON.stringify(p))
    : []
  return { errors, problems }
}

t.test(
  'npm run pack → npm install of the printed tarballs → the README example serves → a scaffolded plugin loads by name → gatehouse init starts',
  { timeout: 1_500_000 },
  async (t) => {
    const work = tempDir(t, 'gatehouse-pack-')
    const tarballs = join(work, 'tarballs')

    // 1. `npm run pack`, the documented command (`--no-build`: `npm test` has built everything).
    const pack = await exec(
      ...withoutTapHook('npm', ['run', 'pack', '--', '--no-build', '--out', tarballs]),
      {
        cwd: ROOT,
        env: NPM_ENV,
        timeout: 600_000,
        maxBuffer: 16 * 1024 * 1024,
      },
    )
    const installLine = pack.stdout
      .split('\n')
      .map((l) => l.trim())
      .find((l) => l.startsWith('npm install '))
    if (!installLine) throw new Error(`npm run pack printed no npm install line:\n${pack.stdout}`)
    const printed = shellWords(installLine).slice(2)
    const expected = publicPackages()
    t.same(
      printed.map((p) => basename(p)).sort(),
      expected.map(tarballName).sort(),
      'the printed line installs one tarball per public package',
    )
    for (const p of printed) t.ok(existsSync(p), `${basename(p)} exists`)
    const tarballOf = (name: string) => {
      const m = expected.find((e) => e.name === name)
      return join(tarballs, tarballName(m as Manifest))
    }

    // 2. publint (warnings are errors) and arethetypeswrong for ESM and CJS consumers (the node16 profile:
    //    Node's own resolution and bundlers; TypeScript's legacy node10 mode cannot see subpath exports).
    //    Through their libraries, in this process: the same checks as `publint run --strict` and
    //    `attw --profile node16`, without loading TypeScript again for every tarball.
    for (const tarball of printed) {
      const { errors, problems } = await lintTarball(tarball)
      t.same(errors, [], `publint: ${basename(tarball)}`)
      t.same(problems, [], `arethetypeswrong: ${basename(tarball)}`)
    }

    // 3. An empty project outside the workspace: `npm init -y`, then exactly the printed line.
    const app = join(work, 'app')
    mkdirSync(app)
    await npm(['init', '-y'], app)
    const installed = await exec('/bin/sh', ['-c', installLine], {
      cwd: app,
      env: NPM_ENV,
      timeout: 600_000,
      maxBuffer: 64 * 1024 * 1024,
    })
    noEngineWarning(t, 'installing the tarballs', installed)
    const tree = installedPackages(app)
    t.ok(tree.length > 50, 'the dependency tree is installed')
    // What npm checks for the running Node, checked for the oldest Node the packages declare. npm picks
    // each dependency's version for the Node that runs the install (npm-pick-manifest prefers the
    // versions whose `engines` it satisfies): pino-pretty gets strip-json-comments 5.0 on Node 20 and
    // 5.1, which declares Node >= 22, on Node 24. So the oldest Node is checked on its own major, which
    // is what CI runs; on a newer Node, the running one is.
    const floor = semver.minVersion(ENGINES)?.version as string
    const checked = semver.major(process.version) === semver.major(floor) ? floor : process.version.slice(1)
    // (npm ignores an `engines.node` that is not a valid range; so does this.)
    const refusing = tree.filter(({ manifest: { engines } }) => {
      const range = typeof engines?.node === 'string' ? semver.validRange(engines.node) : null
      return range !== null && !semver.satisfies(checked, range)
    })
    t.same(
      refusing.map((p) => `${p.manifest.name}@${p.manifest.version} wants node ${p.manifest.engines?.node}`),
      [],
      `every installed package supports Node ${checked} (engines ${ENGINES})`,
    )
    for (const m of expected) {
      const dir = join(app, 'node_modules', m.name)
      t.equal(readFileSync(join(dir, 'LICENSE'), 'utf8'), LICENSE, `${m.name} ships the repository's LICENSE`)
    }

    const upstream = await startUpstream({ t })
    const orders = await startUpstream({ t })

    // 3a. The README's quick-start example, pasted as it is into index.mjs.
    writeFileSync(join(app, 'index.mjs'), readmeGatewayExample())
    const readmeGateway = await startScript(
      t,
      'index.mjs',
      { cwd: app, env: { USERS_URL: upstream.url, ORDERS_URL: orders.url, PORT: '0' } },
      /gateway on (http:\/\/127\.0\.0\.1:\d+)/,
    )
    const gatewayUrl = readmeGateway.match[1] as string
    const users = await request(gatewayUrl, { path: '/users/1' })
    t.equal(users.status, 200, 'README example: GET /users/1 is proxied')
    t.equal(upstream.last()?.url, '/1', 'the users service received it (the route prefix stripped)')
    const order = await request(gatewayUrl, { path: '/orders/7' })
    t.equal(order.status, 200, 'README example: GET /orders/7 is proxied')
    t.equal(orders.last()?.url, '/7', 'the orders service received it (the route prefix stripped)')
    readmeGateway.child.kill('SIGTERM')

    // "a service that is not running answers 502 GH_UPSTREAM_UNREACHABLE", as the README says.
    const down = await startScript(
      t,
      'index.mjs',
      {
        cwd: app,
        env: { USERS_URL: `http://127.0.0.1:${await closedPort()}`, ORDERS_URL: orders.url, PORT: '0' },
      },
      /gateway on (http:\/\/127\.0\.0\.1:\d+)/,
    )
    const unreachable = await request(down.match[1] as string, { path: '/users/1' })
    t.equal(unreachable.status, 502)
    t.equal(unreachable.json<{ code: string }>().code, 'GH_UPSTREAM_UNREACHABLE')
    down.child.kill('SIGTERM')

    // 3b. CommonJS: the same packages with require().
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
    const b = await exec(...withoutTapHook(process.execPath, ['cjs.cjs']), {
      cwd: app,
      env: { ...process.env, UPSTREAM: upstream.url },
      timeout: 60_000,
    })
    t.equal(b.stdout.trim(), '200', 'CJS: a gateway composed with require() serves')
    t.equal(upstream.last()?.headers['x-hello'], 'cjs')

    // 4. A third-party plugin: `npx gatehouse new-plugin x` (the project's own CLI) into a directory
    //    of its own, installed, built, tested and packed there with plain npm.
    const pluginDir = join(tempDir(t, 'gatehouse-new-plugin-'), 'gatehouse-plugin-x')
    const scaffold = await exec(
      'npx',
      [
        'gatehouse',
        'new-plugin',
        'x',
        '--dir',
        pluginDir,
        '--sdk',
        `file:${tarballOf('@gatehousejs/sdk')}`,
        '--core',
        `file:${tarballOf('@gatehousejs/core')}`,
      ],
      { cwd: app, env: NPM_ENV, timeout: 120_000 },
    )
    t.match(scaffold.stdout, /created gatehouse-plugin-x/)
    noEngineWarning(t, "the plugin's own install", await npm(['install'], pluginDir))
    // Its tests are plugins/_template's (tap, from the sources), renamed. tap is told nothing of the
    // tap running this file: a clean environment, as a user's shell would be.
    const cleanEnv = Object.fromEntries(
      Object.entries(NPM_ENV).filter(([k]) => !/^(TAP|_TAPJS|NODE_OPTIONS$)/.test(k)),
    )
    const tested = await exec(...withoutTapHook('npm', ['test'], {}), {
      cwd: pluginDir,
      env: cleanEnv,
      timeout: 600_000,
      maxBuffer: 64 * 1024 * 1024,
    })
    const summary = /# \{ total: (\d+), pass: (\d+) \}/.exec(tested.stdout)
    t.ok(summary && Number(summary[1]) >= 10 && summary[1] === summary[2], "the scaffold's own tests pass", {
      output: tested.stdout.slice(-2000),
    })
    const packOut = await npm(['pack', '--pack-destination', tarballs], pluginDir)
    const pluginTarball = join(tarballs, packOut.stdout.trim().split('\n').pop() as string)
    t.ok(existsSync(pluginTarball), 'the plugin packs')
    t.ok(existsSync(join(pluginDir, 'dist/index.js')), 'packing built it (prepack)')
    noEngineWarning(t, 'installing the plugin', await npm(['install', pluginTarball], app))
    t.ok(
      existsSync(join(app, 'node_modules/gatehouse-plugin-x/dist/index.js')),
      'installed beside the gateway',
    )

    // 5. Loaded by its short name from a gateway file: validated, then served by `gatehouse start`.
    writeFileSync(
      join(app, 'gateway.yaml'),
      `services:
  - name: echo
    url: \${UPSTREAM}
    routes:
      - name: open
        paths: [/open]
      - name: tenants
        paths: [/tenants]
plugins:
  - name: x
    route: open
    config: { upstreamHeaders: { x-x: from-a-package } }
  - name: x
    route: tenants
    config: { upstreamHeaders: { x-x: tenant-checked }, requiredHeaders: [x-tenant] }
`,
    )
    const cliEnv = { ...NPM_ENV, UPSTREAM: upstream.url }
    const validated = await exec(...withoutTapHook('npx', ['gatehouse', 'validate', 'gateway.yaml']), {
      cwd: app,
      env: cliEnv,
      timeout: 60_000,
    })
    t.match(
      validated.stdout,
      /gateway\.yaml: valid \(2 routes, 2 plugin instances\)/,
      'validate loads the plugin',
    )
    const routes = await exec(...withoutTapHook('npx', ['gatehouse', 'routes', 'gateway.yaml']), {
      cwd: app,
      env: cliEnv,
      timeout: 60_000,
    })
    t.match(routes.stdout, /access: {2}x\b/, 'the route table shows it in the chain')

    const gw = await start(t, ['gateway.yaml', '--port', '0', '--host', '127.0.0.1', '--no-watch'], {
      cwd: app,
      env: { UPSTREAM: upstream.url },
      bin: join(app, 'node_modules/@gatehousejs/cli/bin/gatehouse.js'),
    })
    const res = await request(gw.url, { path: '/open/1' })
    t.equal(res.status, 200)
    t.equal(upstream.last()?.headers['x-x'], 'from-a-package', 'the packed third-party plugin ran')

    const before = upstream.requests.length
    const refused = await request(gw.url, { path: '/tenants/1' })
    t.equal(refused.status, 400, 'its own bad-input answer: a 400')
    t.equal(refused.json<{ code: string }>().code, 'GH_X_HEADER_REQUIRED')
    t.equal(upstream.requests.length, before, 'nothing was proxied')
    const allowed = await request(gw.url, { path: '/tenants/1', headers: { 'x-tenant': 'acme' } })
    t.equal(allowed.status, 200)
    t.equal(upstream.last()?.headers['x-x'], 'tenant-checked')
    await gw.stop('SIGTERM')
    t.equal(gw.child.signalCode, 'SIGTERM', 'gatehouse start stops on SIGTERM')

    // 6. `npx gatehouse init` a new project, install what its package.json names from the tarballs
    //    (the packages are not on the registry: npm rewrites those ranges to the tarballs), then run
    //    its `npm start` command and its `npm run reload:code` as they are written.
    const project = join(work, 'my-gateway')
    const created = await exec(...withoutTapHook('npx', ['gatehouse', 'init', project]), {
      cwd: app,
      env: NPM_ENV,
      timeout: 120_000,
    })
    t.match(created.stdout, /Created a Gatehouse project in .*my-gateway/)
    const initManifest = JSON.parse(readFileSync(join(project, 'package.json'), 'utf8')) as {
      dependencies: Record<string, string>
      scripts: Record<string, string>
    }
    const wanted = [...Object.keys(initManifest.dependencies), '@gatehousejs/core', '@gatehousejs/sdk']
    noEngineWarning(
      t,
      "the init project's install",
      await npm(['install', ...wanted.map(tarballOf)], project),
    )
    const hint = /^# yaml-language-server: \$schema=(\S+)/.exec(
      readFileSync(join(project, 'gateway.yaml'), 'utf8'),
    )
    t.ok(
      hint && existsSync(join(project, hint[1] as string)),
      `the editor hint's schema is installed (${hint?.[1]})`,
    )
    const startArgs = shellWords(initManifest.scripts.start as string)
    t.same(startArgs.slice(0, 2), ['gatehouse', 'start'], 'npm start runs gatehouse start')
    const initGateway = await start(
      t,
      [...startArgs.slice(2), '--port', '0', '--host', '127.0.0.1', '--no-watch'],
      {
        cwd: project,
        env: { UPSTREAM_URL: upstream.url },
        bin: join(project, 'node_modules/@gatehousejs/cli/bin/gatehouse.js'),
        timeout: 120_000,
      },
    )
    const hello = await request(initGateway.url, { path: '/api/hello' })
    t.equal(hello.status, 200, 'the init project serves its route')
    t.equal(upstream.last()?.url, '/hello', 'through its service, /api stripped')
    t.equal(hello.headers['ratelimit-limit'], '600', 'with the installed rate-limit plugin')
    t.match(hello.headers['x-request-id'], /\S+/, 'and its local plugin')
    const reloaded = await npm(['run', 'reload:code'], project, 120_000)
    t.match(
      reloaded.stdout,
      /asked process \d+ for a code reload \(SIGUSR2\)/,
      'npm run reload:code signals it',
    )
    for (let i = 0; i < 600 && !/code reload done/.test(initGateway.output()); i++) {
      await new Promise((r) => setTimeout(r, 100))
    }
    t.match(initGateway.output(), /code reload done/, 'its workers were replaced')
    t.equal((await request(initGateway.url, { path: '/api/again' })).status, 200, 'and it serves after')
    t.equal(await initGateway.stop('SIGTERM'), 0, 'the supervised gateway exits 0 on SIGTERM')
  },
)
