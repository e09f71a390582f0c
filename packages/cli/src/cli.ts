import { readFileSync, rmSync, writeFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { IMPORT_HELP } from './import/help.js'
import { InvalidFileError } from './invalid-file.js'
import { LOG_FORMATS, type LogFormat, logFormatOf } from './log-format.js'
import type { AdminListen, StartOptions } from './start.js'
import { STORE_FORMS, StoreUriError } from './store-forms.js'

// Start-up: a command loads only what it runs. Everything that pulls in a dependency (core and Fastify,
// the Redis client, pino, the importers) is imported where a command needs it, so `--help`, `init`,
// `reload` and `status` do not pay for a gateway, nor `validate` for the Redis client.

/** Exit codes, documented in docs/cli.md. */
export const EXIT = Object.freeze({
  ok: 0,
  /** The file is invalid (validate, start, routes), or a worker could not start. */
  invalid: 1,
  /** The command line is wrong: an unknown command or option, a missing argument. */
  usage: 2,
  /** The gateway could not listen (port in use, permission) or failed at run time. */
  runtime: 3,
})

const VERSION = (
  JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }
).version

const HELP = `gatehouse ${VERSION}: run a Gatehouse API gateway from a YAML or JSON file

Usage:
  gatehouse start <file> [--port 8080] [--host localhost] [--workers N] [--no-watch]
                         [--admin [host:]port] [--admin-allow-remote] [--status [host:]port]
                         [--require-store URL] [--drain-delay T] [--supervise] [--pid-file FILE]
                         [--log-format json|pretty]
  gatehouse start --store <store> [--cache-dir DIR] [--node-id ID] [--poll T] [same options]
                                run a fleet node: no file, the configuration comes from the store
  gatehouse apply <file> --store <store> [--message M] [--dry-run] [--json]
                                validate, then publish a signed snapshot to the fleet
  gatehouse diff <file> --store <store> [--json]
                                what apply would change (services, routes, plugins, consumers)
  gatehouse status --store <store> [--json]     every node: version, state, last error
  gatehouse history --store <store> [--json]    every published snapshot
  gatehouse rollback <version> --store <store>  republish an old snapshot as a new version
  gatehouse init [dir] [--force]
                                start a project: a commented gateway.yaml, package.json, a local plugin
  gatehouse reload [--code] (--pid-file FILE | --pid N)
                                reload the configuration (SIGHUP), or with --code replace the workers
                                of a supervised gateway one at a time with fresh plugin code (SIGUSR2)
  gatehouse validate <file>     check the file; prints every problem as file:line:column
  gatehouse validate <file> [--online]
                                check the file, every problem in one run, as file:line:column;
                                no side effects (--online: also the plugins' checks that need I/O)
  gatehouse routes <file>       print the route table with each route's plugin chain
  gatehouse new-plugin <name> [--dir DIR] [--sdk SPEC] [--core SPEC]
                                scaffold a plugin package that builds, tests and packs
  gatehouse import kong <kong.yml> [-o gateway.yaml] [--strict]
  gatehouse import openapi <spec> --upstream <url> [-o gateway.yaml] [--strict]
                                write a gateway file from a Kong declarative config or an OpenAPI description
  gatehouse --version | --help | help <command>

A <store> (--store, --require-store) is one of:
  ${STORE_FORMS.join('\n  ')}

Environment:
  GATEHOUSE_ADMIN_TOKEN   the admin API's bearer token (required with --admin, 16+ characters)
  GATEHOUSE_LOG_LEVEL     fatal, error, warn, info (default), debug, trace or silent
  GATEHOUSE_LOG_FORMAT    json or pretty, as --log-format (default: pretty in a terminal, else json)
  GATEHOUSE_CONFIG_KEY    the fleet's snapshot signing key (32+ characters): apply, rollback, start --store
  \${NAME} in the file    replaced by the environment variable NAME (\${NAME:-default} for a default)

Signals to gatehouse start (gatehouse reload sends the first two):
  SIGHUP                  reload the configuration file in process (a fleet node checks its store)
  SIGUSR2                 code reload of a supervised gateway: new workers with the code on disk, one at a time
  SIGTERM, SIGINT         readiness 503, keep serving for --drain-delay, stop accepting, drain, exit

Exit codes: 0 ok, 1 invalid file, 2 bad command line (or no GATEHOUSE_CONFIG_KEY), 3 could not listen,
failed at run time, or the store is unreachable.
Docs: https://github.com/gatehousejs/gatehouse/blob/main/docs/cli.md`

