import { perLoad } from '@gatehousejs/sdk'
import t from 'tap'

/** per-load.ts: `perLoad` computes once per config object, the way a load's `validate` and `init` share work. */

interface Config {
  file: string
}

t.test('one computation per config object, shared by every later call', async (t) => {
  const computed: string[] = []
  const compiled = perLoad((config: Config) => {
    computed.push(config.file)
    return { file: config.file, issues: [] as string[] }
  })
  const config = { file: 'a.proto' }
  t.notOk(compiled.has(config), 'nothing computed before the first call (validate)')
  const first = compiled(config)
  t.ok(compiled.has(config), 'computed once validate called it')
  t.equal(compiled(config), first, 'init gets the very value validate computed')
  t.same(computed, ['a.proto'], 'compute ran once')
})

t.test('a new config object (a new load) computes afresh, even with equal contents', async (t) => {
  let runs = 0
  const compiled = perLoad((config: Config) => ({ file: config.file, run: ++runs }))
  const before = compiled({ file: 'a.proto' })
  const reloaded = { file: 'a.proto' }
  t.notOk(compiled.has(reloaded))
  t.equal(compiled(reloaded).run, 2)
  t.equal(before.run, 1)
})

t.test('a compute that throws caches nothing: the next call runs it again', async (t) => {
  let runs = 0
  const compiled = perLoad((_config: Config) => {
    runs++
    throw new Error('cannot read a.proto')
  })
  const config = { file: 'a.proto' }
  t.throws(() => compiled(config), /cannot read a\.proto/)
  t.notOk(compiled.has(config))
  t.throws(() => compiled(config), /cannot read a\.proto/)
  t.equal(runs, 2)
})

t.test('an async compute shares its promise, so validate and init await one read', async (t) => {
  let runs = 0
  const compiled = perLoad(async (config: Config) => {
    runs++
    await new Promise((resolve) => setImmediate(resolve))
    return config.file.toUpperCase()
  })
  const config = { file: 'openapi.yaml' }
  const [a, b] = await Promise.all([compiled(config), compiled(config)])
  t.equal(a, 'OPENAPI.YAML')
  t.equal(b, a)
  t.equal(runs, 1)
})

t.test('undefined is a value like any other: computed once', async (t) => {
  let runs = 0
  const compiled = perLoad((_config: Config) => {
    runs++
    return undefined
  })
  const config = { file: 'a.proto' }
  t.equal(compiled(config), undefined)
  t.equal(compiled(config), undefined)
  t.ok(compiled.has(config))
  t.equal(runs, 1)
})
