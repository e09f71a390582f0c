import { ConfigError, createGateway, type GatewayConfig } from '@gatehousejs/core'
import t from 'tap'
import basicAuth, { hashPassword, parseHash } from '../src/index.js'

// What an operator sees when the config is wrong, and what `init` gets when it is right.

function configWith(
  config: Record<string, unknown>,
  consumers: GatewayConfig['consumers'] = [],
): GatewayConfig {
  return {
    services: [
      {
        name: 'echo',
        url: 'http://127.0.0.1:9',
        routes: [{ name: 'echo', paths: ['/'], plugins: [{ name: 'basic-auth', config }] }],
      },
    ],
    consumers,
  }
}

async function issuesFor(config: Record<string, unknown>, consumers: GatewayConfig['consumers'] = []) {
  const err = await createGateway(configWith(config, consumers), {
    plugins: [basicAuth],
    logger: false,
  }).then(
    async (gw) => {
      await gw.close()
      return undefined
    },
    (e: unknown) => e,
  )
  if (!(err instanceof ConfigError)) throw new Error(`expected a ConfigError, got ${String(err)}`)
  return err.issues
}

const BASE = '/services/0/routes/0/plugins/0/config'
const cred = (list: unknown[]) => [{ username: 'alice', credentials: { 'basic-auth': list } }] as never
const at = (i: number, field: string) => `/consumers/0/credentials/basic-auth/${i}/${field}`

t.test('an empty config is valid and gets every default', async (t) => {
  const gw = await createGateway(configWith({}), { plugins: [basicAuth], logger: false })
  t.teardown(() => gw.close())
  t.same(gw.config.services?.[0]?.routes?.[0]?.plugins?.[0]?.config, {
    realm: 'gatehouse',
    hideCredentials: false,
    cacheSize: 1000,
  })
})

t.test('bad plugin fields and an anonymous naming no consumer are refused', async (t) => {
  t.match(await issuesFor({ realm: 'a"b' }), [{ pointer: `${BASE}/realm`, plugin: 'basic-auth' }])
  t.match(await issuesFor({ cacheSize: -1 }), [{ pointer: `${BASE}/cacheSize`, plugin: 'basic-auth' }])
  t.same(await issuesFor({ anonymous: 'nobody' }), [
    {
      pointer: `${BASE}/anonymous`,
      plugin: 'basic-auth',
      message: 'no consumer with id or username "nobody"',
    },
  ])
})

t.test('a plain-text or malformed password hash is refused, naming the field', async (t) => {
  const good = await hashPassword('pw', { cost: 10 })
  const issues = await issuesFor(
    {},
    cred([
      { username: 'a', password: 'hunter2' },
      { username: 'b', password: '$scrypt$ln=15,r=8,p=1$c2FsdA$' },
      { username: 'c', password: '$2b$12$tooshort' },
      { username: 'd', password: good.replace('ln=10', 'ln=30') },
      { username: 'e', password: good.replace('r=8', 'r=0') },
      { username: 'f', password: '$scrypt$ln=10,r=8,p=1$c2FsdA$aGFzaGhhc2hoYXNoaGFzaA' },
      { username: 'g', password: good },
    ]),
  )
  t.match(issues, [
    { pointer: at(0, 'password'), plugin: 'basic-auth', message: /not a plain password/ },
    { pointer: at(1, 'password'), message: /not a valid scrypt hash/ },
    { pointer: at(2, 'password'), message: /not a valid bcrypt hash/ },
    { pointer: at(3, 'password'), message: 'scrypt ln must be from 10 to 20, got 30' },
    { pointer: at(4, 'password'), message: 'scrypt r must be from 1 to 32, got 0' },
    { pointer: at(5, 'password'), message: 'scrypt salt must be at least 8 bytes' },
  ])
  t.equal(issues.length, 6, 'the good one is accepted')
})

t.test('malformed credentials and duplicate user names are named by pointer', async (t) => {
  t.match(
    await issuesFor(
      {},
      cred([
        { username: 'a:b', password: 'x' },
        { user: 'x', password: 'y' },
      ]),
    ),
    [
      { pointer: at(0, 'username'), plugin: 'basic-auth' },
      { pointer: '/consumers/0/credentials/basic-auth/1', plugin: 'basic-auth' },
    ],
  )
  const hash = await hashPassword('pw', { cost: 10 })
  const issues = await issuesFor({}, [
    { username: 'alice', credentials: { 'basic-auth': [{ username: 'shared', password: hash }] } },
    { username: 'bob', credentials: { 'basic-auth': [{ username: 'shared', password: hash }] } },
  ])
  t.same(issues, [
    {
      pointer: '/consumers/1/credentials/basic-auth/0/username',
      plugin: 'basic-auth',
      message: 'user name "shared" is already used at /consumers/0/credentials/basic-auth/0',
    },
  ])
})

t.test('hashPassword writes hashes parseHash reads, and refuses what it cannot do', async (t) => {
  const s = await hashPassword('pw')
  t.match(s, /^\$scrypt\$ln=15,r=8,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/)
  t.match(parseHash(s), { kind: 'scrypt', ln: 15, r: 8, p: 1 })
  const b = await hashPassword('pw', { algorithm: 'bcrypt', cost: 4 })
  t.match(b, /^\$2b\$04\$/)
  t.match(parseHash(b), { kind: 'bcrypt' })
  await t.rejects(hashPassword(''), TypeError)
  await t.rejects(hashPassword('pw', { cost: 9 }), RangeError)
  await t.rejects(hashPassword('x'.repeat(73), { algorithm: 'bcrypt', cost: 4 }), /72 bytes/)
})
