// What --help says about stores, without the Redis client store-uri.ts loads.

/**
 * What `--store` and `--require-store` accept: one string for each topology the shared Redis
 * connection supports (docs/redis.md). The Sentinel form is the one Lettuce and Spring Data Redis
 * use (`redis-sentinel://` with the hosts comma-separated), the master's name as the path as in
 * Celery and Kombu; the Cluster form is its counterpart. `rediss-…` speaks TLS to every host.
 */
export const STORE_FORMS = [
  'redis://[user:password@]host:port[/db]            standalone (rediss:// for TLS)',
  'redis-sentinel://[user:password@]host:port[,host:port…]/<master>[/db][?sentinelPassword=…]',
  '                                                  Sentinel (rediss-sentinel:// for TLS)',
  'redis-cluster://[user:password@]host:port[,host:port…]',
  '                                                  Cluster (rediss-cluster:// for TLS)',
]

/** `--store` or `--require-store` is not one of STORE_FORMS; the message says why. */
export class StoreUriError extends Error {}