const COMMAND_HELP: Record<string, string> = {
  init: `gatehouse init [dir] [--force]

Writes a new project into dir (default: the current directory):
  gateway.yaml                  one service, one route, the rate-limit plugin and a local plugin on,
                                cors and key-auth commented out; its first line points editors at
                                the CLI's JSON Schema (yaml-language-server)
  package.json                  @gatehousejs/cli and the key-auth, rate-limit and cors plugins;
                                npm start / validate / routes / reload / reload:code
  plugins/request-id-echo.mjs   a local plugin, loaded by its path
If one of these files exists, nothing is written (exit code 1) unless --force, which overwrites them.
Then: npm install && npm start`,
  reload: `gatehouse reload [--code] (--pid-file FILE | --pid N)

Tells a running \`gatehouse start\` to reload. Without --code: the configuration file (SIGHUP), in
the same processes. With --code: a supervised gateway (--supervise or --workers) replaces its workers
one at a time; each new worker imports the plugin code on disk afresh and serves before the old one
stops accepting and drains (SIGUSR2). The log and /status say which plugin versions each worker runs.
A fleet node (start --store) takes its configuration from the store: SIGHUP makes it check the store
at once, and SIGUSR2 only logs that it cannot reload its code (restart it).
Exits once the signal is sent; the gateway's log says how the reload went.`,
  start: `gatehouse start <file> [options]

Starts a gateway from <file> and reloads it when the file changes or on SIGHUP (an invalid change is
refused and logged; the running configuration stays). SIGTERM/SIGINT drain in-flight requests and stop.
SIGUSR2 (supervised: --supervise or --workers N) replaces the workers with new ones running the code
on disk, one at a time, without dropping a request.

Options:
  --port N               port to listen on (default 8080, or $PORT)
  --host H               address to listen on (default localhost; 0.0.0.0 or :: to serve other machines)
  --workers N            run N processes sharing the port; a worker that dies is replaced (default 1)
  --supervise            run the workers under a primary process even with one worker (implied by
                         --workers N > 1), so a code reload can replace them: SIGUSR2 or
                         \`gatehouse reload --code\` starts new workers with fresh plugin code, one at a
                         time, each serving before the old one drains
  --pid-file FILE        write the (primary) process id to FILE, for \`gatehouse reload\`
  --no-watch             do not reload when the file changes (SIGHUP still reloads)
  --admin [host:]port    start the admin API (default host 127.0.0.1); token from $GATEHOUSE_ADMIN_TOKEN
  --admin-allow-remote   allow the admin API on a non-loopback address
  --status [host:]port   start the status listener (default host 127.0.0.1): GET /status, /status/ready,
                         /status/live, no token, nothing secret; with --workers the primary serves it
  --require-store S      a Redis store (any --store form) that must answer PING for /status/ready to be
                         200 (repeatable)
  --drain-delay T        on SIGTERM, keep serving for T (ms, or 5s) after readiness turned 503 (default 0)
  --log-format F         json (one object a line) or pretty (coloured, one line per request); default
                         pretty when stdout is a terminal, json otherwise. Level: $GATEHOUSE_LOG_LEVEL

Fleet node (gatehouse start --store <store>, no file):
  --store S              follow the configuration published by \`gatehouse apply\` (needs $GATEHOUSE_CONFIG_KEY)
  --cache-dir DIR        where the last applied snapshot is kept, to boot from while Redis is down
                         (default .gatehouse-fleet in the working directory)
  --node-id ID           this node's id in \`gatehouse status\` (default <host>-<pid>)
  --poll T               how often to check the current version and heartbeat (default 2s)
  --admin [host:]port    as above, plus GET /fleet (every node's heartbeat); PUT /config answers 409
  --pid-file FILE        as above; SIGHUP (gatehouse reload) checks the store at once
  --workers and --supervise are refused with --store: start one node per core, each with its own
  --node-id and --port; to run new plugin code on a fleet, restart its nodes one at a time
Plugins of a snapshot resolve from the working directory's node_modules, next to the CLI and NODE_PATH.`,
  validate: `gatehouse validate <file> [--online]

Reads <file>, resolves its plugins and checks the schema, references between services, routes,
consumers and plugins (with "did you mean" for near misses), and every plugin instance's config, all
in one run, even when part of the file is invalid. It has no side effect: no plugin is initialised, no
socket is opened (no Redis connection, no JWKS fetch), no timer runs.
Prints each problem as file:line:column, its JSON pointer and the plugin; exits 1 if there is one.

Options:
  --online               also run the checks plugins declare as needing I/O (e.g. a JWKS URL answers)`,
  routes: `gatehouse routes <file> [--json]

Prints the route table: each route's paths, methods, hosts, upstream, and its compiled plugin chain
per phase, in the order the plugins run. The file is checked as \`validate\` checks it first (every
problem in one run, nothing initialised); a valid file's plugins are then initialised and closed, as
the phases a plugin takes part in are what its init returns (so its connections are opened).`,
  'new-plugin': `gatehouse new-plugin <name> [--dir DIR] [--sdk SPEC] [--core SPEC]

Creates a plugin package gatehouse-plugin-<name> in DIR (default ./gatehouse-plugin-<name>), with a
working plugin, a test against a real gateway, a README and a build. Then:
  cd gatehouse-plugin-<name> && npm install && npm test && npm pack
--sdk and --core set the dependency specs for @gatehousejs/sdk and @gatehousejs/core (default ^${VERSION}).`,
  import: IMPORT_HELP,
  apply: `gatehouse apply <file> --store <store> [--message M] [--dry-run] [--json]

Runs every check \`validate\` runs, with no side effect (no plugin is initialised: the store is the
only connection it opens), then publishes the file to the fleet as an immutable snapshot:
a new version (monotonic), the sha256 of its canonical JSON, the time and --message, signed with
HMAC-SHA256 under $GATEHOUSE_CONFIG_KEY, recorded in the history and announced on the stream. Nodes
started with \`start --store\` apply it. \${ENV} references are published as references: each node
resolves them from its own environment. An invalid file writes nothing; --dry-run writes nothing and
prints what would change. Publishing the configuration already current is a no-op.`,
  diff: `gatehouse diff <file> --store <store> [--json]

Prints what \`apply <file>\` would change against the current snapshot: services, routes, plugins,
consumers and top-level settings added (+), removed (-) or changed (~).`,
  status: `gatehouse status --store <store> [--json]

Prints the current version and every node with a live heartbeat: id, host, pid, Gatehouse version,
applied version and hash, state (in-sync, applying, failed, stale) and its last error.`,
  history: `gatehouse history --store <store> [--json]

Prints every published snapshot (version, hash, time, message); * marks the current one.`,
  rollback: `gatehouse rollback <version> --store <store> [--message M]

Publishes the configuration of an earlier snapshot as a new version (history only grows), signed
again with $GATEHOUSE_CONFIG_KEY once the old one's signature checks out. Nodes converge on it.`,
}

