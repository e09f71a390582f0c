/**
 * Type-level tests for the SDK's public types: phase misuse is a compile error. Not run by tap
 * (excluded as `*.test-d.ts` in package.json); checked by the root `tsc -p tsconfig.json --noEmit`.
 * Each `@ts-expect-error` fails the typecheck if the line below it stops being an error.
 */
import {
  type AccessContext,
  type Consumer,
  Duration,
  defineError,
  definePlugin,
  type PluginDefinition,
  type PluginHandlers,
  Type,
} from '@gatehousejs/sdk'
import type { GatewayConfig } from '@gatehousejs/sdk/config'
import type { TestUpstream } from '@gatehousejs/sdk/testing'

declare const consumer: Consumer

// The config type comes from the schema, with Duration() typed as the milliseconds core delivers.
export const typed = definePlugin({
  name: 'typed',
  version: '1.0.0',
  priority: 100,
  schema: Type.Object({ greeting: Type.String(), window: Duration({ default: '1m' }) }),
  init(config) {
    const greeting: string = config.greeting
    const window: number = config.window
    // @ts-expect-error the config is typed: greeting is a string
    const wrong: number = config.greeting
    void [greeting, window, wrong]
    return {}
  },
})

// What each phase may do.
export const allowed = definePlugin({
  name: 'allowed',
  version: '1.0.0',
  priority: 100,
  init() {
    return {
      needs: { requestBody: true, responseBody: true },
      rewrite(ctx) {
        ctx.request.path = '/rewritten'
        ctx.request.headers['x-rewritten'] = '1'
        ctx.respond(403, { blocked: true }, { 'x-why': 'test' })
      },
      access(ctx) {
        ctx.upstream.headers['x-tenant'] = 'acme'
        ctx.upstream.path = '/v2'
        ctx.upstream.body = { replaced: true }
        ctx.setConsumer(consumer, { id: 'key-1', plugin: 'allowed' })
        ctx.respond(401)
        const route: string = ctx.route.name
        void route
      },
      response(ctx) {
        ctx.response.status = 201
        ctx.response.headers['x-done'] = '1'
        ctx.response.body = { replaced: true }
      },
      log(ctx) {
        const status: number | undefined = ctx.response?.status
        const total: number = ctx.timings.total
        const aborted: boolean = ctx.aborted
        void [status, total, aborted]
      },
      error(ctx) {
        const code: string = ctx.error.code
        ctx.respond(503, { code })
      },
    }
  },
})

// What each phase may not do.
export const misuse = definePlugin({
  name: 'misuse',
  version: '1.0.0',
  priority: 100,
  init() {
    return {
      rewrite(ctx) {
        // @ts-expect-error no upstream request exists before routing
        void ctx.upstream
        // @ts-expect-error the consumer is set in access, after routing
        ctx.setConsumer(consumer)
        // @ts-expect-error there is no route yet
        void ctx.route.name
      },
      access(ctx) {
        // @ts-expect-error the request is read-only once routed: change ctx.upstream instead
        ctx.request.path = '/elsewhere'
        // @ts-expect-error there is no response yet
        void ctx.response
        // @ts-expect-error the target comes from the configuration
        ctx.upstream.target = 'http://evil.example'
      },
      response(ctx) {
        // @ts-expect-error respond() is for rewrite, access and error: set ctx.response instead
        ctx.respond(200, 'sneaky')
        // @ts-expect-error the consumer is set in access
        ctx.setConsumer(consumer)
        // @ts-expect-error the upstream request was already sent
        ctx.upstream!.path = '/too-late'
        // @ts-expect-error where the response came from is a fact
        ctx.response.source = 'plugin'
      },
      log(ctx) {
        // @ts-expect-error the response is finished
        ctx.respond(500)
        // @ts-expect-error the response status was already sent
        ctx.response!.status = 500
        // @ts-expect-error the response headers were already sent
        ctx.response!.headers['x-late'] = '1'
        // @ts-expect-error the consumer is set in access
        ctx.setConsumer(consumer)
        // @ts-expect-error the upstream request was already sent
        ctx.upstream!.headers = {}
      },
      error(ctx) {
        // @ts-expect-error the consumer is set in access
        ctx.setConsumer(consumer)
        // @ts-expect-error the error is what happened
        ctx.error = defineError('GH_TEST_OTHER', 500, 'x')()
      },
    }
  },
})

