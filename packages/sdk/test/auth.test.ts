import {
  type AccessContext,
  AnonymousField,
  ConfigError,
  type Consumer,
  type ConsumerRecord,
  type Credential,
  createAuthGuard,
  credentialIssue,
  credentialsOf,
  findConsumer,
  GatehouseError,
  type PluginEnv,
  pointerSegment,
  publicConsumer,
  type SetConsumerOptions,
  Type,
} from '@gatehousejs/sdk'
import t from 'tap'

/** auth.ts: the contract auth plugins share (AND without `anonymous`, OR with it). */

const alice: ConsumerRecord = Object.freeze({
  id: 'alice',
  username: 'alice@example.com',
  customId: 'c-1',
  groups: ['admins'],
  credentials: { 'key-auth': [{ key: 'secret-key-1' }, { key: 'k2', id: 'second' }] },
  pointer: '/consumers/0',
})
const guest: ConsumerRecord = Object.freeze({
  id: 'guest',
  username: 'anonymous-user',
  customId: undefined,
  groups: [],
  credentials: {},
  pointer: '/consumers/1',
})
const bob: ConsumerRecord = Object.freeze({
  id: 'bob',
  username: undefined,
  customId: undefined,
  groups: [],
  credentials: { 'key-auth': [{ key: 3 }, { key: 'ok', extra: true }], 'basic-auth': [{ username: 'b' }] },
  pointer: '/consumers/2',
})

function env(consumers: ConsumerRecord[] = [alice, guest, bob]): PluginEnv {
  const log = { trace() {}, debug() {}, info() {}, warn() {}, error() {}, fatal() {}, child: () => log }
  return { log, instance: { id: 'x', scope: {} }, consumers }
}

/** The part of an access context the guard uses, recording each setConsumer call. */
function fakeCtx() {
  const calls: { consumer: Consumer; credential?: Credential; options?: SetConsumerOptions }[] = []
  const ctx = {
    consumer: undefined as Consumer | undefined,
    credential: undefined as Credential | undefined,
    anonymous: false,
    setConsumer(consumer: Consumer, credential?: Credential, options?: SetConsumerOptions) {
      calls.push({ consumer, credential, options })
      ctx.consumer = consumer
      ctx.credential = credential
      ctx.anonymous = options?.anonymous === true
    },
  }
  return { ctx: ctx as unknown as AccessContext & typeof ctx, calls }
}

const denied = () => new GatehouseError('GH_TEST_DENIED', 401, 'no')

t.test('AnonymousField is an optional non-empty string', async (t) => {
  const schema = Type.Object({ anonymous: AnonymousField })
  t.equal(schema.required, undefined, 'not required')
  const field = schema.properties.anonymous as unknown as Record<string, unknown>
  t.equal(field.type, 'string')
  t.equal(field.minLength, 1)
  t.match(field.description, /consumer/)
})

t.test('without anonymous: fail throws (AND), success sets a consumer without credentials', async (t) => {
  const guard = createAuthGuard(env(), { plugin: 'key-auth' })
  t.equal(guard.anonymous, undefined)
  const { ctx, calls } = fakeCtx()
  t.equal(guard.skip(ctx), false)
  const err = denied()
  t.throws(() => guard.fail(ctx, err), err, 'the plugin error is thrown as is')
  t.equal(ctx.consumer, undefined)

  guard.success(ctx, alice, { id: 'cred-1', plugin: 'key-auth' })
  t.equal(calls.length, 1)
  t.same(ctx.consumer, { id: 'alice', username: 'alice@example.com', customId: 'c-1', groups: ['admins'] })
  t.notOk('credentials' in ctx.consumer!, 'credentials never reach ctx.consumer')
  t.ok(Object.isFrozen(ctx.consumer))
  t.same(ctx.credential, { id: 'cred-1', plugin: 'key-auth' })
  t.equal(ctx.anonymous, false)
  t.equal(guard.skip(ctx), false, 'without anonymous, a second plugin still checks (AND)')
  t.throws(() => guard.fail(ctx, err), err, 'and still fails the request')
})

