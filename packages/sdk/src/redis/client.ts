import { readFileSync } from 'node:fs'
import type { ConnectionOptions } from 'node:tls'
import { Cluster, type ClusterOptions, Redis, type RedisOptions } from 'ioredis'
import { stableJson } from '../config/stable-json.js'
import type { Logger } from '../context.js'
import type { ConfigIssue } from '../errors.js'
import { GatehouseError } from '../errors.js'
import type { PluginCheckEnv, PluginEnv } from '../plugin.js'
import { StoreUnavailable } from './errors.js'
import { type RedisConnectionConfig, redactRedisUrl, redisConnectionIssues } from './schema.js'

/** What a connection's client is: one class for standalone and Sentinel, another for Cluster. */
export type RedisClient = Redis | Cluster

/**
 * One user's handle on a shared connection. The client is shared by every handle on the same named
 * connection (one socket set per process, whatever the number of plugin instances); each handle has
 * its own outage log lines and is released on its own.
 */
export interface RedisConnection {
  /** The connection's name in the `redis` section (or `--store`). */
  readonly name: string
  /** The shared client. Send commands through `run` to get the outage policy. */
  readonly client: RedisClient
  /** Whether this is a Redis Cluster (keys of one command must share a hash slot: use `{hash tags}`). */
  readonly cluster: boolean
  /** The connection's `keyPrefix` followed by this user's own prefix. */
  readonly prefix: string
  /** `prefix` + `name`. */
  key(name: string): string
  /** Whether commands can be sent now (the client is connected and ready). */
  readonly available: boolean
  /** Waits for the first connection, at most `connectTimeout`; resolves to whether it is ready. */
  ready(): Promise<boolean>
  /**
   * The outage policy: runs `command` if the client is ready, bounded by `commandTimeout`; otherwise,
   * and on any failure, rejects with `StoreUnavailable` (GH_STORE_UNAVAILABLE, 503) at once, with the
   * cause attached. Never queues behind a dead connection. The first failure of an outage logs one
   * warning, the first success after it one info line; the client reconnects in the background.
   */
  run<T>(command: (client: RedisClient) => Promise<T>): Promise<T>
  /** The clients of every master (one for standalone and Sentinel), for SCAN. */
  masters(): Redis[]
  /** A second client to the same Redis (for blocking reads such as XREAD BLOCK), with no command timeout. */
  duplicate(): RedisClient
  /** Gives the handle back; the client closes when its last handle is released. */
  release(): Promise<void>
}

/** Who uses a connection, for its log lines. */
export interface RedisUse {
  /** Added to the connection's `keyPrefix` (e.g. `rl:`). */
  prefix: string
  /** What is kept there, for the log (e.g. `rate-limit counters`). */
  purpose: string
  /** What happens while Redis is down, for the log (e.g. `counting in this process`). */
  whileDown: string
  log: Logger
}

interface Shared {
  client: RedisClient
  refs: number
}

/** One client per connection name and settings in this process: a reload with the same settings reuses it. */
const registry = new Map<string, Shared>()

function tlsOf(c: RedisConnectionConfig, url?: string): ConnectionOptions | undefined {
  const wanted =
    c.tls !== undefined && c.tls !== false ? c.tls : url?.startsWith('rediss:') ? true : undefined
  if (wanted === undefined) return undefined
  if (wanted === true) return {}
  const ca = wanted.ca && !wanted.ca.includes('-----BEGIN') ? readFileSync(wanted.ca, 'utf8') : wanted.ca
  return {
    ...(ca ? { ca } : {}),
    ...(wanted.servername ? { servername: wanted.servername } : {}),
    ...(wanted.rejectUnauthorized === false ? { rejectUnauthorized: false } : {}),
  }
}

function hostOf(url: string): { host: string; port: number } {
  const u = new URL(url)
  return { host: u.hostname, port: Number(u.port || 6379) }
}

function credentialsOf(c: RedisConnectionConfig, url: string | undefined) {
  const u = url ? new URL(url) : undefined
  const username = c.username ?? (u?.username ? decodeURIComponent(u.username) : undefined)
  const password = c.password ?? (u?.password ? decodeURIComponent(u.password) : undefined)
  return { ...(username ? { username } : {}), ...(password ? { password } : {}) }
}

/**
 * The client options of the outage policy: no offline queue (a command while disconnected fails at
 * once instead of waiting), no per-command retries, a command timeout, and reconnection in the
 * background forever, at most 1 s apart, so a store recovers on its own after an outage.
 */
