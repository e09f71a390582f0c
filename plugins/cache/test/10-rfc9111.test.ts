import t from 'tap'
import { type Reply, setup } from './helpers/setup.js'

// RFC 9111 rules a real origin exercises with each header form: Vary revalidation, Expires syntax,
// field-qualified no-cache/private, malformed Age, and when must-revalidate binds.

t.test('a stored response with Vary is revalidated with its validators (§4.3.1)', async (t) => {
  const s = await setup(
    t,
    {},
    (req): Reply =>
      req.headers['if-none-match'] === '"v1"'
        ? { status: 304, headers: { etag: '"v1"', 'cache-control': 'max-age=0' } }
        : {
            headers: { vary: 'Accept-Language', etag: '"v1"', 'cache-control': 'max-age=0' },
            body: `hello in ${req.headers['accept-language']}`,
          },
  )
  const first = await s.get('/greeting', { 'accept-language': 'fr' })
  t.equal(first.text, 'hello in fr')
  t.match(first.headers['cache-status'], /stored/)
  const again = await s.get('/greeting', { 'accept-language': 'fr' })
  t.equal(
    s.upstream.requests[1]!.headers['if-none-match'],
    '"v1"',
    'the conditional request carries the ETag',
  )
  t.equal(again.status, 200)
  t.equal(again.text, 'hello in fr', 'the 304 refreshed the stored variant')
  t.equal(again.headers['x-cache-status'], 'Refresh')
})

t.test('a varied entry with only Last-Modified is revalidated with If-Modified-Since', async (t) => {
  const lm = 'Tue, 01 Dec 2026 10:00:00 GMT'
  const s = await setup(
    t,
    {},
    (req): Reply =>
      req.headers['if-modified-since'] === lm
        ? { status: 304, headers: { 'cache-control': 'max-age=0' } }
        : { headers: { vary: 'Accept', 'last-modified': lm, 'cache-control': 'max-age=0' }, body: 'doc' },
  )
  await s.get('/doc', { accept: 'text/plain' })
  const again = await s.get('/doc', { accept: 'text/plain' })
  t.equal(s.upstream.requests[1]!.headers['if-modified-since'], lm)
  t.equal(again.text, 'doc')
  t.equal(again.headers['x-cache-status'], 'Refresh')
})

t.test('Expires: only an HTTP-date makes a response fresh (RFC 9111 §5.3, RFC 9110 §5.6.7)', async (t) => {
  const valid = [
    'Sun, 01 Dec 2030 00:00:00 GMT', // IMF-fixdate
    'Sunday, 01-Dec-30 00:00:00 GMT', // obsolete RFC 850 form
    'Sun Dec  1 00:00:00 2030', // obsolete asctime form
  ]
  const invalid = [
    '2030-12-01T00:00:00Z',
    'Sun, 01 Dec 2030 00:00:00 +0000',
    'Dec 1 2030',
    '1 Dec 2030 00:00:00 GMT',
    'Sun, 31 Feb 2030 00:00:00 GMT',
  ]
  for (const expires of [...valid, ...invalid]) {
    const s = await setup(t, {}, { headers: { expires } })
    await s.get('/page')
    const again = await s.get('/page')
    if (valid.includes(expires)) t.equal(again.headers['x-cache-status'], 'Hit', `fresh until ${expires}`)
    else {
      t.equal(again.headers['x-cache-status'], 'Miss', `"${expires}" is already expired`)
      t.equal(s.upstream.requests.length, 2)
    }
  }
})

t.test('no-cache="field": stored, the named fields never replayed (§5.2.2.4)', async (t) => {
  const s = await setup(t, {}, (req) => ({
    headers: {
      'cache-control': 'max-age=60, no-cache="X-User-Token, X-Session"',
      'x-user-token': String(req.headers.cookie),
      'x-session': 'abc',
      'x-public': 'kept',
    },
    body: 'catalogue',
  }))
  const alice = await s.get('/catalogue', { cookie: 'alice' })
  t.equal(alice.headers['x-user-token'], 'alice', 'the response itself is passed on whole')
  t.match(alice.headers['cache-status'], /stored/)
  const bob = await s.get('/catalogue', { cookie: 'bob' })
  t.equal(bob.headers['x-cache-status'], 'Hit')
  t.equal(bob.text, 'catalogue')
  t.equal(bob.headers['x-user-token'], undefined, 'alice’s token is not replayed')
  t.equal(bob.headers['x-session'], undefined, 'a quoted list names every field')
  t.equal(bob.headers['x-public'], 'kept')
  t.equal(bob.headers['cache-control'], 'max-age=60, no-cache="X-User-Token, X-Session"')
  t.equal(s.upstream.requests.length, 1)
})

t.test('private="field": the rest is stored, the named field is not (§5.2.2.7)', async (t) => {
  const s = await setup(
    t,
    {},
    { headers: { 'cache-control': 'Private="X-Account", max-age=60', 'x-account': '42' } },
  )
  await s.get('/offers')
  const again = await s.get('/offers')
  t.equal(again.headers['x-cache-status'], 'Hit')
  t.equal(again.headers['x-account'], undefined)
})

t.test('unqualified private and no-cache with an empty list keep their full meaning', async (t) => {
  const s = await setup(t, {}, { headers: { 'cache-control': 'private="", max-age=60' } })
  await s.get('/me')
  t.equal((await s.get('/me')).headers['x-cache-status'], 'Miss')
})

t.test('a malformed Age is ignored (§5.1); a list uses its first member', async (t) => {
  const s = await setup(t, {}, (req) => ({
    headers: { 'cache-control': 'max-age=3600', age: req.url === '/list' ? '100, 7200' : '7200.0' },
  }))
  await s.get('/decimal')
  const hit = await s.get('/decimal')
  t.equal(hit.headers['x-cache-status'], 'Hit', 'Age: 7200.0 is not 7200 seconds')
  t.ok(Number(hit.headers.age) < 3600, `age ${hit.headers.age}`)
  await s.get('/list')
  const listed = await s.get('/list')
  t.equal(listed.headers['x-cache-status'], 'Hit')
  t.ok(Number(listed.headers.age) >= 100 && Number(listed.headers.age) < 3600, `age ${listed.headers.age}`)
})

t.test(
  'must-revalidate binds once stale, not whenever the request has Cache-Control (§5.2.2.2)',
  async (t) => {
    const s = await setup(t, {}, (req) => ({
      headers: {
        'cache-control': req.url === '/fresh' ? 'max-age=60, must-revalidate' : 'max-age=0, must-revalidate',
        etag: '"e"',
      },
    }))
    await s.get('/fresh')
    for (const cc of ['max-stale=30', 'min-fresh=1', 'no-transform']) {
      const r = await s.get('/fresh', { 'cache-control': cc })
      t.equal(r.headers['x-cache-status'], 'Hit', `fresh and ${cc}: served from the cache`)
    }
    t.equal(s.upstream.requests.length, 1)
    await s.get('/stale')
    const stale = await s.get('/stale', { 'cache-control': 'max-stale=3600' })
    t.equal(stale.headers['x-cache-status'], 'Refresh', 'stale: max-stale cannot override must-revalidate')
    t.equal(s.upstream.requests[2]!.headers['if-none-match'], '"e"')
  },
)
