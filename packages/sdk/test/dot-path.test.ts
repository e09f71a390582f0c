import {
  DotPathError,
  deletePath,
  EVERY,
  expandPath,
  getPath,
  hasPath,
  parseDotPath,
  setPath,
} from '@gatehousejs/sdk/transform'
import t from 'tap'

t.test('parseDotPath: keys, indexes, wildcards and quoted keys', async (t) => {
  t.same(parseDotPath('user.address.city').segments, ['user', 'address', 'city'])
  t.same(parseDotPath('items[0].name').segments, ['items', 0, 'name'])
  t.same(parseDotPath('items[*].tags.*').segments, ['items', EVERY, 'tags', EVERY])
  t.same(parseDotPath('meta["a.b"][\'c]\']').segments, ['meta', 'a.b', 'c]'])
  t.same(parseDotPath('[2].x').segments, [2, 'x'])
  t.same(parseDotPath('items.0').segments, ['items', '0'])
  t.equal(parseDotPath('a[*].b.*').wildcards, 2)
})

t.test('parseDotPath: every malformed path throws a DotPathError saying where', async (t) => {
  for (const [path, why] of [
    ['', /empty/],
    ['a..b', /empty segment at character 3/],
    ['.a', /empty segment/],
    ['a.', /cannot end with "\."/],
    ['a[1', /unclosed "\["/],
    ['a[x]', /bracket holds/],
    ['a[-1]', /bracket holds/],
    ['a["x]', /unclosed quote/],
    ['a["x"b]', /expected "\]"/],
    ['a]b', /unexpected "\]"/],
    ['a[0]b', /expected "\." or "\["/],
  ] as const) {
    t.throws(() => parseDotPath(path), { name: 'DotPathError', message: why }, path)
  }
  t.throws(() => parseDotPath('a.*', { wildcards: false }), DotPathError)
})

t.test('getPath and hasPath', async (t) => {
  const doc = { a: { b: [{ c: 1 }, { c: null }] }, n: 0 }
  t.equal(getPath(doc, parseDotPath('a.b[0].c')), 1)
  t.equal(getPath(doc, parseDotPath('a.b.1.c')), null)
  t.equal(getPath(doc, parseDotPath('a.b[5].c')), undefined)
  t.equal(getPath(doc, parseDotPath('n.x')), undefined, 'through a primitive is undefined, not a throw')
  t.same(getPath(doc, parseDotPath('a.b[*].c')), [1, null])
  t.ok(hasPath(doc, ['a', 'b', 1, 'c']), 'null exists')
  t.notOk(hasPath(doc, ['a', 'b', 1, 'd']))
  t.notOk(hasPath(doc, ['a', 'b', 'length']), 'array properties are not elements')
})

t.test('expandPath replaces each * with the indexes or keys that exist', async (t) => {
  const doc = { xs: [{ ys: [1, 2] }, { ys: [3] }], o: { p: 1, q: 2 } }
  t.same(expandPath(doc, parseDotPath('xs[*].ys[*]')), [
    ['xs', 0, 'ys', 0],
    ['xs', 0, 'ys', 1],
    ['xs', 1, 'ys', 0],
  ])
  t.same(expandPath(doc, parseDotPath('o.*')), [
    ['o', 'p'],
    ['o', 'q'],
  ])
  t.same(expandPath(doc, parseDotPath('missing[*].a')), [])
  t.same(expandPath(doc, parseDotPath('a.b')), [['a', 'b']], 'no * stands for itself')
})

t.test('setPath creates what is missing and refuses to go through a primitive', async (t) => {
  const doc: Record<string, unknown> = { s: 'text', list: [1] }
  t.ok(setPath(doc, ['a', 'b', 'c'], 1))
  t.ok(setPath(doc, ['arr', 0, 'x'], true))
  t.ok(setPath(doc, ['list', 1], 2), 'the end of an array appends')
  t.notOk(setPath(doc, ['list', 5], 9), 'past the end is refused')
  t.notOk(setPath(doc, ['s', 'x'], 1))
  t.same(doc, { s: 'text', list: [1, 2], a: { b: { c: 1 } }, arr: [{ x: true }] })
})

t.test('deletePath removes keys and splices array elements', async (t) => {
  const doc = { a: { b: 1 }, xs: [1, 2, 3] }
  t.ok(deletePath(doc, ['a', 'b']))
  t.ok(deletePath(doc, ['xs', 1]))
  t.notOk(deletePath(doc, ['nope', 'x']))
  t.same(doc, { a: {}, xs: [1, 3] })
})
