import http from 'node:http'
import { Writable } from 'node:stream'
import zlib from 'node:zlib'
import { definePlugin, PLUGIN_API_VERSION, type PluginDefinition } from '@gatehousejs/sdk'
import { configIssues, startGateway, startUpstream } from '@gatehousejs/sdk/testing'
import { pino } from 'pino'
import t from 'tap'
import { ERROR_BODY_KEYS, rawRequest, waitUntil } from './helpers/http.js'

/**
 * Mistakes a plugin author can make that the types catch at compile time (packages/sdk/test/
 * types.test-d.ts) are caught here at run time too, for plugins written in plain JavaScript: unknown
 * keys refuse the load, writes to the sent upstream request throw. Beside them, what core does when a
 * body cannot be decoded for a plugin, what `log` sees when the client went away, and the request id
 * of errors raised before a request exists.
 */

/** A definition as plain JavaScript builds it: no definePlugin, no types. */
function jsPlugin(name: string, init: () => unknown, extra: Record<string, unknown> = {}): PluginDefinition {
  return { name, version: '1.0.0', priority: 100, apiVersion: PLUGIN_API_VERSION, init, ...extra } as never
}

/** What a plain-JavaScript handler reaches for, untyped in real life. */
interface Up {
  headers: Record<string, string | string[] | undefined>
  timeouts: { read: number }
  path: string
}
interface JsContext {
  request: { headers: Record<string, string | string[] | undefined> }
  response: { headers: Record<string, string | string[] | undefined> }
  upstream: Up
}

const ROUTE = (url: string) => [{ name: 'svc', url, routes: [{ name: 'r', paths: ['/'] }] }]

function captureLogger() {
  const lines: Record<string, unknown>[] = []
  const stream = new Writable({
    write(chunk, _enc, done) {
      for (const l of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(l))
      done()
    },
  })
  return { logger: pino({ level: 'debug' }, stream), lines }
}

// ---------------------------------------------------------------------------------------------------
// 1. Unknown keys

t.test(
  'a misspelled phase handler refuses the load, naming the plugin, the key and the nearest phase',
  async (t) => {
    let closed = false
    const plugin = jsPlugin('js-auth', () => ({
      acces() {},
      response() {},
      close() {
        closed = true
      },
    }))
    const issues = await configIssues({
      plugins: [plugin],
      config: { services: ROUTE('http://127.0.0.1:9'), plugins: [{ name: 'js-auth' }] },
    })
    t.equal(issues.length, 1)
    t.match(issues[0], {
      pointer: '/plugins/0',
      plugin: 'js-auth',
      message: /init returned: "acces" is not a phase handler; the nearest is "access"/,
    })
    t.ok(closed, 'what the refused instance opened is closed')
  },
)

t.test('an unknown need and a handler that is not a function refuse the load', async (t) => {
  const plugin = jsPlugin('js-body', () => ({ needs: { requestBdy: true }, access: 'yes' }))
  const issues = await configIssues({
    plugins: [plugin],
    config: { services: ROUTE('http://127.0.0.1:9'), plugins: [{ name: 'js-body', route: 'r' }] },
  })
  t.match(issues, [
    {
      pointer: '/plugins/0',
      plugin: 'js-body',
      message: /the access handler must be a function, got string/,
    },
    {
      pointer: '/plugins/0',
      plugin: 'js-body',
      message: /needs\."requestBdy" is not a need; the nearest is "requestBody"/,
    },
  ])
})

t.test('unknown keys of a definition refuse the load; definePlugin refuses them at once', async (t) => {
  const misplaced = jsPlugin('js-flat', () => ({}), { access() {}, stackng: true })
  const issues = await configIssues({
    plugins: [misplaced],
    config: { services: ROUTE('http://127.0.0.1:9'), plugins: [{ name: 'js-flat' }] },
  })
  t.match(issues, [
    { pointer: '/plugins/0/name', plugin: 'js-flat', message: /"access" belongs in the object init returns/ },
    { pointer: '/plugins/0/name', plugin: 'js-flat', message: /"stackng" .* the nearest is "stacking"/ },
  ])
  t.throws(
    () =>
      definePlugin({
        name: 'js-define',
        version: '1.0.0',
        priority: 1,
        init: () => ({}),
        respons() {},
      } as never),
    {
      name: 'TypeError',
      message:
        /plugin "js-define": "respons" is not a key of a plugin definition; the nearest is "response", which belongs in the object init returns/,
    },
  )
})

t.test('a correct plain-JavaScript plugin still loads and runs', async (t) => {
  const upstream = await startUpstream({ t })
  const plugin = jsPlugin('js-ok', () => ({
    needs: { requestBody: true },
    access(ctx: { upstream: { headers: Record<string, string> } }) {
      ctx.upstream.headers['x-js'] = 'ok'
    },
  }))
  const gw = await startGateway({
    t,
    plugins: [plugin],
    config: { services: ROUTE(upstream.url), plugins: [{ name: 'js-ok' }] },
  })
  t.equal((await gw.request({ path: '/x' })).status, 200)
  t.equal(upstream.last()?.headers['x-js'], 'ok')
})