/** Commands that talk to the configuration store and need --store. */
const STORE_COMMANDS = new Set(['apply', 'diff', 'status', 'history', 'rollback'])

class UsageError extends Error {}

function parsePort(value: string | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback
  const n = Number(value)
  if (!Number.isInteger(n) || n < 0 || n > 65535)
    throw new UsageError(`${name} must be a port from 0 to 65535`)
  return n
}

/** `[host:]port` (IPv6 hosts in brackets); the host defaults to 127.0.0.1. */
function parseListen(value: string, flag: string): { host: string; port: number } {
  const m = /^(?:\[?([^\]]*?)\]?:)?(\d+)$/.exec(value)
  if (!m) throw new UsageError(`${flag} takes a port or host:port, e.g. ${flag} 8100 or ${flag} 0.0.0.0:8100`)
  return { host: m[1] || '127.0.0.1', port: parsePort(m[2], flag, 0) }
}

/** `--drain-delay`: milliseconds, or a number with `ms` or `s`. */
function parseDuration(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined
  const m = /^(\d+(?:\.\d+)?)(ms|s)?$/.exec(value.trim())
  if (!m) throw new UsageError(`${flag} takes a duration: milliseconds (5000) or seconds (5s)`)
  const n = Number(m[1]) * (m[2] === 's' ? 1000 : 1)
  if (n > 3_600_000) throw new UsageError(`${flag} must be at most an hour`)
  return Math.round(n)
}

