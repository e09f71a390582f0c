/**
 * `@gatehousejs/sdk/host`: what a host of plugins (core) needs at run time, without TypeBox: the
 * errors, the plugin contract's version and checks, and the parsers and checks a validated
 * configuration is normalised with. The same functions and classes as the root and `/config` export
 * (`instanceof` holds across the copies), so a gateway that validates with precompiled code and loads
 * no plugin never loads TypeBox. A plugin imports `@gatehousejs/sdk`, not this.
 */

export { stableJson } from '../config/stable-json.js'
export { ConfigError, defineError, formatIssue, GatehouseError, isGatehouseError } from '../errors.js'
export { PLUGIN_API_VERSION, pluginKeyProblems } from '../plugin.js'
export { REDIS_CONNECTION_NAME, redisConnectionIssues } from '../redis/checks.js'
export { parseDuration, parseSize } from '../units.js'
