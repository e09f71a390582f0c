import { createHash } from 'node:crypto'
import { ConfigError, createGateway, type GatewayConfig } from '@gatehousejs/core'
import t from 'tap'
import keyAuth from '../src/index.js'

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
        routes: [{ name: 'echo', paths: ['/'], plugins: [{ name: 'key-auth', config }] }],
      },
    ],
    consumers,
  }
}

async function issuesFor(config: Record<string, unknown>, consumers: GatewayConfig['consumers'] = []) {
  const err = await createGateway(configWith(config, consumers), { plugins: [keyAuth], logger: false }).then(
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

t.test('an empty config is valid and gets every default', async (t) => {
  const gw = await createGateway(configWith({}), { plugins: [keyAuth], logger: false })
  t.teardown(() => gw.close())
  t.same(gw.config.services?.[0]?.routes?.[0]?.plugins?.[0]?.config, {
    keyNames: ['apikey'],
    keyInHeader: true,
    keyInQuery: true,
    keyInBody: false,
    keyInCookie: false,
    hideCredentials: false,
    realm: 'gatehouse',
    runOnPreflight: true,
  })
})

t.test('bad plugin fields are named by pointer', async (t) => {
  t.match(await issuesFor({ keyNames: [] }), [{ pointer: `${BASE}/keyNames`, plugin: 'key-auth' }])
  t.match(await issuesFor({ keyNames: ['bad name'] }), [
    { pointer: `${BASE}/keyNames/0`, plugin: 'key-auth' },
  ])
  t.match(await issuesFor({ hideCredential: true }), [
    { pointer: BASE, plugin: 'key-auth', message: /hideCredential/ },
  ])
  t.match(await issuesFor({ realm: 'a"b' }), [{ pointer: `${BASE}/realm`, plugin: 'key-auth' }])
})

t.test('anonymous must name a consumer', async (t) => {
  t.same(await issuesFor({ anonymous: 'ghost' }, [{ username: 'alice' }]), [
    { pointer: `${BASE}/anonymous`, plugin: 'key-auth', message: 'no consumer with id or username "ghost"' },
  ])
})

t.test('a key used by two consumers is refused, naming the second', async (t) => {
  const issues = await issuesFor({}, [
    { username: 'alice', credentials: { 'key-auth': [{ key: 'k-1' }] } },
    { username: 'bob', credentials: { 'key-auth': [{ key: 'k-2' }, { key: 'k-1' }] } },
  ])
  t.same(issues, [
    {
      pointer: '/consumers/1/credentials/key-auth/1/key',
      plugin: 'key-auth',
      message: 'the same key as /consumers/0/credentials/key-auth/0',
    },
  ])
})

t.test('a key and a digest of the same key are the same key', async (t) => {
  const digest = createHash('sha256').update('k-1').digest('hex')
  const issues = await issuesFor({}, [
    { username: 'alice', credentials: { 'key-auth': [{ key: 'k-1' }] } },
    { username: 'bob', credentials: { 'key-auth': [{ keySha256: digest }] } },
  ])
  t.match(issues, [{ pointer: '/consumers/1/credentials/key-auth/0/keySha256', plugin: 'key-auth' }])
})

t.test('malformed credentials are named by pointer', async (t) => {
  const at = (i: number) => `/consumers/0/credentials/key-auth/${i}`
  const consumer = (list: unknown[]) => [{ username: 'alice', credentials: { 'key-auth': list } }] as never
  const issues = await issuesFor(
    {},
    consumer([{ key: '' }, { key: 42 }, { secret: 'x' }, { keySha256: 'not-hex' }]),
  )
  t.match(issues, [
    { pointer: `${at(0)}/key`, plugin: 'key-auth' },
    { pointer: `${at(1)}/key`, plugin: 'key-auth' },
    { pointer: at(2), plugin: 'key-auth', message: /secret/ },
    { pointer: `${at(3)}/keySha256`, plugin: 'key-auth' },
  ])
  t.equal(issues.length, 4, 'one issue per problem')

  // Well-formed entries, then the plugin's own checks.
  t.same(await issuesFor({}, consumer([{ key: 'ok' }, {}, { key: 'a', keySha256: 'ab'.repeat(32) }])), [
    { pointer: at(1), plugin: 'key-auth', message: 'give exactly one of "key" and "keySha256"' },
    { pointer: at(2), plugin: 'key-auth', message: 'give exactly one of "key" and "keySha256"' },
  ])
})