/** `--store` and `--require-store`: one of STORE_FORMS, else a usage error that lists them. */
async function checkStoreUri(value: string, flag: string): Promise<void> {
  const { parseStoreUri } = await import('./store-uri.js')
  try {
    parseStoreUri(value, { connectTimeout: 0, commandTimeout: 0 })
  } catch (err) {
    if (!(err instanceof StoreUriError)) throw err
    throw new UsageError(`${flag}: ${err.message}; it takes one of:\n  ${STORE_FORMS.join('\n  ')}`)
  }
}

async function parseStores(values: string[] | undefined): Promise<string[]> {
  for (const v of values ?? []) await checkStoreUri(v, '--require-store')
  return values ?? []
}

function parseAdmin(value: string | undefined, allowRemote: boolean): AdminListen | undefined {
  if (value === undefined) return undefined
  const m = /^(?:\[?([^\]]*?)\]?:)?(\d+)$/.exec(value)
  if (!m)
    throw new UsageError('--admin takes a port or host:port, e.g. --admin 8001 or --admin 127.0.0.1:8001')
  const token = process.env.GATEHOUSE_ADMIN_TOKEN
  if (!token || token.length < 16) {
    throw new UsageError('--admin needs GATEHOUSE_ADMIN_TOKEN set to a secret of at least 16 characters')
  }
  const host = m[1] || '127.0.0.1'
  const loopback = host === 'localhost' || host === '::1' || /^127\./.test(host)
  if (!loopback && !allowRemote) {
    throw new UsageError(
      `--admin ${host} is not a loopback address; add --admin-allow-remote to serve the admin API to other machines`,
    )
  }
  return { host, port: parsePort(m[2], '--admin', 0), token, allowRemote }
}

/** `gatehouse validate`: {@link checkFile}'s verdict, with what the file holds. */
async function cmdValidate(file: string, online: boolean, out: Console): Promise<number> {
  const { checkFile } = await import('./gateway-file.js')
  const { routes, instances } = await checkFile(file, { online })
  out.log(
    `${file}: valid (${routes} route${routes === 1 ? '' : 's'}, ${instances} plugin instance${instances === 1 ? '' : 's'})`,
  )
  return EXIT.ok
}

/**
 * `gatehouse routes`: each phase's chain comes from what the plugins' `init` returned, so the
 * plugins are initialised (and closed); only a file that passes every `validate` check gets there.
 */
async function cmdRoutes(file: string, json: boolean, out: Console): Promise<number> {
  const [{ checkFile, withLocations }, { createGateway }, { formatRoutes }] = await Promise.all([
    import('./gateway-file.js'),
    import('@gatehousejs/core'),
    import('./routes.js'),
  ])
  const prepared = await checkFile(file)
  const gateway = await withLocations(prepared.loaded, () =>
    createGateway(prepared.config, {
      plugins: prepared.plugins,
      file: prepared.loaded.file,
      logger: false,
      handleSignals: false,
    }),
  )
  const routes = gateway.routes()
  await gateway.close()
  out.log(json ? JSON.stringify(routes, null, 2) : formatRoutes(routes))
  return EXIT.ok
}

/** The one line that says where everything listens (core's own "listening" line goes to debug). */
function listeningLine(prefix: string, url: string, admin?: string, status?: string): string {
  return `gatehouse: ${prefix}listening on ${url}${admin ? `, admin API on ${admin}` : ''}${status ? `, status on ${status}` : ''}`
}

/** `--pid-file`: this (primary) process's id, for `gatehouse reload`; removed when it exits. */
async function writePidFile(pidFile: string | undefined): Promise<void> {
  if (pidFile === undefined) return
  const { default: cluster } = await import('node:cluster')
  if (!cluster.isPrimary) return
  writeFileSync(pidFile, `${process.pid}\n`)
  process.once('exit', () => rmSync(pidFile, { force: true }))
}

