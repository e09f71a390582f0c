/**
 * `@gatehousejs/sdk/config`: the gateway configuration model, for code that reads, writes or checks a
 * whole gateway file (core, the CLI, tools). One TypeBox source for the JSON Schema core validates
 * with and the TypeScript types of a config (docs/configuration.md). A plugin needs none of it: its
 * own schema uses the helpers of `@gatehousejs/sdk` (`Type`, `Duration`, `Size`, `HeaderName`, `Secret`).
 */

// For a loader: what is wrong with a plugin definition, or with the handlers its `init` returned.
export { pluginKeyProblems } from '../plugin.js'
// The top-level `redis` section (docs/redis.md): named connections and their checks.
export {
  REDIS_CONNECTION_NAME,
  type RedisConnectionConfig,
  type RedisConnectionInput,
  type RedisConnectionIssue,
  RedisConnectionSchema,
  RedisSectionSchema,
  redisConnectionIssues,
} from '../redis/schema.js'
// For a validator: the `gatehouse` keyword the schema helpers set, and the parsers it normalises with.
export { type GatehouseFormat, gatehouseFormat, parseDuration, parseSize } from '../schema.js'
// The types of a config, as written in code or in a YAML/JSON file.
export type {
  BalancingConfig,
  ConsumerConfig,
  EscapedSlashesPolicy,
  GatewayConfig,
  HealthChecksConfig,
  InterimResponsesPolicy,
  MirrorConfig,
  NestedPluginConfig,
  PluginInstanceConfig,
  PoolConfig,
  RetriesConfig,
  RouteConfig,
  ServerConfig,
  ServiceConfig,
  SplitRuleConfig,
  TargetConfig,
  TimeoutsConfig,
  TlsCertificateConfig,
  TlsConfig,
  TrustProxyConfig,
  WhenConfig,
} from './model.js'
// The schema of a gateway file and of each of its sections.
export {
  BalancingSchema,
  ConsumerSchema,
  EscapedSlashesSchema,
  GatewayConfigSchema,
  HealthChecksSchema,
  InterimResponsesSchema,
  MirrorSchema,
  NestedPluginSchema,
  PluginInstanceSchema,
  PoolSchema,
  RetriesSchema,
  RouteSchema,
  ServerSchema,
  ServiceSchema,
  SplitRuleSchema,
  TargetSchema,
  TimeoutsSchema,
  TlsCertificateSchema,
  TlsSchema,
  TrustProxySchema,
  WhenSchema,
} from './model.js'
// Sorted-key JSON, for hashes and identity keys of configuration.
export { stableJson } from './stable-json.js'