// ---------------------------------------------------------------------------------------------------
// 2. The upstream request is read-only once sent

t.test(
  'writing ctx.upstream in response is a 500 GH_PLUGIN_PHASE_MISUSE naming the plugin and phase',
  async (t) => {
    const upstream = await startUpstream({ t })
    const { logger, lines } = captureLogger()
    const write = {
      header: (up: Up) => {
        up.headers['x-late'] = '1'
      },
      delete: (up: Up) => {
        delete up.headers['x-request-id']
      },
      timeouts: (up: Up) => {
        up.timeouts.read = 1
      },
      path: (up: Up) => {
        up.path = '/elsewhere'
      },
    }
    const plugin = jsPlugin('late-writer', () => ({
      response(ctx: JsContext) {
        // Reads go through: the request id sent upstream, the path.
        ctx.response.headers['x-sent-id'] = ctx.upstream.headers['x-request-id']
        ctx.response.headers['x-sent-path'] = ctx.upstream.path
        const how = ctx.request.headers['x-write'] as keyof typeof write | undefined
        if (how !== undefined) write[how](ctx.upstream)
      },
    }))
    const gw = await startGateway({
      t,
      logger: logger as never,
      plugins: [plugin],
      config: { services: ROUTE(upstream.url), plugins: [{ name: 'late-writer' }] },
    })
    const read = await gw.request({ path: '/p' })
    t.equal(read.status, 200, 'reading the sent request is fine')
    t.equal(read.headers['x-sent-id'], read.headers['x-request-id'])
    t.equal(read.headers['x-sent-path'], '/p')
    for (const [how, what] of [
      ['header', 'ctx.upstream.headers.x-late'],
      ['delete', 'ctx.upstream.headers.x-request-id'],
      ['timeouts', 'ctx.upstream.timeouts.read'],
      ['path', 'ctx.upstream.path'],
    ] as const) {
      const res = await gw.request({ path: '/p', headers: { 'x-write': how } })
      t.equal(res.status, 500, `${how}: 500`)
      t.same(Object.keys(res.json()).sort(), ERROR_BODY_KEYS)
      t.equal(res.json().code, 'GH_PLUGIN_PHASE_MISUSE', `${how}: GH_PLUGIN_PHASE_MISUSE`)
      t.notMatch(res.text, /upstream/, `${how}: the client is not told internals`)
      const line = lines.find((l) => l.reqId === res.json().requestId && l.level === 50)
      t.match(line, {
        plugin: 'late-writer',
        phase: 'response',
        msg: 'plugin "late-writer" failed in response',
      })
      t.match(
        (line?.err as { message?: string } | undefined)?.message,
        `plugin "late-writer": ${what} is read-only in the response phase`,
        `${how}: the log says what was written`,
      )
    }
  },
)

t.test('writing ctx.upstream in log is refused and logged; the client already has its answer', async (t) => {
  const upstream = await startUpstream({ t })
  const { logger, lines } = captureLogger()
  const plugin = jsPlugin('late-logger', () => ({
    log(ctx: JsContext) {
      ctx.upstream.headers.cookie = 'stolen'
    },
  }))
  const gw = await startGateway({
    t,
    logger: logger as never,
    plugins: [plugin],
    config: { services: ROUTE(upstream.url), plugins: [{ name: 'late-logger' }] },
  })
  const res = await gw.request({ path: '/' })
  t.equal(res.status, 200)
  await waitUntil(() => lines.some((l) => l.msg === 'plugin "late-logger" failed in log; ignored'), 5_000)
  const line = lines.find((l) => l.msg === 'plugin "late-logger" failed in log; ignored')
  t.match(line, { plugin: 'late-logger', phase: 'log', err: { code: 'GH_PLUGIN_PHASE_MISUSE' } })
  t.match(JSON.stringify(line), /ctx\.upstream\.headers\.cookie is read-only in the log phase/)
})

// ---------------------------------------------------------------------------------------------------
// 3. What log sees when the client went away

t.test(
  'log: no response when the client left before one existed; the sent one when it left mid-body',
  async (t) => {
    const seen: Array<{ path: string; status: number | undefined; aborted: boolean }> = []
    const logPlugin = definePlugin({
      name: 'recorder',
      version: '1.0.0',
      priority: 1,
      init: () => ({
        log(ctx) {
          seen.push({ path: ctx.request.path, status: ctx.response?.status, aborted: ctx.aborted })
        },
      }),
    })
    let release: (() => void) | undefined
    const upstream = await startUpstream({
      t,
      handler(req, res) {
        if (req.url === '/slow') {
          // Never answers before the client is gone (the gateway then aborts this request).
          release = () => res.destroy()
          return
        }
        res.writeHead(200, { 'content-type': 'text/plain' })
        res.write('first part ')
        release = () => res.destroy()
      },
    })
    const gw = await startGateway({
      t,
      plugins: [logPlugin],
      config: { services: ROUTE(upstream.url), plugins: [{ name: 'recorder' }] },
    })
    const url = new URL(gw.url)

    const early = http.request({ host: url.hostname, port: url.port, path: '/slow', agent: false })
    early.on('error', () => {})
    early.end()
    await waitUntil(() => upstream.requests.some((r) => r.url === '/slow'), 5_000)
    early.destroy()
    await waitUntil(() => seen.some((s) => s.path === '/slow'), 5_000)
    t.same(
      seen.find((s) => s.path === '/slow'),
      { path: '/slow', status: undefined, aborted: true },
    )

    const midway = http.request({ host: url.hostname, port: url.port, path: '/stream', agent: false })
    midway.on('error', () => {})
    midway.on('response', (res) => {
      res.once('data', () => midway.destroy())
    })
    midway.end()
    await waitUntil(() => seen.some((s) => s.path === '/stream'), 5_000)
    t.same(
      seen.find((s) => s.path === '/stream'),
      { path: '/stream', status: 200, aborted: true },
    )
    release?.()
  },
)