/** `gatehouse reload`: a signal to the process named by --pid or --pid-file. */
function cmdReload(
  code: boolean,
  pid: string | undefined,
  pidFile: string | undefined,
  out: Console,
): number {
  if ((pid === undefined) === (pidFile === undefined)) {
    throw new UsageError('reload needs --pid-file FILE (as given to gatehouse start) or --pid N')
  }
  let text = pid
  if (pidFile !== undefined) {
    try {
      text = readFileSync(pidFile, 'utf8').trim()
    } catch (err) {
      out.error(`gatehouse: cannot read ${pidFile}: ${(err as Error).message}`)
      return EXIT.invalid
    }
  }
  const target = Number(text)
  if (!Number.isInteger(target) || target <= 0) throw new UsageError(`not a process id: "${text}"`)
  const signal = code ? 'SIGUSR2' : 'SIGHUP'
  try {
    process.kill(target, signal)
  } catch (err) {
    out.error(`gatehouse: cannot signal process ${target}: ${(err as Error).message}`)
    return EXIT.invalid
  }
  out.log(`gatehouse: asked process ${target} for a ${code ? 'code' : 'configuration'} reload (${signal})`)
  return EXIT.ok
}

async function cmdStart(
  options: StartOptions,
  workers: number,
  out: Console,
  supervise = false,
): Promise<number> {
  const [{ default: cluster }, { pluginList, runPrimary, runWorker }, { startFromFile }] = await Promise.all([
    import('node:cluster'),
    import('./workers.js'),
    import('./start.js'),
  ])
  if ((workers > 1 || supervise) && cluster.isPrimary) {
    const primary = runPrimary(options, workers, (msg) => out.error(`gatehouse: ${msg}`))
    try {
      const { url, admin, status } = await primary.ready
      out.error(listeningLine(`${workers} worker${workers === 1 ? '' : 's'} `, url, admin, status))
    } catch (err) {
      out.error((err as Error).message)
    }
    return primary.done
  }
  if (process.env.GATEHOUSE_WORKER === '1' && cluster.isWorker) {
    await runWorker(options)
    return -1
  }
  const running = await startFromFile(options)
  out.error(listeningLine('', running.url, running.admin?.url, running.gateway.statusUrl))
  out.error(
    `gatehouse: process ${process.pid} serving; plugins: ${pluginList(running.gateway.status().plugins)}`,
  )
  return -1
}

/**
 * Runs the CLI with `argv` (without `node` and the script). Resolves to the exit code, or -1 while
 * a started gateway keeps the process alive.
 */
