import { createRequire } from 'node:module'
import { ConfigError, defineError, formatIssue, GatehouseError, isGatehouseError } from '@gatehousejs/sdk'
import t from 'tap'

/** errors.ts: GatehouseError, defineError and ConfigError, as plugins and core use them. */

t.test('GatehouseError carries a code, a status, client-safe message and headers', async (t) => {
  const cause = new Error('redis: connection refused at 10.0.0.5')
  const err = new GatehouseError('GH_TEST_DOWN', 503, 'The store is unavailable', {
    headers: { 'retry-after': '5' },
    cause,
  })
  t.ok(err instanceof Error)
  t.ok(err instanceof GatehouseError)
  t.equal(err.name, 'GatehouseError')
  t.equal(err.code, 'GH_TEST_DOWN')
  t.equal(err.statusCode, 503)
  t.equal(err.message, 'The store is unavailable')
  t.equal(err.cause, cause, 'the cause is kept for the log')
  t.same(err.headers, { 'retry-after': '5' })
  t.same(err.toBody('req-1'), {
    statusCode: 503,
    code: 'GH_TEST_DOWN',
    error: 'Service Unavailable',
    message: 'The store is unavailable',
    requestId: 'req-1',
  })
  t.notMatch(JSON.stringify(err.toBody('req-1')), '10.0.0.5', 'the cause never reaches the body')
  t.equal(new GatehouseError('GH_TEST_ODD', 599, 'odd').toBody('r').error, 'Error', 'unnamed status')
  t.equal(new GatehouseError('GH_TEST_X', 400, 'x').cause, undefined)
})

t.test('GatehouseError refuses a status that is not a 4xx/5xx', async (t) => {
  for (const status of [200, 399, 600, 404.5, Number.NaN]) {
    t.throws(() => new GatehouseError('GH_TEST_BAD', status, 'x'), RangeError, String(status))
  }
})

t.test('withHeaders adds headers and returns the same error', async (t) => {
  const err = new GatehouseError('GH_TEST_LIMITED', 429, 'Too many', { headers: { 'ratelimit-limit': '10' } })
  const same = err.withHeaders({ 'retry-after': '30' }).withHeaders({ 'ratelimit-remaining': '0' })
  t.equal(same, err)
  t.same(err.headers, { 'ratelimit-limit': '10', 'retry-after': '30', 'ratelimit-remaining': '0' })
})

t.test('defineError checks the code format and the status at definition', async (t) => {
  for (const code of [
    'GH_FORBIDDEN',
    'gh_hello_forbidden',
    'XX_HELLO_FORBIDDEN',
    'GH_HELLO-FORBIDDEN',
    'GH__X',
    '',
  ]) {
    t.throws(() => defineError(code, 403, 'no'), TypeError, `"${code}" is refused`)
  }
  t.throws(() => defineError('GH_HELLO_OK', 200, 'fine'), RangeError, 'a 2xx is not an error')
  t.doesNotThrow(() => defineError('GH_HELLO2_FORBIDDEN_NOW', 403, 'no'))
})

t.test('defineError makes a named factory of fresh errors', async (t) => {
  const Forbidden = defineError(
    'GH_HELLO_FORBIDDEN',
    403,
    (who: string, where: string) => `${who} may not enter ${where}`,
  )
  const Gone = defineError('GH_HELLO_GONE', 410, 'It is gone')
  t.equal(Forbidden.code, 'GH_HELLO_FORBIDDEN')
  t.equal(Forbidden.statusCode, 403)
  t.equal(Forbidden.name, 'GH_HELLO_FORBIDDEN', 'stack traces name the code')
  const a = Forbidden('Mallory', 'the vault')
  t.ok(a instanceof GatehouseError)
  t.equal(a.message, 'Mallory may not enter the vault')
  t.equal(a.code, 'GH_HELLO_FORBIDDEN')
  t.equal(a.statusCode, 403)
  t.equal(Gone().message, 'It is gone')
  // Headers added to one error do not leak into the next.
  const withHeader = Gone().withHeaders({ 'x-a': '1' })
  t.same(withHeader.headers, { 'x-a': '1' })
  t.same(Gone().headers, {})
  t.not(Gone(), Gone())
  t.same(Forbidden('Eve', 'x').toBody('id'), {
    statusCode: 403,
    code: 'GH_HELLO_FORBIDDEN',
    error: 'Forbidden',
    message: 'Eve may not enter x',
    requestId: 'id',
  })
})

t.test('instanceof works across the ESM and CJS builds of the SDK', async (t) => {
  const require = createRequire(import.meta.url)
  const cjs = require('@gatehousejs/sdk') as typeof import('@gatehousejs/sdk')
  t.not(cjs.GatehouseError, GatehouseError, 'two distinct classes were loaded')
  const fromCjs = cjs.defineError('GH_TEST_CJS', 418, 'teapot')()
  t.ok(fromCjs instanceof GatehouseError, 'a CJS-built error is an ESM GatehouseError')
  t.ok(isGatehouseError(fromCjs))
  const fromEsm = new GatehouseError('GH_TEST_ESM', 400, 'x')
  t.ok(fromEsm instanceof cjs.GatehouseError, 'and the other way round')
  t.notOk(new Error('plain') instanceof GatehouseError)
  t.notOk(isGatehouseError({ code: 'GH_TEST_FAKE', statusCode: 400 }), 'duck typing is not enough')
  t.notOk(isGatehouseError(null))
  t.notOk(isGatehouseError('GH_TEST_X'))
})

t.test('ConfigError lists every issue with its pointer, plugin and file', async (t) => {
  const err = new ConfigError(
    [
      { pointer: '/services/0/url', message: 'not a URL' },
      { pointer: '/plugins/2/config/window', plugin: 'rate-limit', message: 'must be a duration' },
      { pointer: '', message: 'unknown property "x"' },
    ],
    'gatehouse.yaml',
  )
  t.ok(err instanceof Error)
  t.equal(err.name, 'ConfigError')
  t.equal(err.code, 'GH_CONFIG_INVALID')
  t.equal(err.issues.length, 3)
  t.ok(err.issues.every((i) => i.file === 'gatehouse.yaml'))
  t.equal(
    err.message,
    'invalid gateway configuration (3 problems):\n' +
      '  - gatehouse.yaml#/services/0/url: not a URL\n' +
      '  - gatehouse.yaml#/plugins/2/config/window (plugin "rate-limit"): must be a duration\n' +
      '  - gatehouse.yaml#/: unknown property "x"',
  )
  const one = new ConfigError([{ pointer: '/a', message: 'bad', file: 'other.json' }], 'main.yaml')
  t.match(one.message, /\(1 problem\)/)
  t.equal(one.issues[0]?.file, 'other.json', 'an issue keeps its own file')
  t.equal(formatIssue({ pointer: '/x', message: 'm', plugin: 'p' }), '/x (plugin "p"): m')
})