// ---------------------------------------------------------------------------------------------------
// 5. A body the gateway cannot decode for a plugin

t.test(
  'a body in a coding core cannot decode is a 415 for a body-reading plugin, never "no body"',
  async (t) => {
    const upstream = await startUpstream({ t })
    const seen: unknown[] = []
    const reader = definePlugin({
      name: 'reader',
      version: '1.0.0',
      priority: 1,
      init: () => ({
        needs: { requestBody: true },
        access(ctx) {
          seen.push(ctx.request.body)
        },
      }),
    })
    const gw = await startGateway({
      t,
      plugins: [reader],
      config: {
        services: [
          {
            name: 'svc',
            url: upstream.url,
            routes: [
              { name: 'reads', paths: ['/reads'], plugins: [{ name: 'reader' }] },
              { name: 'streams', paths: ['/streams'] },
            ],
          },
        ],
      },
    })
    const json = { 'content-type': 'application/json' }
    for (const coding of ['zstd', 'gzip, br', 'compress']) {
      const res = await gw.request({
        method: 'POST',
        path: '/reads',
        headers: { ...json, 'content-encoding': coding },
        body: Buffer.from('not decodable'),
      })
      t.equal(res.status, 415, `${coding}: 415`)
      t.same(Object.keys(res.json()).sort(), ERROR_BODY_KEYS)
      t.equal(res.json().code, 'GH_REQUEST_ENCODING_UNSUPPORTED', `${coding}: the code`)
      t.match(res.json().message, `"${coding}"`)
      t.equal(
        res.headers['accept-encoding'],
        'gzip, deflate, br',
        `${coding}: RFC 9110 §12.5.3 Accept-Encoding`,
      )
    }
    t.same(seen, [], 'the plugin never ran without its body')
    t.equal(upstream.requests.length, 0, 'nothing was forwarded')

    const gz = await gw.request({
      method: 'POST',
      path: '/reads',
      headers: { ...json, 'content-encoding': 'gzip' },
      body: zlib.gzipSync('{"a":1}'),
    })
    t.equal(gz.status, 200, 'a coding core decodes still works')
    t.same(seen, [{ a: 1 }])

    const passed = await gw.request({
      method: 'POST',
      path: '/streams',
      headers: { ...json, 'content-encoding': 'zstd' },
      body: Buffer.from('opaque'),
    })
    t.equal(passed.status, 200, 'a route where no plugin reads the body streams it as it is')
    t.equal(upstream.last()?.headers['content-encoding'], 'zstd')
    t.equal(upstream.last()?.body.toString(), 'opaque')
  },
)

// ---------------------------------------------------------------------------------------------------
// 6. Errors raised before a request exists still carry a request id

t.test('parser-level errors get a generated request id, in the body and the header', async (t) => {
  const gw = await startGateway({ t, config: { services: ROUTE('http://127.0.0.1:9') } })
  const ids = new Set<string>()
  for (const [label, data] of [
    ['binary garbage', '\x00\x01\x02garbage\r\n\r\n'],
    ['a header line without a colon', 'GET /x HTTP/1.1\r\nHost: gw.test\r\nBad Header Line\r\n\r\n'],
    ['a bad percent-escape', 'GET /x/%zz HTTP/1.1\r\nHost: gw.test\r\nConnection: close\r\n\r\n'],
  ] as const) {
    const res = await rawRequest(gw.url, data)
    t.equal(res.status, 400, `${label}: 400`)
    const body = JSON.parse(res.body) as { requestId: string }
    t.match(body.requestId, /^[0-9a-f-]{36}$/, `${label}: a request id`)
    t.equal(res.headers['x-request-id'], body.requestId, `${label}: the same id in x-request-id`)
    ids.add(body.requestId)
  }
  t.equal(ids.size, 3, 'one id per error')

  const quiet = await startGateway({
    t,
    config: {
      services: ROUTE('http://127.0.0.1:9'),
      requestId: { header: 'x-trace', responseHeader: false },
    },
  })
  const res = await rawRequest(quiet.url, '\x00garbage\r\n\r\n')
  t.match(JSON.parse(res.body).requestId, /^[0-9a-f-]{36}$/, 'the body always has one')
  t.equal(res.headers['x-trace'], undefined, 'the header follows requestId.responseHeader')
})
