import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import { setTimeout as sleep } from 'node:timers/promises'
import { ConfigError, createGateway, type GatewayConfig } from '@gatehousejs/core'
import { definePlugin } from '@gatehousejs/sdk'
import { startGateway, startUpstream } from '@gatehousejs/sdk/testing'
import { pino } from 'pino'
import t from 'tap'
import accessLog from '../src/index.js'

/** The gateway's pino logger writing to a stream the test reads, line by line. */
function captureLogger() {
  const lines: Array<Record<string, any>> = []
  const stream = new Writable({
    write(chunk, _enc, done) {
      for (const line of String(chunk).split('\n')) if (line.trim()) lines.push(JSON.parse(line))
      done()
    },
  })
  return { logger: pino({ level: 'info' }, stream), lines }
}

const fakeAuth = definePlugin({
  name: 'fake-auth',
  version: '1.0.0',
  priority: 60_000,
  init: () => ({
    access(ctx) {
      if (ctx.request.headers.authorization)
        ctx.setConsumer({ id: 'c1', username: 'alice', customId: undefined, groups: [] })
    },
  }),
})

function config(upstream: string, log: Record<string, unknown> = {}): GatewayConfig {
  return {
    services: [{ name: 'users', url: upstream, routes: [{ name: 'users', paths: ['/users'] }] }],
    plugins: [{ name: 'access-log', config: log }, { name: 'fake-auth' }],
  }
}

async function accessLines(lines: Array<Record<string, any>>, n: number) {
  for (let i = 0; i < 100 && lines.filter((l) => l.msg === 'request completed').length < n; i++)
    await sleep(20)
  return lines.filter((l) => l.msg === 'request completed')
}

t.test('one line per request with the default fields, in the gateway log', async (t) => {
  const upstream = await startUpstream({ t })
  const { logger, lines } = captureLogger()
  const gw = await startGateway({
    t,
    plugins: [accessLog, fakeAuth],
    config: config(upstream.url),
    logger: logger as never,
  })
  const res = await gw.request({
    method: 'POST',
    path: '/users/7?apikey=s3cret&page=2',
    headers: { authorization: 'Bearer top-secret', 'user-agent': 'curl/8', cookie: 'sid=abc' },
    body: { name: 'a' },
  })
  t.equal(res.status, 200)
  t.equal((await gw.request({ path: '/nowhere' })).status, 404)
  const [line, missing] = await accessLines(lines, 2)
  t.match(line, {
    level: 30,
    plugin: 'access-log',
    method: 'POST',
    path: '/users/7',
    status: 200,
    requestId: res.headers['x-request-id'],
    clientIp: '127.0.0.1',
    consumer: 'alice',
    service: 'users',
    route: 'users',
    bytesIn: 12,
    bytesOut: Number(res.headers['content-length']),
    userAgent: 'curl/8',
  })
  t.type(line!.latency, 'number')
  t.type(line!.upstreamLatency, 'number')
  t.ok(line!.latency >= line!.upstreamLatency)
  t.notOk('query' in line!, 'the query is not a default field')
  t.notMatch(JSON.stringify(lines), /top-secret|s3cret|sid=abc/, 'no secret anywhere in the log')
  t.match(missing, { path: '/nowhere', status: 404, error: 'GH_ROUTE_NOT_FOUND', route: undefined })
})

t.test('configured fields and headers; secrets redacted by name, always', async (t) => {
  const upstream = await startUpstream({
    t,
    handler: (_req, res) => {
      res.writeHead(201, { 'set-cookie': 'sid=xyz', 'x-cache': 'MISS', 'content-length': '2' })
      res.end('ok')
    },
  })
  const { logger, lines } = captureLogger()
  const gw = await startGateway({
    t,
    plugins: [accessLog, fakeAuth],
    logger: logger as never,
    config: config(upstream.url, {
      fields: ['method', 'query', 'status', 'upstream', 'source', 'referer', 'gatewayLatency'],
      requestHeaders: ['X-Tenant', 'authorization', 'x-signature', 'cookie'],
      responseHeaders: ['x-cache', 'set-cookie'],
      redact: ['X-Signature', 'session'],
      level: 'warn',
      message: 'request completed',
    }),
  })
  await gw.request({
    path: '/users?session=abc&token=t0k&q=%20x&api_key=k',
    headers: {
      'x-tenant': 'acme',
      authorization: 'Basic Zm9v',
      'x-signature': 'sig',
      cookie: 'a=b',
      referer: 'https://r.example/',
    },
  })
  const [line] = await accessLines(lines, 1)
  t.same(
    Object.keys(line!)
      .filter(
        (k) =>
          !['level', 'time', 'pid', 'hostname', 'msg', 'name', 'reqId', 'plugin', 'instance'].includes(k),
      )
      .sort(),
    [
      'gatewayLatency',
      'method',
      'query',
      'referer',
      'requestHeaders',
      'responseHeaders',
      'source',
      'status',
      'upstream',
    ],
  )
  t.equal(line!.level, 40)
  t.equal(line!.query, 'session=[REDACTED]&token=[REDACTED]&q=%20x&api_key=[REDACTED]')
  t.same(line!.requestHeaders, {
    'x-tenant': 'acme',
    authorization: '[REDACTED]',
    'x-signature': '[REDACTED]',
    cookie: '[REDACTED]',
  })
  t.same(line!.responseHeaders, { 'x-cache': 'MISS', 'set-cookie': '[REDACTED]' })
  t.match(line, { status: 201, source: 'upstream', referer: 'https://r.example/' })
  t.match(line!.upstream, /^http:\/\/127\.0\.0\.1:\d+\/$/)
})

t.test('destination: a file, flushed on close', async (t) => {
  const upstream = await startUpstream({ t })
  const file = join(mkdtempSync(join(tmpdir(), 'gh-access-log-')), 'logs', 'access.log')
  const gw = await startGateway({
    t,
    plugins: [accessLog, fakeAuth],
    config: config(upstream.url, { destination: { file }, fields: ['path', 'status'] }),
  })
  for (let i = 0; i < 3; i++) await gw.request({ path: `/users/${i}` })
  await sleep(50)
  await gw.close()
  const lines = readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l))
  t.equal(lines.length, 3)
  t.match(lines[0], { path: '/users/0', status: 200, msg: 'request completed' })
  t.match(lines[0].time, /^\d{4}-\d\d-\d\dT/, 'ISO time')
  t.notOk('hostname' in lines[0], 'no pino base fields')
})

t.test('bad config is refused at load, naming the field', async (t) => {
  for (const [cfg, pointer] of [
    [{ fields: ['method', 'password'] }, '/plugins/0/config/fields/1'],
    [{ requestHeaders: ['bad header'] }, '/plugins/0/config/requestHeaders/0'],
    [{ destination: { path: '/tmp/x' } }, '/plugins/0/config/destination'],
    [{ level: 'loud' }, '/plugins/0/config/level'],
  ] as const) {
    const err = await createGateway(config('http://127.0.0.1:9', cfg as Record<string, unknown>), {
      plugins: [accessLog, fakeAuth],
      logger: false,
    }).then(
      (gw) => gw.close(),
      (e: unknown) => e,
    )
    t.ok(err instanceof ConfigError, `refused: ${JSON.stringify(cfg)}`)
    t.ok(
      (err as ConfigError).issues.some((i) => i.pointer.startsWith(pointer) && i.plugin === 'access-log'),
      `names ${pointer}: ${(err as ConfigError).message}`,
    )
  }
})
