import { createRequire } from 'node:module'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import type { GatewayConfig } from '../config/model.js'
import type { ConfigIssue } from '../errors.js'
import type { PluginDefinition } from '../plugin.js'
import { request, type TestRequest, type TestResponse } from './request.js'
import { onTeardown, type TestLike } from './teardown.js'

/** The part of `@gatehousejs/core`'s Gateway the test kit uses. */
export interface GatewayLike {
  listen(options?: { port?: number; host?: string }): Promise<string>
  reload(config: GatewayConfig): Promise<void>
  close(): Promise<void>
}

type CreateGateway = (config: GatewayConfig, options?: Record<string, unknown>) => Promise<GatewayLike>

export interface TestGatewayOptions {
  t?: TestLike
  config: GatewayConfig
  plugins?: PluginDefinition[]
  /** Passed to pino; default silent. Use `{ level: 'debug' }` to watch a test. */
  logger?: boolean | Record<string, unknown>
  /** More `createGateway` options (e.g. `maxHeaderSize`). */
  options?: Record<string, unknown>
  /** `createGateway` to use; by default `@gatehousejs/core` as installed next to your tests. */
  createGateway?: CreateGateway
}

export interface TestGateway<G extends GatewayLike = GatewayLike> {
  url: string
  gateway: G
  /** Sends a request through the gateway (node:http, full control over headers). */
  request(req?: TestRequest): Promise<TestResponse>
  close(): Promise<void>
}

/** Starts a real gateway on 127.0.0.1, port 0. `@gatehousejs/core` must be installed (a devDependency). */
export async function startGateway<G extends GatewayLike = GatewayLike>(
  opts: TestGatewayOptions,
): Promise<TestGateway<G>> {
  const create = opts.createGateway ?? (await loadCore())
  const gateway = (await create(opts.config, {
    plugins: opts.plugins ?? [],
    logger: opts.logger ?? false,
    handleSignals: false,
    drainTimeout: 5_000,
    ...opts.options,
  })) as G
  const url = await gateway.listen({ port: 0, host: '127.0.0.1' })
  const tg: TestGateway<G> = {
    url,
    gateway,
    request: (req) => request(url, req),
    close: () => gateway.close(),
  }
  onTeardown(opts.t, tg.close)
  return tg
}

async function loadCore(): Promise<CreateGateway> {
  const specifier = '@gatehousejs/core'
  let mod: { createGateway?: CreateGateway }
  try {
    mod = await import(specifier)
  } catch {
    try {
      // The SDK never depends on core: resolve it from the project under test.
      const resolved = createRequire(join(process.cwd(), 'package.json')).resolve(specifier)
      mod = await import(pathToFileURL(resolved).href)
    } catch {
      throw new Error('the Gatehouse test kit needs @gatehousejs/core: npm install -D @gatehousejs/core')
    }
  }
  if (typeof mod.createGateway !== 'function')
    throw new Error('@gatehousejs/core does not export createGateway')
  return mod.createGateway
}

export interface ConfigIssuesOptions {
  config: GatewayConfig
  plugins?: PluginDefinition[]
  /** Use this instead of `@gatehousejs/core`'s `createGateway`. */
  createGateway?: CreateGateway
}

/**
 * The problems the gateway reports for `config`, for schema tests: creates a gateway (never listening)
 * and returns the ConfigError's issues. Throws when the config is accepted, or fails otherwise.
 *
 * @example
 * const issues = await configIssues({ plugins: [hello], config: { plugins: [{ name: 'hello', config: { greeting: 1 } }] } })
 * t.match(issues, [{ pointer: '/plugins/0/config/greeting', plugin: 'hello' }])
 */
export async function configIssues(opts: ConfigIssuesOptions): Promise<ConfigIssue[]> {
  const create = opts.createGateway ?? (await loadCore())
  const err = await create(opts.config, {
    plugins: opts.plugins ?? [],
    logger: false,
    handleSignals: false,
  }).then(
    async (gw) => {
      await gw.close()
      return undefined
    },
    (e: unknown) => e,
  )
  const issues = (err as { issues?: unknown } | undefined)?.issues
  if (!(err instanceof Error) || err.name !== 'ConfigError' || !Array.isArray(issues)) {
    throw new Error(`expected a ConfigError, got ${err === undefined ? 'a gateway' : String(err)}`)
  }
  return issues as ConfigIssue[]
}
