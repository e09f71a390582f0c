import { createGateway } from '@gatehousejs/core'
import { ConfigError, type ConsumerRecord, definePlugin, publicConsumer, Type } from '@gatehousejs/sdk'
import type { GatewayConfig } from '@gatehousejs/sdk/config'
import { startGateway, startUpstream } from '@gatehousejs/sdk/testing'
import t, { type Test } from 'tap'

/**
 * Identity: core strips the X-Consumer-* / X-Credential-Identifier / X-Anonymous-Consumer headers a
 * client sends, on every route, and sets them from `setConsumer`; consumers are checked at load; a
 * plugin's ConfigError keeps its pointers; instances are re-created when consumers change.
 */

const IDENTITY = [
  'x-consumer-id',
  'x-consumer-username',
  'x-consumer-custom-id',
  'x-consumer-groups',
  'x-credential-identifier',
  'x-anonymous-consumer',
]
const FORGED = Object.fromEntries(IDENTITY.map((h) => [h, 'forged']))

/** `x-user: <username>` identifies a consumer; `x-user: -` sets the anonymous one (`guest`). */
const who = definePlugin({
  name: 'who',
  version: '1.0.0',
  priority: 60_000,
  init(_config, env) {
    const find = (name: string) => env.consumers.find((c) => c.username === name)
    return {
      access(ctx) {
        const name = ctx.request.headers['x-user']
        if (typeof name !== 'string') return
        if (name === '-')
          return ctx.setConsumer(publicConsumer(find('guest')!), undefined, { anonymous: true })
        for (const n of name.split(' then ')) {
          const c = find(n)
          if (c) ctx.setConsumer(publicConsumer(c), { id: `cred-of-${n}`, plugin: 'who' })
        }
      },
    }
  },
})

/** Reports, in an upstream header, what later access handlers see. */
const probe = definePlugin({
  name: 'probe',
  version: '1.0.0',
  priority: 1_000,
  init() {
    return {
      access(ctx) {
        ctx.upstream.headers['x-probe'] = `${ctx.consumer?.id ?? '-'}|${ctx.anonymous}`
      },
    }
  },
})

const consumers: GatewayConfig['consumers'] = [
  { id: 'c1', username: 'alice', customId: 'crm-1', groups: ['a', 'b'] },
  { username: 'guest' },
]

async function setup(t: Test) {
  const upstream = await startUpstream({ t })
  const gw = await startGateway({
    t,
    plugins: [who, probe],
    config: {
      services: [
        {
          name: 'api',
          url: upstream.url,
          routes: [
            { name: 'auth', paths: ['/auth'], plugins: [{ name: 'who' }, { name: 'probe' }] },
            { name: 'bare', paths: ['/bare'] },
          ],
        },
      ],
      consumers,
    },
  })
  const identity = () => {
    const h = upstream.last()!.headers
    return Object.fromEntries(IDENTITY.filter((n) => h[n] !== undefined).map((n) => [n, h[n]]))
  }
  return { upstream, gw, identity }
}

t.test('identity headers a client sends never reach the upstream, on any route', async (t) => {
  const { gw, identity, upstream } = await setup(t)
  for (const path of ['/bare/x', '/auth/x']) {
    const res = await gw.request({
      path,
      headers: { ...FORGED, 'X-Consumer-Id': 'admin', 'x-other': 'kept' },
    })
    t.equal(res.status, 200)
    t.same(identity(), {}, path)
    t.equal(upstream.last()!.headers['x-other'], 'kept')
  }
})

t.test('setConsumer sends the identity upstream', async (t) => {
  const { gw, identity, upstream } = await setup(t)
  await gw.request({ path: '/auth/x', headers: { 'x-user': 'alice', ...FORGED } })
  t.same(identity(), {
    'x-consumer-id': 'c1',
    'x-consumer-username': 'alice',
    'x-consumer-custom-id': 'crm-1',
    'x-consumer-groups': 'a, b',
    'x-credential-identifier': 'cred-of-alice',
  })
  t.equal(upstream.last()!.headers['x-probe'], 'c1|false')

  await gw.request({ path: '/auth/x', headers: { 'x-user': '-' } })
  t.same(identity(), {
    'x-consumer-id': 'guest',
    'x-consumer-username': 'guest',
    'x-anonymous-consumer': 'true',
  })
  t.equal(upstream.last()!.headers['x-probe'], 'guest|true', 'ctx.anonymous')

  await gw.request({ path: '/auth/x', headers: { 'x-user': 'guest then alice' } })
  t.equal(identity()['x-consumer-id'], 'c1', 'a second setConsumer replaces every header')

  await gw.request({ path: '/auth/x', headers: { 'x-user': 'alice then guest' } })
  t.same(
    identity(),
    { 'x-consumer-id': 'guest', 'x-consumer-username': 'guest', 'x-credential-identifier': 'cred-of-guest' },
    'and removes what the new one lacks',
  )
})

