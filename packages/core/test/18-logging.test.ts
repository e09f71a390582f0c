import { Writable } from 'node:stream'
import { definePlugin } from '@gatehousejs/sdk'
import { startGateway, startUpstream } from '@gatehousejs/sdk/testing'
import { pino } from 'pino'
import t from 'tap'

/** A real pino logger whose lines the test can read. */
function captureLogger() {
  const lines: string[] = []
  const stream = new Writable({
    write(chunk, _enc, done) {
      lines.push(...chunk.toString().split('\n').filter(Boolean))
      done()
    },
  })
  const logger = pino({ level: 'debug' }, stream)
  return { logger, lines, parsed: () => lines.map((l) => JSON.parse(l)) }
}

const SECRETS = {
  authorization: 'Bearer sekrit-token-123',
  cookie: 'session=sekrit-cookie-456',
  'x-api-key': 'sekrit-key-789',
  apikey: 'sekrit-apikey-000',
  'proxy-authorization': 'Basic sekrit-proxy-111',
}

const headerLogger = definePlugin({
  name: 'header-logger',
  version: '1.0.0',
  priority: 10,
  init() {
    return {
      access(ctx) {
        ctx.log.info({ headers: ctx.request.headers }, 'request headers')
        ctx.log.info({ req: { headers: ctx.request.headers } }, 'request headers, nested as req')
        ctx.log.info({ credentials: { password: 'sekrit-pw-222', token: 'sekrit-tok-333' } }, 'credentials')
      },
    }
  },
})

t.test('secrets never reach the log, with a logger passed in by the caller', async (t) => {
  const upstream = await startUpstream({ t })
  const { logger, lines, parsed } = captureLogger()
  const gw = await startGateway({
    t,
    logger: logger as never,
    plugins: [headerLogger],
    config: {
      services: [{ name: 'echo', url: upstream.url, routes: [{ paths: ['/'] }] }],
      plugins: [{ name: 'header-logger' }],
    },
  })
  const res = await gw.request({ path: '/x', headers: { ...SECRETS, 'x-visible': 'plain-value' } })
  t.equal(res.status, 200)
  t.equal(
    upstream.last()?.headers.authorization,
    SECRETS.authorization,
    'the upstream still gets the credentials',
  )
  const all = lines.join('\n')
  for (const secret of [
    'sekrit-token-123',
    'sekrit-cookie-456',
    'sekrit-key-789',
    'sekrit-apikey-000',
    'sekrit-proxy-111',
    'sekrit-pw-222',
    'sekrit-tok-333',
  ]) {
    t.notOk(all.includes(secret), `"${secret}" is not in the log`)
  }
  const line = parsed().find((l) => l.msg === 'request headers')
  t.equal(line?.headers?.authorization, '[redacted]')
  t.equal(line?.headers?.cookie, '[redacted]')
  t.equal(line?.headers?.['x-visible'], 'plain-value', 'other headers are logged as they are')
  t.equal(line?.plugin, 'header-logger', 'the line names the plugin')
  t.equal(line?.reqId, res.headers['x-request-id'], 'and carries the request id the client got')
})

t.test('a failed request is logged once at error, with its request id, code and cause', async (t) => {
  const { logger, parsed } = captureLogger()
  const gw = await startGateway({
    t,
    logger: logger as never,
    config: { services: [{ name: 'down', url: 'http://127.0.0.1:9', routes: [{ paths: ['/'] }] }] },
  })
  const res = await gw.request({ path: '/', headers: { authorization: 'Bearer sekrit-token-123' } })
  t.equal(res.status, 502)
  t.equal(res.json().code, 'GH_UPSTREAM_UNREACHABLE')
  const errors = parsed().filter((l) => l.level === 50)
  t.equal(errors.length, 1, 'one error line')
  t.equal(errors[0].reqId, res.headers['x-request-id'])
  t.equal(errors[0].code, 'GH_UPSTREAM_UNREACHABLE')
  t.match(errors[0].err?.message, /ECONNREFUSED/, 'the log has the cause the client does not see')
  t.notMatch(res.text, /ECONNREFUSED|127\.0\.0\.1:9/, 'the client body does not')
})
