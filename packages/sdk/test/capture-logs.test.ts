import { captureLogs } from '@gatehousejs/sdk/testing'
import { pino } from 'pino'
import t from 'tap'

/**
 * testing/logs.ts: `captureLogs` gives pino options that record each line as pino would write it. Core
 * builds its logger from such options (`pino({ name, ...options, redact })`); so does this test, with
 * the real pino.
 */

t.test('records each line with its level name, fields, message and child bindings', async (t) => {
  const logs = captureLogs()
  const root = pino({ name: 'gatehouse', ...logs.logger })
  const plugin = root.child({ plugin: 'grpc', instance: 'grpc-1' })
  plugin.debug({ rules: 3, compiledInValidate: true }, 'grpc ready')
  root.child({ reqId: 'r-1' }).child({ plugin: 'grpc' }).warn('upstream slow')
  t.equal(logs.lines.length, 2)
  t.match(logs.lines[0], {
    level: 'debug',
    name: 'gatehouse',
    plugin: 'grpc',
    instance: 'grpc-1',
    rules: 3,
    compiledInValidate: true,
    msg: 'grpc ready',
  })
  t.match(logs.lines[1], { level: 'warn', reqId: 'r-1', plugin: 'grpc', msg: 'upstream slow' })
})

t.test('withMsg finds the lines with one message, by string or pattern', async (t) => {
  const logs = captureLogs()
  const log = pino(logs.logger)
  log.info({ n: 1 }, 'configuration reloaded')
  log.info('gateway listening')
  log.info({ n: 2 }, 'configuration reloaded')
  t.same(
    logs.withMsg('configuration reloaded').map((l) => l.n),
    [1, 2],
  )
  t.same(logs.withMsg('configuration'), [], 'a string matches the whole message')
  t.same(
    logs.withMsg(/^gateway/).map((l) => l.msg),
    ['gateway listening'],
  )
})

t.test('lines below the level are not recorded; the default level is debug', async (t) => {
  const byDefault = captureLogs()
  const log = pino(byDefault.logger)
  log.trace('too fine')
  log.debug('kept')
  t.same(
    byDefault.lines.map((l) => l.msg),
    ['kept'],
  )
  const warnings = captureLogs({ level: 'warn' })
  const quiet = pino(warnings.logger)
  quiet.info('dropped')
  quiet.error(new Error('boom'))
  t.equal(warnings.lines.length, 1)
  t.match(warnings.lines[0], { level: 'error', msg: 'boom', err: { type: 'Error', message: 'boom' } })
})

t.test('a line is recorded as written: redacted by the logger it went through', async (t) => {
  const logs = captureLogs()
  const log = pino({ ...logs.logger, redact: { paths: ['headers.authorization'], censor: '[redacted]' } })
  log.debug({ headers: { authorization: 'Bearer secret', accept: '*/*' } }, 'upstream request')
  t.same(logs.lines[0]?.headers, { authorization: '[redacted]', accept: '*/*' })
})