export async function main(argv: string[], out: Console = console): Promise<number> {
  // `import` has its own options (see import/index.ts).
  if (argv[0] === 'import') {
    try {
      const { importMain } = await import('./import/index.js')
      return await importMain(argv.slice(1), out)
    } catch (err) {
      out.error(`gatehouse import: ${(err as Error).message}`)
      return EXIT.runtime
    }
  }
  let parsed: ReturnType<typeof parseArgs>
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean', short: 'v' },
        port: { type: 'string', short: 'p' },
        host: { type: 'string' },
        workers: { type: 'string', short: 'w' },
        'no-watch': { type: 'boolean' },
        admin: { type: 'string' },
        'admin-allow-remote': { type: 'boolean' },
        status: { type: 'string' },
        'require-store': { type: 'string', multiple: true },
        'drain-delay': { type: 'string' },
        'log-format': { type: 'string' },
        json: { type: 'boolean' },
        dir: { type: 'string' },
        sdk: { type: 'string' },
        core: { type: 'string' },
        store: { type: 'string' },
        'cache-dir': { type: 'string' },
        'node-id': { type: 'string' },
        poll: { type: 'string' },
        message: { type: 'string', short: 'm' },
        'dry-run': { type: 'boolean' },
        supervise: { type: 'boolean' },
        'pid-file': { type: 'string' },
        pid: { type: 'string' },
        code: { type: 'boolean' },
        force: { type: 'boolean' },
        online: { type: 'boolean' },
      },
    })
  } catch (err) {
    out.error(`gatehouse: ${(err as Error).message}\nRun \`gatehouse --help\` for usage.`)
    return EXIT.usage
  }
  const { values, positionals } = parsed
  const [command, ...rest] = positionals
  if (values.version) {
    out.log(VERSION)
    return EXIT.ok
  }
  if (values.help || command === undefined || command === 'help') {
    const topic = command === 'help' ? rest[0] : command
    out.log((topic && COMMAND_HELP[topic]) || HELP)
    return command === undefined && !values.help ? EXIT.usage : EXIT.ok
  }
  try {
    if (!(command in COMMAND_HELP)) throw new UsageError(`unknown command "${command}"`)
    if (command === 'init') {
      if (rest.length > 1) throw new UsageError(`unexpected argument "${rest[1]}"`)
      const { init } = await import('./init.js')
      return await init(rest[0], { version: VERSION, force: values.force === true }, out)
    }
    if (command === 'reload') {
      if (rest.length > 0) throw new UsageError(`unexpected argument "${rest[0]}"`)
      return cmdReload(
        values.code === true,
        values.pid as string | undefined,
        values['pid-file'] as string | undefined,
        out,
      )
    }
    const target = rest[0]
    const store = values.store as string | undefined
    if (store !== undefined) await checkStoreUri(store, '--store')
    if (STORE_COMMANDS.has(command) || (command === 'start' && store !== undefined)) {
      return await storeCommand(command, target, rest, values, store, out)
    }
    if (target === undefined) {
      throw new UsageError(command === 'new-plugin' ? 'new-plugin needs a name' : `${command} needs a file`)
    }
    if (rest.length > 1) throw new UsageError(`unexpected argument "${rest[1]}"`)
    switch (command) {
      case 'validate':
        return await cmdValidate(target, values.online === true, out)
      case 'routes':
        return await cmdRoutes(target, values.json === true, out)
      case 'new-plugin': {
        const { newPlugin } = await import('./new-plugin.js')
        return await newPlugin(
          target,
          {
            dir: values.dir as string | undefined,
            sdk: values.sdk as string | undefined,
            core: values.core as string | undefined,
            version: VERSION,
          },
          out,
        )
      }
      default: {
        const workers = values.workers === undefined ? 1 : Number(values.workers)
        if (!Number.isInteger(workers) || workers < 1 || workers > 256) {
          throw new UsageError('--workers must be a whole number from 1 to 256')
        }
        const options: StartOptions = {
          file: target,
          port: parsePort((values.port as string | undefined) ?? process.env.PORT, '--port', 8080),
          host: (values.host as string | undefined) ?? 'localhost',
          watch: values['no-watch'] !== true,
          admin: parseAdmin(values.admin as string | undefined, values['admin-allow-remote'] === true),
          status: values.status === undefined ? undefined : parseListen(values.status as string, '--status'),
          requireStores: await parseStores(values['require-store'] as string[] | undefined),
          drainDelay: parseDuration(values['drain-delay'] as string | undefined, '--drain-delay'),
        }
        const flag = values['log-format'] as string | undefined
        if (flag !== undefined && !LOG_FORMATS.includes(flag as LogFormat)) {
          throw new UsageError(`--log-format takes ${LOG_FORMATS.join(' or ')}, not "${flag}"`)
        }
        options.logFormat = logFormatOf(flag)
        // Workers are forked with this environment: they log in the format the primary chose.
        process.env.GATEHOUSE_LOG_FORMAT = options.logFormat
        const { cliLogger } = await import('./logs.js')
        options.logger = cliLogger(options.logFormat)
        if (options.requireStores?.length && !options.status) {
          throw new UsageError('--require-store needs --status (it decides what /status/ready answers)')
        }
        await writePidFile(values['pid-file'] as string | undefined)
        return await cmdStart(
          options,
          values.supervise === true ? Math.max(workers, 1) : workers,
          out,
          values.supervise === true,
        )
      }
    }
  } catch (err) {
    return await reportError(err, out)
  }
}

async function reportError(err: unknown, out: Console): Promise<number> {
  if (err instanceof UsageError) {
    out.error(`gatehouse: ${err.message}\nRun \`gatehouse --help\` for usage.`)
    return EXIT.usage
  }
  const code = (err as NodeJS.ErrnoException).code
  if (code === 'EADDRINUSE' || code === 'EACCES' || code === 'EADDRNOTAVAIL') {
    out.error(`gatehouse: cannot listen: ${(err as Error).message}`)
    return EXIT.runtime
  }
  // The command that threw these has loaded their modules already: importing them here costs nothing.
  const { FleetError, SnapshotRejectedError } = await import('./fleet/snapshot.js')
  if (err instanceof FleetError || err instanceof SnapshotRejectedError) {
    out.error(`gatehouse: ${err.code}: ${err.message}`)
    return err.code === 'GH_FLEET_KEY_MISSING' ? EXIT.usage : EXIT.runtime
  }
  if (err instanceof InvalidFileError) {
    out.error(err.format())
    out.error(`gatehouse: ${err.issues.length} problem${err.issues.length === 1 ? '' : 's'} in ${err.file}`)
    return EXIT.invalid
  }
  out.error(`gatehouse: ${(err as Error).message}`)
  return EXIT.runtime
}

