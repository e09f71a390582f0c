/**
 * What a plugin computes from its config once per load, shared by that load's `validate` and `init`:
 * call it with the config object and it returns the value computed for that object, computing it on
 * the first call. `has(config)` tells whether it was computed already (e.g. by `validate`).
 */
export interface PerLoad<C extends object, T> {
  (config: C): T
  /** Whether the value for this config object was computed already. */
  has(config: C): boolean
}

/**
 * Runs `compute` once per config object. Core hands one load's `validate` and then `init` the same
 * config object, so costly work that both need (reading a file the config names, compiling schemas)
 * is done once per start or reload: `validate` reports its problems, `init` builds from its result. A
 * new load has new config objects and computes afresh; nothing is kept once the config is dropped
 * (weak keys), so a process that only validates keeps nothing. A `compute` that throws caches
 * nothing; an async one caches its promise, rejected or not.
 *
 * @example
 * const compiled = perLoad((config: Config) => {
 *   const issues: ConfigIssue[] = []
 *   return { schema: readSchema(config.file, issues), issues }
 * })
 * definePlugin({
 *   // …
 *   validate: (config) => compiled(config).issues,
 *   init(config) {
 *     const { schema, issues } = compiled(config) // what validate computed for this load
 *     if (issues.length > 0) throw new ConfigError(issues)
 *     // …
 *   },
 * })
 */
export function perLoad<C extends object, T>(compute: (config: C) => T): PerLoad<C, T> {
  const values = new WeakMap<C, { value: T }>()
  const get = (config: C): T => {
    let found = values.get(config)
    if (found === undefined) {
      found = { value: compute(config) }
      values.set(config, found)
    }
    return found.value
  }
  return Object.assign(get, { has: (config: C) => values.has(config) })
}
