/**
 * The Gatehouse test kit: a real upstream that records what it received, and a real gateway, both on
 * port 0 and torn down with the test. Works with tap (`t.teardown`) and node:test (`t.after`).
 *
 * @example
 * import { startGateway, startUpstream } from '@gatehousejs/sdk/testing'
 * const upstream = await startUpstream({ t })
 * const gw = await startGateway({ t, plugins: [hello], config: {
 *   services: [{ name: 'echo', url: upstream.url, routes: [{ paths: ['/'] }] }],
 *   plugins: [{ name: 'hello' }],
 * } })
 * const res = await gw.request({ path: '/hi' })
 * t.equal(upstream.last()?.headers['x-greeting'], 'hello')
 */

export type { ConfigIssuesOptions, GatewayLike, TestGateway, TestGatewayOptions } from './gateway.js'
export { configIssues, startGateway } from './gateway.js'
export type { CaptureLoggerOptions, CaptureLogsOptions, LogCapture, LogLine } from './logs.js'
export { captureLogs } from './logs.js'
export type { RedisOptions, TestRedis } from './redis.js'
export { hasRedisServer, startRedis } from './redis.js'
export {
  startRedisCluster,
  startRedisSentinel,
  type TestRedisCluster,
  type TestRedisSentinel,
  type TopologyOptions,
  type TopologyProcess,
} from './redis-topologies.js'
export type { TestRequest, TestResponse } from './request.js'
export { request } from './request.js'
export { withoutTapHook } from './spawn.js'
export type { TestLike } from './teardown.js'
export type { RecordedRequest, TestUpstream, UpstreamHandler, UpstreamOptions } from './upstream.js'
export { startUpstream } from './upstream.js'
export { type WaitForOptions, WaitTimeoutError, waitFor } from './wait.js'
