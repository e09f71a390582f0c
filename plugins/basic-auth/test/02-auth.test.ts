import { spawnSync } from 'node:child_process'
import { join } from 'node:path'
import type { GatewayConfig } from '@gatehousejs/core'
import { startGateway, startUpstream, type TestUpstream, withoutTapHook } from '@gatehousejs/sdk/testing'
import t, { type Test } from 'tap'
import basicAuth, { hashPassword } from '../src/index.js'

// A real gateway in front of a real upstream: what the client gets, and what the upstream receives.

const IDENTITY = [
  'x-consumer-id',
  'x-consumer-username',
  'x-consumer-custom-id',
  'x-consumer-groups',
  'x-credential-identifier',
  'x-anonymous-consumer',
]
const FORGED = Object.fromEntries(IDENTITY.map((h) => [h, 'forged']))
const basic = (user: string, pw: string) => `Basic ${Buffer.from(`${user}:${pw}`).toString('base64')}`

let consumers: GatewayConfig['consumers']
t.before(async () => {
  consumers = [
    {
      id: 'c-alice',
      username: 'alice',
      groups: ['admins'],
      credentials: {
        'basic-auth': [{ username: 'alice', password: await hashPassword('wonder land:1', { cost: 10 }) }],
      },
    },
    {
      username: 'bob',
      customId: 'b-9',
      credentials: {
        'basic-auth': [
          {
            username: 'bob@example.com',
            password: await hashPassword('pässwörd', { algorithm: 'bcrypt', cost: 4 }),
          },
        ],
      },
    },
    { username: 'guest' },
  ]
})

async function setup(t: Test, config: Record<string, unknown> = {}) {
  const upstream = await startUpstream({ t })
  const gw = await startGateway({
    t,
    plugins: [basicAuth],
    config: {
      services: [
        {
          name: 'api',
          url: upstream.url,
          routes: [{ name: 'private', paths: ['/private'], plugins: [{ name: 'basic-auth', config }] }],
        },
      ],
      consumers,
    },
  })
  return { upstream, gw }
}

function identity(upstream: TestUpstream) {
  const h = upstream.last()!.headers
  return Object.fromEntries(IDENTITY.filter((n) => h[n] !== undefined).map((n) => [n, h[n]]))
}

t.test('scrypt and bcrypt credentials identify their consumer upstream', async (t) => {
  const { upstream, gw } = await setup(t)
  let res = await gw.request({
    path: '/private/x',
    headers: { authorization: basic('alice', 'wonder land:1'), ...FORGED },
  })
  t.equal(res.status, 200)
  t.same(identity(upstream), {
    'x-consumer-id': 'c-alice',
    'x-consumer-username': 'alice',
    'x-consumer-groups': 'admins',
    'x-credential-identifier': 'alice',
  })
  t.equal(
    upstream.last()!.headers.authorization,
    basic('alice', 'wonder land:1'),
    'forwarded unless hideCredentials',
  )

  res = await gw.request({
    path: '/private/x',
    headers: { authorization: basic('bob@example.com', 'pässwörd') },
  })
  t.equal(res.status, 200, 'bcrypt, a UTF-8 password')
  t.same(identity(upstream), {
    'x-consumer-id': 'bob',
    'x-consumer-username': 'bob',
    'x-consumer-custom-id': 'b-9',
    'x-credential-identifier': 'bob@example.com',
  })

  res = await gw.request({
    path: '/private/x',
    headers: { authorization: `bAsIc ${basic('alice', 'wonder land:1').slice(6)}` },
  })
  t.equal(res.status, 200, 'the scheme is case-insensitive')
  res = await gw.request({ path: '/private/x', headers: { authorization: basic('alice', 'wonder land:1') } })
  t.equal(res.status, 200, 'again (from the verified cache)')
  t.equal(upstream.requests.length, 4)
})

t.test('no credentials: 401 GH_BASIC_AUTH_MISSING with a Basic challenge, never proxied', async (t) => {
  const { upstream, gw } = await setup(t, { realm: 'orders' })
  for (const headers of [{}, { authorization: 'Bearer abc.def.ghi' }, FORGED]) {
    const res = await gw.request({ path: '/private/x', headers })
    t.equal(res.status, 401)
    t.equal(res.json().code, 'GH_BASIC_AUTH_MISSING')
    t.equal(res.headers['www-authenticate'], 'Basic realm="orders", charset="UTF-8"')
  }
  t.equal(upstream.requests.length, 0)
})

