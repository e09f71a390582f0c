import { Duration, HeaderName, Secret, Size } from '@gatehousejs/sdk'
import { gatehouseFormat, parseDuration, parseSize } from '@gatehousejs/sdk/config'
import t from 'tap'

/** schema.ts: duration and size parsing, and the schema helpers core normalises by. */

t.test('parseDuration reads milliseconds and unit strings', async (t) => {
  const cases: Array<[number | string, number]> = [
    [0, 0],
    [500, 500],
    [1.5, 1.5],
    ['250ms', 250],
    ['5s', 5_000],
    ['1.5m', 90_000],
    ['2h', 7_200_000],
    ['1d', 86_400_000],
    [' 2 s ', 2_000],
    ['0.0015s', 2],
  ]
  for (const [input, ms] of cases) t.equal(parseDuration(input), ms, JSON.stringify(input))
})

t.test('parseDuration refuses anything else with a TypeError that shows the value', async (t) => {
  for (const bad of [
    '5 parsecs',
    '',
    's',
    '-1s',
    '5',
    '1w',
    '1e3ms',
    -1,
    Number.NaN,
    Number.POSITIVE_INFINITY,
  ]) {
    t.throws(
      () => parseDuration(bad),
      { name: 'TypeError', message: /is not a duration/ },
      JSON.stringify(bad),
    )
  }
  t.throws(() => parseDuration('5 parsecs'), {
    message: '"5 parsecs" is not a duration (use e.g. 500, "250ms", "5s", "1m", "1h")',
  })
})

t.test('parseSize reads bytes and unit strings, units in any case', async (t) => {
  const cases: Array<[number | string, number]> = [
    [0, 0],
    [1024, 1024],
    ['10', 10],
    ['10b', 10],
    ['64kb', 65_536],
    ['64KB', 65_536],
    ['1mb', 1_048_576],
    ['1MiB', 1_048_576],
    ['1.5kb', 1_536],
    ['2gib', 2 * 1024 ** 3],
    [' 3 kb ', 3_072],
  ]
  for (const [input, bytes] of cases) t.equal(parseSize(input), bytes, JSON.stringify(input))
})

t.test('parseSize refuses anything else', async (t) => {
  for (const bad of ['10 elephants', '', 'kb', '-5kb', '1tb', -1, 1.5, Number.NaN]) {
    t.throws(() => parseSize(bad), { name: 'TypeError', message: /is not a size/ }, JSON.stringify(bad))
  }
})

t.test('the schema helpers carry the gatehouse keyword, defaults and descriptions', async (t) => {
  const d = Duration({ default: '1m', description: 'window' }) as unknown as Record<string, unknown>
  t.equal(gatehouseFormat(d), 'duration')
  t.equal(d.default, '1m')
  t.equal(d.description, 'window')
  t.match(d.anyOf, [
    { type: 'number', minimum: 0 },
    { type: 'string', pattern: String },
  ])
  const s = Size({ default: '1mb' }) as unknown as Record<string, unknown>
  t.equal(gatehouseFormat(s), 'size')
  t.equal(s.default, '1mb')
  t.equal(gatehouseFormat(HeaderName()), 'header-name')
  const secret = Secret({ minLength: 8 }) as unknown as Record<string, unknown>
  t.equal(gatehouseFormat(secret), 'secret')
  t.equal(secret.writeOnly, true, 'secrets are marked write-only')
  t.equal(secret.minLength, 8)
  t.equal(gatehouseFormat({ type: 'string' }), undefined)
  // The string patterns accept exactly what the parsers accept.
  const durationPattern = new RegExp((d.anyOf as Array<{ pattern?: string }>)[1]!.pattern!)
  for (const v of ['250ms', ' 2 s ', '1.5m']) t.ok(durationPattern.test(v), `pattern accepts ${v}`)
  for (const v of ['5 parsecs', '1w']) t.notOk(durationPattern.test(v), `pattern refuses ${v}`)
  const sizePattern = new RegExp((s.anyOf as Array<{ pattern?: string }>)[1]!.pattern!)
  for (const v of ['64kb', '1MB', '1MiB', '10']) {
    t.ok(sizePattern.test(v), `pattern accepts ${v}`)
    t.doesNotThrow(() => parseSize(v), `parser accepts ${v}`)
  }
})