async function issuesFor(config: GatewayConfig, plugins = [who]) {
  const err = await createGateway(config, { plugins, logger: false }).then(
    async (gw) => {
      await gw.close()
      return undefined
    },
    (e: unknown) => e,
  )
  if (!(err instanceof ConfigError)) throw new Error(`expected a ConfigError, got ${String(err)}`)
  return err.issues
}

t.test('consumers are checked at load, naming the field', async (t) => {
  t.same(await issuesFor({ consumers: [{ id: 'x', username: 'a' }, { username: 'a' }] }), [
    { pointer: '/consumers/1/username', message: 'duplicate consumer id or username "a"' },
  ])
  t.same(await issuesFor({ consumers: [{ username: 'a' }, { id: 'a', username: 'b' }] }), [
    { pointer: '/consumers/1/id', message: 'duplicate consumer id or username "a"' },
  ])
  t.match(
    await issuesFor({ consumers: [{ username: 'a\r\nx-admin: 1', customId: 'ok', groups: ['g', 'x\ny'] }] }),
    [
      { pointer: '/consumers/0/username', message: /printable/ },
      { pointer: '/consumers/0/groups/1', message: /printable/ },
    ],
  )
  t.same(await issuesFor({ consumers: [{ username: 'a', groups: ['x,y'] }] }), [
    {
      pointer: '/consumers/0/groups/0',
      message: 'a group name cannot contain "," (X-Consumer-Groups is a comma-separated list)',
    },
  ])
})

t.test("a plugin's ConfigError keeps its pointers; env.consumers carry theirs", async (t) => {
  let seen: readonly ConsumerRecord[] = []
  const picky = definePlugin({
    name: 'picky',
    version: '1.0.0',
    priority: 1,
    init(_c, env) {
      seen = env.consumers
      throw new ConfigError([
        { pointer: '/config/level', message: 'too high' },
        { pointer: `${env.consumers[0]!.pointer}/credentials/picky/0/secret`, message: 'too short' },
      ])
    },
  })
  const issues = await issuesFor(
    {
      consumers: [{ username: 'a', credentials: { picky: [{ secret: 'x' }] } }],
      plugins: [{ name: 'picky', config: {} }],
    },
    [picky],
  )
  t.same(issues, [
    { pointer: '/plugins/0/config/level', plugin: 'picky', message: 'too high' },
    { pointer: '/consumers/0/credentials/picky/0/secret', plugin: 'picky', message: 'too short' },
  ])
  t.equal(seen[0]!.pointer, '/consumers/0')
})

t.test(
  'instances are re-created on reload when consumers change, and get their own config copy',
  async (t) => {
    const inits: string[] = []
    const counting = definePlugin({
      name: 'counting',
      version: '1.0.0',
      priority: 1,
      schema: Type.Object({ n: Type.Number({ default: 1 }) }),
      init(config, env) {
        inits.push(`${config.n}:${env.consumers.map((c) => c.id).join(',')}`)
        return {}
      },
    })
    const shared = {}
    const base = (names: string[]): GatewayConfig => ({
      consumers: names.map((username) => ({ username })),
      plugins: [{ name: 'counting', config: shared }],
    })
    const gw = await createGateway(base(['a']), { plugins: [counting], logger: false })
    t.teardown(() => gw.close())
    await gw.reload(base(['a']))
    t.same(inits, ['1:a'], 'unchanged: the instance is reused')
    await gw.reload(base(['a', 'b']))
    t.same(inits, ['1:a', '1:a,b'], 'a new consumer: a new instance')
    t.same(shared, {}, "the caller's config object is not filled with defaults")
  },
)