t.test('malformed credentials: 401 GH_BASIC_AUTH_MALFORMED', async (t) => {
  const { upstream, gw } = await setup(t)
  const noColon = `Basic ${Buffer.from('alice').toString('base64')}`
  for (const authorization of [
    'Basic',
    'Basic !!!!',
    'Basic YWxpY2U6d',
    noColon,
    `Basic ${Buffer.from(':pw').toString('base64')}`,
  ]) {
    const res = await gw.request({ path: '/private/x', headers: { authorization } })
    t.equal(res.status, 401, authorization)
    t.equal(res.json().code, 'GH_BASIC_AUTH_MALFORMED')
    t.equal(res.headers['www-authenticate'], 'Basic realm="gatehouse", charset="UTF-8"')
  }
  t.equal(upstream.requests.length, 0)
})

t.test('a wrong password or an unknown user: 401 GH_BASIC_AUTH_INVALID, alike', async (t) => {
  const { upstream, gw } = await setup(t)
  const bodies: unknown[] = []
  for (const [u, p] of [
    ['alice', 'wonder land:2'],
    ['alice', ''],
    ['mallory', 'wonder land:1'],
    ['bob@example.com', 'passwort'],
    ['c-alice', 'wonder land:1'],
  ]) {
    const res = await gw.request({ path: '/private/x', headers: { authorization: basic(u!, p!) } })
    t.equal(res.status, 401, `${u}:${p}`)
    t.equal(res.headers['www-authenticate'], 'Basic realm="gatehouse", charset="UTF-8"')
    const { requestId: _r, ...body } = res.json()
    bodies.push(body)
  }
  t.same(new Set(bodies.map((b) => JSON.stringify(b))).size, 1, 'one answer for all of them')
  t.match(bodies[0], { code: 'GH_BASIC_AUTH_INVALID' })
  t.equal(upstream.requests.length, 0)
})

t.test(
  'hideCredentials removes Authorization; Proxy-Authorization works and never goes upstream',
  async (t) => {
    const { upstream, gw } = await setup(t, { hideCredentials: true })
    let res = await gw.request({
      path: '/private/x',
      headers: { authorization: basic('alice', 'wonder land:1') },
    })
    t.equal(res.status, 200)
    t.equal(upstream.last()!.headers.authorization, undefined)
    res = await gw.request({
      path: '/private/x',
      headers: { 'proxy-authorization': basic('bob@example.com', 'pässwörd') },
    })
    t.equal(res.status, 200)
    t.equal(upstream.last()!.headers['x-consumer-id'], 'bob')
    t.equal(upstream.last()!.headers['proxy-authorization'], undefined)
  },
)

t.test('anonymous: a request without valid credentials goes on as the anonymous consumer', async (t) => {
  const { upstream, gw } = await setup(t, { anonymous: 'guest' })
  let res = await gw.request({
    path: '/private/x',
    headers: { authorization: basic('alice', 'nope'), ...FORGED },
  })
  t.equal(res.status, 200)
  t.same(identity(upstream), {
    'x-consumer-id': 'guest',
    'x-consumer-username': 'guest',
    'x-anonymous-consumer': 'true',
  })
  res = await gw.request({ path: '/private/x', headers: { authorization: basic('alice', 'wonder land:1') } })
  t.equal(upstream.last()!.headers['x-consumer-id'], 'c-alice')
  t.equal(upstream.last()!.headers['x-anonymous-consumer'], undefined)
})

t.test('the hash helper command prints a hash read from standard input', async (t) => {
  const cli = join(import.meta.dirname, '..', 'dist', 'cli.js')
  const out = spawnSync(...withoutTapHook(process.execPath, [cli, '--cost', '10']), {
    input: 'wonder land:1\n',
    encoding: 'utf8',
  })
  t.equal(out.status, 0, out.stderr)
  const hash = out.stdout.trim()
  t.match(hash, /^\$scrypt\$ln=10,r=8,p=1\$/)
  const { verifyPassword, parseHash } = await import('../src/index.js')
  t.equal(await verifyPassword('wonder land:1', parseHash(hash) as never), true)
  t.equal(await verifyPassword('wonder land:', parseHash(hash) as never), false)

  const b = spawnSync(...withoutTapHook(process.execPath, [cli, '--bcrypt', '--cost', '4']), {
    input: 'pw',
    encoding: 'utf8',
  })
  t.match(b.stdout, /^\$2b\$04\$/)
  const bad = spawnSync(...withoutTapHook(process.execPath, [cli, 'secret-on-the-command-line']), {
    input: '',
    encoding: 'utf8',
  })
  t.equal(bad.status, 2)
  t.match(bad.stderr, /standard input/)
})