function policyOptions(c: RedisConnectionConfig): RedisOptions {
  return {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: c.commandTimeout as number,
    connectTimeout: c.connectTimeout as number,
    retryStrategy: (times: number) => Math.min(times * 100, 1_000),
  }
}

/** Opens a client for a connection (not shared: see `openRedis`). */
export function createRedisClient(c: RedisConnectionConfig): RedisClient {
  const issues = redisConnectionIssues(c)
  if (issues.length > 0) {
    const first = issues[0]!
    throw new TypeError(`${first.field ? `${first.field}: ` : ''}${first.message}`)
  }
  const base = policyOptions(c)
  if (c.nodes) {
    const first = c.nodes[0]!
    const tls = tlsOf(c, first)
    return new Cluster(c.nodes.map(hostOf), {
      // Must stay on: ioredis' cluster sends its own ready check through this queue and without it
      // never becomes ready. Commands still never wait in it: `run` sends nothing while the cluster is
      // not ready and bounds every call with `commandTimeout` (the cluster's queue has no timeout).
      enableOfflineQueue: true,
      clusterRetryStrategy: base.retryStrategy as ClusterOptions['clusterRetryStrategy'],
      slotsRefreshTimeout: c.connectTimeout as number,
      redisOptions: { ...base, ...credentialsOf(c, first), ...(tls ? { tls } : {}) },
    })
  }
  if (c.sentinels) {
    const first = c.sentinels[0]!
    const s = new URL(first)
    const tls = tlsOf(c)
    return new Redis({
      ...base,
      sentinels: c.sentinels.map(hostOf),
      name: c.name,
      ...credentialsOf(c, undefined),
      ...(c.db !== undefined ? { db: c.db } : {}),
      ...(tls ? { tls } : {}),
      ...(c.sentinelUsername || s.username
        ? { sentinelUsername: c.sentinelUsername ?? decodeURIComponent(s.username) }
        : {}),
      ...(c.sentinelPassword || s.password
        ? { sentinelPassword: c.sentinelPassword ?? decodeURIComponent(s.password) }
        : {}),
      ...(s.protocol === 'rediss:' ? { enableTLSForSentinelMode: true, sentinelTLS: tlsOf(c, first) } : {}),
      sentinelRetryStrategy: (times: number) => Math.min(times * 100, 1_000),
      // A failover moves the master: reconnect to the new one instead of failing writes on a replica.
      reconnectOnError: (err: Error) => err.message.startsWith('READONLY'),
    })
  }
  const url = c.url!
  const tls = tlsOf(c, url)
  return new Redis(url, {
    ...base,
    ...credentialsOf(c, url),
    ...(c.db !== undefined ? { db: c.db } : {}),
    ...(tls ? { tls } : {}),
  })
}

/** Where a connection goes, without secrets, for messages. */
export function describeRedis(c: RedisConnectionConfig): string {
  if (c.url) return redactRedisUrl(c.url)
  if (c.nodes) return `cluster ${c.nodes.map((u) => new URL(u).host).join(',')}`
  return `sentinel master "${c.name}" via ${(c.sentinels ?? []).map((u) => new URL(u).host).join(',')}`
}

/**
 * GH_STORE_UNAVAILABLE with the store's own error as its cause (for the log, never the client), and
 * `Retry-After: 1` (RFC 9110 §10.2.3: a 503 says when to come back, as every refusal of the gateway does).
 */
function unavailable(cause: Error): GatehouseError {
  return new GatehouseError(StoreUnavailable.code, StoreUnavailable.statusCode, StoreUnavailable().message, {
    cause,
    headers: { 'retry-after': '1' },
  })
}

function bounded<T>(promise: Promise<T>, ms: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`redis command timed out after ${ms} ms`)), ms)
    promise.then(
      (v) => {
        clearTimeout(timer)
        resolve(v)
      },
      (err: unknown) => {
        clearTimeout(timer)
        reject(err)
      },
    )
  })
}

/**
 * A handle on the named connection `name` with settings `config`: the client is shared with every other
 * handle on the same name and settings in this process, and closed with the last one.
 */