type Values = ReturnType<typeof parseArgs>['values']

/** apply, diff, status, history, rollback and `start --store`. */
async function storeCommand(
  command: string,
  target: string | undefined,
  rest: string[],
  values: Values,
  store: string | undefined,
  out: Console,
): Promise<number> {
  if (store === undefined) throw new UsageError(`${command} needs --store <store>`)
  const json = values.json === true
  const message = values.message as string | undefined
  const takes =
    command === 'apply' || command === 'diff' ? 'a file' : command === 'rollback' ? 'a version' : ''
  if (takes && target === undefined) throw new UsageError(`${command} needs ${takes}`)
  if (!takes && target !== undefined) {
    throw new UsageError(
      command === 'start'
        ? 'start --store takes no file: the configuration comes from the store (publish it with gatehouse apply)'
        : `unexpected argument "${target}"`,
    )
  }
  if (rest.length > 1) throw new UsageError(`unexpected argument "${rest[1]}"`)
  const { cmdApply, cmdDiff, cmdHistory, cmdRollback, cmdStatus } = await import('./fleet/commands.js')
  switch (command) {
    case 'apply':
      return cmdApply(target as string, { store, json, message, dryRun: values['dry-run'] === true }, out)
    case 'diff':
      return cmdDiff(target as string, { store, json }, out)
    case 'rollback':
      return cmdRollback(target as string, { store, json, message }, out)
    case 'history':
      return cmdHistory({ store, json }, out)
    case 'status':
      return cmdStatus({ store, json }, out)
  }
  if (values.workers !== undefined && values.workers !== '1') {
    // A fleet node is one process: one heartbeat, one snapshot cache, one follower of the store.
    throw new UsageError(
      '--workers cannot be combined with --store: a fleet node is one process; to use every core, start one node per core (each with its own --node-id, --port and --cache-dir) behind your load balancer',
    )
  }
  if (values.supervise === true) {
    throw new UsageError(
      '--supervise cannot be combined with --store yet: a fleet node is one process; to run new plugin code, restart the nodes one at a time',
    )
  }
  const flag = values['log-format'] as string | undefined
  if (flag !== undefined && !LOG_FORMATS.includes(flag as LogFormat)) {
    throw new UsageError(`--log-format takes ${LOG_FORMATS.join(' or ')}, not "${flag}"`)
  }
  const logFormat = logFormatOf(flag)
  const [{ startFromStore }, { cliLogger }] = await Promise.all([
    import('./fleet/node.js'),
    import('./logs.js'),
  ])
  const node = await startFromStore({
    store,
    cacheDir: (values['cache-dir'] as string | undefined) ?? '.gatehouse-fleet',
    nodeId: values['node-id'] as string | undefined,
    interval: parseDuration(values.poll as string | undefined, '--poll'),
    gatehouseVersion: VERSION,
    port: parsePort((values.port as string | undefined) ?? process.env.PORT, '--port', 8080),
    host: (values.host as string | undefined) ?? 'localhost',
    status: values.status === undefined ? undefined : parseListen(values.status as string, '--status'),
    drainDelay: parseDuration(values['drain-delay'] as string | undefined, '--drain-delay'),
    admin: parseAdmin(values.admin as string | undefined, values['admin-allow-remote'] === true),
    logFormat,
    logger: cliLogger(logFormat),
  })
  await writePidFile(values['pid-file'] as string | undefined)
  // Without these, SIGHUP and SIGUSR2 (`gatehouse reload [--code]`) would end the node.
  process.on('SIGHUP', () => void node.sync('SIGHUP'))
  process.on('SIGUSR2', () =>
    node.gateway.logger.warn(
      'a code reload needs a supervised gateway, and a fleet node is not one (no --supervise with --store); restart this node to run new plugin code',
    ),
  )
  out.error(listeningLine('', node.url, node.admin?.url, node.gateway.statusUrl))
  return -1
}