t.test('with anonymous: fail goes on as the anonymous consumer, skip once a real one is known', async (t) => {
  const guard = createAuthGuard(env(), { plugin: 'key-auth', anonymous: 'anonymous-user' })
  t.same(guard.anonymous, { id: 'guest', username: 'anonymous-user', customId: undefined, groups: [] })
  const { ctx, calls } = fakeCtx()
  t.equal(guard.skip(ctx), false, 'nothing known yet: check')
  guard.fail(ctx, denied())
  t.equal(ctx.consumer?.id, 'guest')
  t.equal(ctx.credential, undefined)
  t.equal(ctx.anonymous, true)
  t.same(calls[0]!.options, { anonymous: true })

  t.equal(guard.skip(ctx), false, 'the anonymous consumer does not stop a later auth plugin')
  guard.fail(ctx, denied())
  t.equal(calls.length, 1, 'a second failure keeps the consumer already set')

  guard.success(ctx, alice, { id: 'cred-1', plugin: 'basic-auth' })
  t.equal(ctx.consumer?.id, 'alice', 'a later success replaces the anonymous consumer')
  t.equal(ctx.anonymous, false)
  t.equal(guard.skip(ctx), true, 'a real consumer is known: the next plugin with anonymous skips (OR)')

  const other = fakeCtx()
  guard.success(other.ctx, alice, { id: 'c', plugin: 'key-auth' })
  guard.fail(other.ctx, denied())
  t.equal(other.ctx.consumer?.id, 'alice', 'a failure never replaces a real consumer')
})

t.test('anonymous is found by id or username, and refused when it names no consumer', async (t) => {
  t.equal(createAuthGuard(env(), { plugin: 'p', anonymous: 'guest' }).anonymous?.id, 'guest')
  t.equal(findConsumer([alice, guest], 'alice@example.com'), alice)
  t.equal(findConsumer([alice, guest], 'nobody'), undefined)
  const err = t.throws(() =>
    createAuthGuard(env(), { plugin: 'key-auth', anonymous: 'nobody' }),
  ) as ConfigError
  t.type(err, ConfigError)
  t.same(err.issues, [
    { pointer: '/config/anonymous', plugin: 'key-auth', message: 'no consumer with id or username "nobody"' },
  ])
})

t.test('publicConsumer strips credentials once per record and keeps plain consumers', async (t) => {
  const view = publicConsumer(alice)
  t.equal(publicConsumer(alice), view, 'cached')
  t.notOk('credentials' in view)
  const plain: Consumer = { id: 'x', username: undefined, customId: undefined, groups: [] }
  t.equal(publicConsumer(plain), plain)
})

t.test('credentialsOf lists entries with pointers and validates them', async (t) => {
  const all = credentialsOf(env([alice]), 'key-auth')
  t.same(
    all.map((e) => [e.consumer.id, e.pointer, e.credential]),
    [
      ['alice', '/consumers/0/credentials/key-auth/0', { key: 'secret-key-1' }],
      ['alice', '/consumers/0/credentials/key-auth/1', { key: 'k2', id: 'second' }],
    ],
  )
  t.same(credentialsOf(env(), 'jwt'), [], 'no credentials for this plugin')

  const schema = Type.Object(
    { key: Type.String({ minLength: 1 }), id: Type.Optional(Type.String()) },
    { additionalProperties: false },
  )
  const err = t.throws(() => credentialsOf(env(), 'key-auth', schema)) as ConfigError
  t.type(err, ConfigError)
  t.match(err.issues, [
    { pointer: '/consumers/2/credentials/key-auth/0/key', plugin: 'key-auth', message: /string/ },
    { pointer: '/consumers/2/credentials/key-auth/1', plugin: 'key-auth', message: /additional.*extra/ },
  ])
  t.equal(err.issues.length, 2, 'one issue per problem')

  const entry = credentialsOf(env([alice]), 'key-auth', schema)[1]!
  t.same(credentialIssue(entry, 'key', 'key-auth', 'duplicate'), {
    pointer: '/consumers/0/credentials/key-auth/1/key',
    plugin: 'key-auth',
    message: 'duplicate',
  })
  t.equal(credentialIssue(entry, undefined, 'key-auth', 'x').pointer, '/consumers/0/credentials/key-auth/1')
})

t.test('pointers escape ~ and / (RFC 6901), and default to the consumer index', async (t) => {
  t.equal(pointerSegment('a/b~c'), 'a~1b~0c')
  t.equal(pointerSegment(3), '3')
  const { pointer: _p, ...noPointer } = alice
  const entries = credentialsOf(env([guest, noPointer as ConsumerRecord]), 'key-auth')
  t.equal(entries[0]!.pointer, '/consumers/1/credentials/key-auth/0')
})
