/**
 * Client-caused outcomes are logged at info (4xx) or warn (a 5xx a plugin chose to answer) without a
 * stack trace; only gateway faults are errors, with the cause's stack (docs/observability.md#log-levels).
 */
import { Writable } from 'node:stream'
import { defineError, definePlugin } from '@gatehousejs/sdk'
import { startGateway, startUpstream } from '@gatehousejs/sdk/testing'
import { pino } from 'pino'
import t from 'tap'
import { unusedPort } from './helpers/http.js'

const Denied = defineError('GH_TEST_DENIED', 403, 'No entry')
/** What the cache answers to `Cache-Control: only-if-cached` with nothing stored (RFC 9111 §5.2.1.7). */
const OnlyIfCachedMiss = defineError('GH_TEST_ONLY_IF_CACHED_MISS', 504, 'Not in the cache')

const outcomes = definePlugin({
  name: 'outcomes',
  version: '1.0.0',
  priority: 1000,
  init: () => ({
    access(ctx) {
      const what = ctx.request.headers['x-outcome']
      if (what === 'deny') throw Denied()
      if (what === 'only-if-cached') throw OnlyIfCachedMiss()
      if (what === 'bug') throw new TypeError('cannot read properties of undefined')
    },
  }),
})

interface Line {
  level: number
  msg: string
  code?: string
  plugin?: string
  err?: { stack?: string }
}

t.test('each outcome is logged once, at the level of whose fault it is', async (t) => {
  const lines: Line[] = []
  const stream = new Writable({
    write(chunk, _enc, done) {
      for (const l of chunk.toString().split('\n')) if (l) lines.push(JSON.parse(l))
      done()
    },
  })
  const upstream = await startUpstream({ t })
  const dead = await unusedPort()
  const gw = await startGateway({
    t,
    logger: pino({ level: 'debug' }, stream) as never,
    plugins: [outcomes],
    config: {
      services: [
        { name: 'up', url: upstream.url, routes: [{ paths: ['/api'], plugins: [{ name: 'outcomes' }] }] },
        { name: 'dead', url: `http://127.0.0.1:${dead}`, routes: [{ paths: ['/dead'] }] },
      ],
    },
  })
  const cases: Array<[string, Record<string, string>, number, string, number, boolean]> = [
    // path, headers, status, code, pino level (30 info, 40 warn, 50 error), has a stack
    ['/api', { 'x-outcome': 'deny' }, 403, 'GH_TEST_DENIED', 30, false],
    ['/nowhere', {}, 404, 'GH_ROUTE_NOT_FOUND', 30, false],
    ['/api/%2F', {}, 400, 'GH_REQUEST_PATH_ESCAPED_SLASH', 30, false],
    ['/api', { 'x-outcome': 'only-if-cached' }, 504, 'GH_TEST_ONLY_IF_CACHED_MISS', 40, false],
    ['/api', { 'x-outcome': 'bug' }, 500, 'GH_PLUGIN_FAILED', 50, true],
    ['/dead', {}, 502, 'GH_UPSTREAM_UNREACHABLE', 50, true],
  ]
  for (const [path, headers, status, code, level, stack] of cases) {
    const before = lines.length
    const res = await gw.request({ path, headers })
    t.equal(res.status, status, `${path} ${JSON.stringify(headers)}: ${status}`)
    t.equal(res.json().code, code)
    const mine = lines.slice(before).filter((l) => l.code === code)
    t.equal(mine.length, 1, `${code}: one line`)
    t.equal(mine[0]?.level, level, `${code}: level ${level}`)
    t.equal(mine[0]?.err?.stack !== undefined, stack, `${code}: ${stack ? 'with' : 'without'} a stack`)
    if (path === '/api') t.equal(mine[0]?.plugin, 'outcomes', `${code}: names the plugin`)
  }
  t.notOk(
    lines.some((l) => l.level >= 50 && l.code !== 'GH_PLUGIN_FAILED' && l.code !== 'GH_UPSTREAM_UNREACHABLE'),
    'no other error lines',
  )
})
