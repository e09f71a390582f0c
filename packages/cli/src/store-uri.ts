import type { Logger } from '@gatehousejs/sdk'
import {
  openRedisConnection,
  type RedisConnection,
  type RedisConnectionConfig,
  redisConnectionIssues,
} from '@gatehousejs/sdk/redis'
import { StoreUriError } from './store-forms.js'

export { STORE_FORMS, StoreUriError } from './store-forms.js'

const FORM = /^(rediss?)(?:-(sentinel|cluster))?:\/\/(?:([^@/?#]*)@)?([^/?#]+)(\/[^?#]*)?(?:\?([^#]*))?$/

/** Settings the command line cannot set: the fleet is off the request path, so commands may take longer. */
export interface StoreDefaults {
  connectTimeout: number
  commandTimeout: number
  keyPrefix?: string
}

function fail(uri: string, why: string): never {
  throw new StoreUriError(`"${redact(uri)}" ${why}`)
}

/** The string without its password (a userinfo password or a `sentinelPassword` query value). */
export function redact(uri: string): string {
  return uri
    .replace(/^([\w-]+:\/\/)([^@/]*)@/, (_, scheme: string, auth: string) =>
      auth.includes(':') ? `${scheme}${auth.slice(0, auth.indexOf(':'))}:***@` : `${scheme}${auth}@`,
    )
    .replace(/([?&]sentinelPassword=)[^&#]*/, '$1***')
}

/** Turns a `--store` string into a shared-connection config, or throws a StoreUriError saying why. */
export function parseStoreUri(uri: string, defaults: StoreDefaults): RedisConnectionConfig {
  const m = FORM.exec(uri)
  if (!m) {
    fail(uri, 'is not a Redis store: use redis://, rediss://, redis-sentinel:// or redis-cluster://')
  }
  const [, scheme, kind, auth, hostList, path = '', query = ''] = m as unknown as [
    string,
    'redis' | 'rediss',
    'sentinel' | 'cluster' | undefined,
    string | undefined,
    string,
    string | undefined,
    string | undefined,
  ]
  const base = {
    connectTimeout: defaults.connectTimeout,
    commandTimeout: defaults.commandTimeout,
    keyPrefix: defaults.keyPrefix ?? 'gatehouse:',
  }
  const params = new URLSearchParams(query)
  for (const key of params.keys()) {
    if (kind !== 'sentinel' || (key !== 'sentinelUsername' && key !== 'sentinelPassword'))
      fail(uri, `has an unknown parameter "${key}"`)
  }
  const hosts = hostList.split(',')
  if (hosts.some((h) => h === '')) fail(uri, 'has an empty host in its comma-separated list')
  const userinfo = auth === undefined ? '' : `${auth}@`
  let config: RedisConnectionConfig
  if (kind === undefined) {
    if (hosts.length > 1)
      fail(uri, 'lists several hosts: use redis-sentinel:// or redis-cluster:// for a topology')
    config = { ...base, url: uri }
  } else if (kind === 'cluster') {
    if (path !== '' && path !== '/') fail(uri, 'has a path: Redis Cluster has only database 0')
    // The client takes the credentials and TLS of the first URL for every node.
    config = { ...base, nodes: hosts.map((h) => `${scheme}://${userinfo}${h}`) }
  } else {
    const [, name, db, ...more] = path.split('/')
    if (!name) fail(uri, 'names no master: redis-sentinel://host:port,host:port/<master>')
    if (more.length > 0 || (db !== undefined && !/^\d+$/.test(db)))
      fail(uri, 'has a path other than /<master>[/db]')
    const user = auth?.includes(':') ? auth.slice(0, auth.indexOf(':')) : auth
    const password = auth?.includes(':') ? auth.slice(auth.indexOf(':') + 1) : undefined
    const sentinelUsername = params.get('sentinelUsername')
    const sentinelPassword = params.get('sentinelPassword')
    config = {
      ...base,
      // Credentials in the userinfo are the master's (data nodes); the sentinels' come as parameters.
      sentinels: hosts.map((h) => `${scheme}://${h}`),
      name: decodeURIComponent(name),
      ...(user ? { username: decodeURIComponent(user) } : {}),
      ...(password ? { password: decodeURIComponent(password) } : {}),
      ...(db !== undefined ? { db: Number(db) } : {}),
      ...(scheme === 'rediss' ? { tls: true } : {}),
      ...(sentinelUsername ? { sentinelUsername } : {}),
      ...(sentinelPassword ? { sentinelPassword } : {}),
    }
  }
  const issue = redisConnectionIssues(config)[0]
  if (issue) fail(uri, issue.message)
  return config
}

/** Where a store is, never with a password: `redis 127.0.0.1:6379`, `redis-cluster a:1,b:2`, … */
export function storeLabel(uri: string): string {
  const m = FORM.exec(uri)
  if (!m) return 'redis store'
  const path = m[2] === 'sentinel' ? (m[5] ?? '') : ''
  return `${m[1]}${m[2] ? `-${m[2]}` : ''} ${m[4]}${path}`
}

/** A logger that drops everything: the CLI's users of a store report its trouble themselves. */
const quiet: Logger = {
  trace() {},
  debug() {},
  info() {},
  warn() {},
  error() {},
  fatal() {},
  child: () => quiet,
}

/** A store's shared connection, and the last error its client saw (for "unreachable: …" messages). */
export interface StoreConnection {
  connection: RedisConnection
  lastError(): string | undefined
}

/**
 * Opens a `--store` string as a connection of the SDK's shared Redis client (one client and one outage
 * policy for every topology). Throws a StoreUriError when the string is not one of STORE_FORMS.
 */
export function openStore(
  uri: string,
  name: string,
  defaults: StoreDefaults,
  use: { purpose: string; whileDown: string },
): StoreConnection {
  const connection = openRedisConnection(name, parseStoreUri(uri, defaults), {
    prefix: '',
    ...use,
    log: quiet,
  })
  let last: string | undefined
  connection.client.on('error', (err: Error) => {
    last = err.message
  })
  return { connection, lastError: () => last }
}
