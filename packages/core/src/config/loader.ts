import type { PluginDefinition } from '@gatehousejs/sdk'
import type { GatewayConfig } from '@gatehousejs/sdk/config'
import { ConfigError } from '@gatehousejs/sdk/host'
import type { Generation } from '../model.js'
import { type CompileOptions, compileGeneration } from './compile.js'
import { pluginRegistry } from './instances.js'

/** What every load of one gateway hands its plugins: the logger, `env.upstreams`, `env.dispatch`. */
export type LoadEnv = Pick<CompileOptions, 'logger' | 'upstreams' | 'dispatch'>

/**
 * One gateway's loads: the plugin registry (a reload may add definitions to it), the generation
 * count, and the queue that runs reloads one at a time, so a second waits for the first.
 */
export class Loader {
  private readonly registry: Map<string, PluginDefinition>
  private id = 0
  private queue: Promise<unknown> = Promise.resolve()

  /** Throws a ConfigError when two different definitions share a name. */
  constructor(
    plugins: readonly PluginDefinition[] | undefined,
    private readonly env: LoadEnv,
  ) {
    const { registry, issues } = pluginRegistry(plugins)
    if (issues.length > 0) throw new ConfigError(issues)
    this.registry = registry
  }

  /** Builds a generation (config/compile.ts); the definitions in `plugins` join the registry once it succeeded. */
  async load(
    config: GatewayConfig,
    file: string | undefined,
    previous: Generation | undefined,
    plugins: readonly PluginDefinition[] = [],
  ): Promise<Generation> {
    const registry = new Map(this.registry)
    for (const def of plugins) registry.set(def.name, def)
    const gen = await compileGeneration(config, {
      ...this.env,
      plugins: registry,
      previous,
      file,
      id: ++this.id,
    })
    for (const [name, def] of registry) this.registry.set(name, def)
    return gen
  }

  /** Runs `task` once every task queued before it has settled, whether it failed or not. */
  serially<T>(task: () => Promise<T>): Promise<T> {
    const run = this.queue.then(task)
    this.queue = run.catch(() => {})
    return run
  }
}