// A handler for one phase cannot stand in for another's.
const respondsInAccess = (ctx: AccessContext) => ctx.respond(200)
export const swapped: PluginHandlers = {
  access: respondsInAccess,
  // @ts-expect-error a log handler receives no respond(), so an access-typed handler does not fit
  log: respondsInAccess,
}

// definePlugin's options are checked.
// @ts-expect-error priority is required
export const noPriority = definePlugin({ name: 'x', version: '1.0.0', init: () => ({}) })
// @ts-expect-error init returns the handlers object
export const badInit = definePlugin({ name: 'x', version: '1.0.0', priority: 1, init: () => 42 })

// validate and check return the issues, or nothing (sync or async); anything else is an error.
export const checking = definePlugin({
  name: 'checking',
  version: '1.0.0',
  priority: 1,
  schema: Type.Object({ from: Type.Number(), to: Type.Number() }),
  validate(config) {
    if (config.from > config.to) return [{ pointer: '/config/from', message: 'must not be after `to`' }]
  },
  async check() {},
  init: () => ({}),
})
export const checkingNothing = definePlugin({
  name: 'x',
  version: '1.0.0',
  priority: 1,
  validate() {},
  check: async () => [],
  init: () => ({}),
})
export const checkingWrong = definePlugin({
  name: 'x',
  version: '1.0.0',
  priority: 1,
  // @ts-expect-error validate returns ConfigIssue[] (or nothing), not a message
  validate: () => 'from must not be after to',
  init: () => ({}),
})

// Definitions fit where core and the test kit take them.
export const list: PluginDefinition[] = [typed, allowed, misuse]

// The config model is typed, including scope fields and `when`.
export const config: GatewayConfig = {
  services: [{ name: 'users', url: 'http://127.0.0.1:3000', routes: [{ paths: ['/users'] }] }],
  plugins: [{ name: 'typed', route: 'users.0', when: { methods: ['GET'], headers: { 'x-debug': true } } }],
}
export const badConfig: GatewayConfig = {
  // @ts-expect-error a service needs a name (and a url or targets, checked at load)
  services: [{ url: 'http://127.0.0.1:3000' }],
}

// env.dispatch: a handler's ctx is a valid `from`; the answer's body is a Buffer.
export const dispatching = definePlugin({
  name: 'dispatching',
  version: '1.0.0',
  priority: 100,
  init(_config, env) {
    return {
      async access(ctx) {
        if (env.dispatch === undefined) return
        const res = await env.dispatch({ from: ctx, route: 'users', path: '/users/1', timeout: 1_000 })
        const body: Buffer = res.body
        const status: number = res.status
        void status
        ctx.respond(200, body, { 'content-type': 'application/json' }, { asUpstream: true })
        // @ts-expect-error a path is required
        await env.dispatch({ from: ctx, route: 'users' })
      },
    }
  },
})

// ── Mistakes the SDK catches (docs/writing-a-plugin.md § Mistakes the SDK catches) ─────────────────

