/**
 * `@gatehousejs/sdk/redis`: the one way to reach Redis (docs/redis.md). A named connection from the
 * gateway's top-level `redis` section, one shared ioredis client per connection, one outage policy
 * (`run`) and one error (`StoreUnavailable`, GH_STORE_UNAVAILABLE).
 */
export {
  createRedisClient,
  describeRedis,
  openRedis,
  openRedisConnection,
  type RedisClient,
  type RedisConnection,
  type RedisUse,
  redisNameIssues,
} from './client.js'
export { StoreUnavailable } from './errors.js'
export {
  REDIS_CONNECTION_NAME,
  type RedisConnectionConfig,
  type RedisConnectionInput,
  type RedisConnectionIssue,
  RedisConnectionSchema,
  RedisSectionSchema,
  redactRedisUrl,
  redisConnectionIssues,
  redisUrlProblem,
} from './schema.js'