export function openRedisConnection(
  name: string,
  config: RedisConnectionConfig,
  use: RedisUse,
): RedisConnection {
  const id = `${name}\n${stableJson(config)}`
  let shared = registry.get(id)
  if (!shared) {
    shared = { client: createRedisClient(config), refs: 0 }
    registry.set(id, shared)
  }
  shared.refs++
  const { client } = shared
  const cluster = client instanceof Cluster
  const prefix = `${config.keyPrefix}${use.prefix}`
  const commandTimeout = config.commandTimeout as number
  const where = describeRedis(config)
  let down = false
  let released = false

  function markDown(reason: string): void {
    if (down) return
    down = true
    use.log.warn(
      { err: reason, redis: name, where },
      `${use.purpose} (redis "${name}") unavailable: ${use.whileDown} until it is back`,
    )
  }
  function markUp(): void {
    if (!down) return
    down = false
    use.log.info({ redis: name }, `${use.purpose} (redis "${name}") is back`)
  }
  // Without an 'error' listener ioredis prints every failed reconnection; this makes them one warning.
  const onError = (err: Error) => {
    if (client.status !== 'ready') markDown(err.message)
  }
  // A lost connection is an outage from its first moment, before any reconnection attempt fails.
  const onClose = () => markDown('the connection to redis closed')
  client.on('error', onError)
  client.on('close', onClose)
  client.on('ready', markUp)

  async function run<T>(command: (client: RedisClient) => Promise<T>): Promise<T> {
    if (client.status !== 'ready') {
      markDown(`redis connection is ${client.status}`)
      throw unavailable(new Error(`redis connection is ${client.status}`))
    }
    try {
      // Standalone and Sentinel clients time commands out themselves; the cluster's queue does not.
      const result = await (cluster ? bounded(command(client), commandTimeout) : command(client))
      markUp()
      return result
    } catch (err) {
      const cause = err instanceof Error ? err : new Error(String(err))
      markDown(cause.message)
      throw unavailable(cause)
    }
  }

  function ready(): Promise<boolean> {
    if (client.status === 'ready') return Promise.resolve(true)
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer)
        client.off('ready', done)
        resolve(client.status === 'ready')
      }
      const timer = setTimeout(done, (config.connectTimeout as number) + 100)
      client.once('ready', done)
    })
  }

  return {
    name,
    client,
    cluster,
    prefix,
    key: (k) => prefix + k,
    get available() {
      return client.status === 'ready'
    },
    ready,
    run,
    masters() {
      return client instanceof Cluster ? client.nodes('master') : [client]
    },
    duplicate() {
      const copy =
        client instanceof Cluster
          ? client.duplicate(undefined, {
              redisOptions: { ...client.options.redisOptions, commandTimeout: undefined },
            })
          : client.duplicate({ commandTimeout: undefined, enableOfflineQueue: true })
      copy.on('error', () => {})
      return copy
    },
    async release() {
      if (released) return
      released = true
      client.off('error', onError)
      client.off('close', onClose)
      client.off('ready', markUp)
      const entry = registry.get(id)
      if (!entry || --entry.refs > 0) return
      registry.delete(id)
      // Late errors of a closing client are noise.
      client.on('error', () => {})
      client.disconnect()
    },
  }
}

/**
 * Opens the connection a plugin's config names (`redis: default`), from the gateway's `redis` section.
 * Throws a TypeError naming the field when there is no such connection, so `init` fails with a
 * located config error.
 *
 * @example
 * const redis = config.redis ? openRedis(env, config.redis, { prefix: 'hello:', purpose: 'hello counters', whileDown: 'counting locally' }) : undefined
 * await redis?.ready()
 * // in a handler: await redis.run((c) => c.incr(redis.key('n')))
 * // in close: await redis?.release()
 */
export function openRedis(
  env: Pick<PluginEnv, 'redis' | 'log'>,
  name: string,
  use: Omit<RedisUse, 'log'> & { field?: string; log?: Logger },
): RedisConnection {
  const config = env.redis?.[name]
  if (!config) throw new TypeError(`${use.field ?? 'redis'}: ${unknownConnection(env, name)}`)
  return openRedisConnection(name, config, { ...use, log: use.log ?? env.log })
}

/**
 * For a plugin's `validate`: the problem with a connection name its config gives, none when the
 * top-level `redis` section has it (or no name is given). `field` is the name's place in the plugin's
 * config (default `redis`), so `gatehouse validate` reports `…/config/redis` before anything starts.
 *
 * @example
 * validate: (config, env) => redisNameIssues(env, config.redis)
 */
export function redisNameIssues(
  env: Pick<PluginCheckEnv, 'redis'>,
  name: string | undefined,
  field = 'redis',
): ConfigIssue[] {
  if (name === undefined || env.redis === undefined || env.redis[name]) return []
  return [{ pointer: `/config/${field}`, message: unknownConnection(env, name) }]
}

function unknownConnection(env: Pick<PluginEnv, 'redis'>, name: string): string {
  const known = Object.keys(env.redis ?? {})
  return (
    `no Redis connection named "${name}" in the top-level \`redis\` section` +
    (known.length > 0 ? ` (known: ${known.join(', ')})` : ' (the config has no `redis` section)')
  )
}
