export * from './auth.js'
export * from './config.js'
export * from './context.js'
export * from './dot-path.js'
export * from './errors.js'
export * from './plugin.js'
export {
  REDIS_CONNECTION_NAME,
  type RedisConnectionConfig,
  type RedisConnectionInput,
  type RedisConnectionIssue,
  RedisConnectionSchema,
  RedisSectionSchema,
  redactRedisUrl,
  redisConnectionIssues,
} from './redis/schema.js'
export * from './schema.js'
export * from './template.js'
export * from './transform.js'