// 1. Unknown keys: in the definition, and in what init returns (each return, sync or async, and `needs`).
export const misspelledDefinition = definePlugin({
  name: 'x',
  version: '1.0.0',
  priority: 1,
  // @ts-expect-error "stackng" is not a key of a plugin definition (did you mean stacking?)
  stackng: true,
  init: () => ({}),
})
export const handlerOnDefinition = definePlugin({
  name: 'x',
  version: '1.0.0',
  priority: 1,
  init: () => ({}),
  // @ts-expect-error handlers belong in the object init returns
  access() {},
})
export const misspelledPhase = definePlugin({
  name: 'x',
  version: '1.0.0',
  priority: 1,
  schema: Type.Object({ header: Type.String() }),
  // @ts-expect-error init returns "acces": an auth check that would never run
  init(config) {
    return {
      acces(ctx: AccessContext) {
        if (ctx.request.headers[config.header] === undefined) ctx.respond(401)
      },
      response(ctx) {
        ctx.response.headers['x-checked'] = '1'
      },
    }
  },
})
export const misspelledAsync = definePlugin({
  name: 'x',
  version: '1.0.0',
  priority: 1,
  // @ts-expect-error an async init is checked the same way
  async init() {
    return { respons() {} }
  },
})
export const misspelledNeed = definePlugin({
  name: 'x',
  version: '1.0.0',
  priority: 1,
  // @ts-expect-error needs.responseBdy is not a need: the body would never be buffered
  init: () => ({ needs: { requestBody: true, responseBdy: true }, response() {} }),
})
export const misspelledInOneBranch = definePlugin({
  name: 'x',
  version: '1.0.0',
  priority: 1,
  schema: Type.Object({ on: Type.Boolean() }),
  // @ts-expect-error every object init can return is checked, not only the first
  init(config) {
    if (!config.on) return {}
    return { loog() {} }
  },
})
// Correct uses still compile, with the config typed from the schema and ctx typed per phase.
export const exactAndInferred = definePlugin({
  name: 'exact',
  version: '1.0.0',
  priority: 1,
  schema: Type.Object({ on: Type.Boolean(), header: Type.String() }),
  async init(config, env) {
    const on: boolean = config.on
    if (!on) return {}
    return {
      needs: { requestBody: true, pluginTimings: true },
      access(ctx) {
        ctx.upstream.headers[config.header] = env.instance.id
      },
      log(ctx) {
        void ctx.timings.total
      },
      close() {},
      admin: [{ method: 'GET', path: '/state', handler: () => ({ body: { on } }) }],
    }
  },
})
export const annotatedHandlers = definePlugin({
  name: 'annotated',
  version: '1.0.0',
  priority: 1,
  init() {
    const handlers: PluginHandlers<{ started: number }> = {
      access(ctx) {
        ctx.plugin.started = 1
      },
    }
    handlers.log = (ctx) => void ctx.plugin.started
    return handlers
  },
})
const NoConfig = Type.Object({})
export const typedState = definePlugin<typeof NoConfig, { n: number }>({
  name: 'typed-state',
  version: '1.0.0',
  priority: 1,
  init: () => ({
    access(ctx) {
      ctx.plugin.n = 1
    },
  }),
})

// 2. The upstream request is read-only, all the way down, once it was sent.
export const lateUpstream = definePlugin({
  name: 'late',
  version: '1.0.0',
  priority: 1,
  init() {
    return {
      response(ctx) {
        if (ctx.upstream) {
          const sent: string | readonly string[] | undefined = ctx.upstream.headers['x-tenant']
          const read: number = ctx.upstream.timeouts.read
          void [sent, read, ctx.upstream.path, ctx.upstream.target, ctx.upstream.body]
          // @ts-expect-error a header of the upstream request cannot change after it was sent
          ctx.upstream.headers['x-tenant'] = 'acme'
          // @ts-expect-error nor be removed
          delete ctx.upstream.headers['x-tenant']
          // @ts-expect-error nor its timeouts
          ctx.upstream.timeouts.read = 1
          // @ts-expect-error nor its body
          ctx.upstream.body = 'late'
          const many = ctx.upstream.headers['x-many']
          // @ts-expect-error nor a multi-valued header's list
          if (many !== undefined && typeof many !== 'string') many.push('late')
        }
      },
      log(ctx) {
        // @ts-expect-error in log neither
        if (ctx.upstream) ctx.upstream.headers.cookie = ''
        // @ts-expect-error nor its method
        if (ctx.upstream) ctx.upstream.method = 'POST'
      },
    }
  },
})

// 3. In log, the response may not exist: the client went away before one was made.
export const logResponse = definePlugin({
  name: 'log-response',
  version: '1.0.0',
  priority: 1,
  init() {
    return {
      log(ctx) {
        // @ts-expect-error ctx.response is undefined when the client left before any response existed
        void ctx.response.status
        const status: number | undefined = ctx.response?.status
        if (ctx.response !== undefined) {
          const source: 'upstream' | 'plugin' | 'error' = ctx.response.source
          void source
        }
        void status
      },
    }
  },
})

// 4. The test kit's recorded request: `json` is unknown unless the test says what it expects.
declare const upstream: TestUpstream
const order: number | undefined = upstream.last<{ order: number }>()?.json?.order
// @ts-expect-error without a type argument, json is unknown
const untyped: { order: number } = upstream.last()!.json
const asUnknown: unknown = upstream.last()?.json
export const recorded = [order, untyped, asUnknown]
