/**
 * Encoded slashes (`%2F`, `%5C`, `%252F`) and the `escapedSlashes` policy (docs/security.md#path-confusion):
 * `reject` (the default) answers 400, `decode` decodes and routes by the decoded path, `keep` forwards
 * them. Whatever the policy, no path reaches an upstream that, decoded once and normalised (RFC 3986
 * §5.2.4) or parsed by the WHATWG URL parser, leaves the prefix of the route that sent it: the
 * property-based test at the end sends random paths through a real gateway to recording upstreams.
 */
import { definePlugin } from '@gatehousejs/sdk'
import type { GatewayConfig } from '@gatehousejs/sdk/config'
import { configIssues, startGateway, startUpstream, type TestGateway } from '@gatehousejs/sdk/testing'
import * as fc from 'fast-check'
import t, { type Test } from 'tap'
import { ERROR_BODY_KEYS, type RawResponse, rawRequest } from './helpers/http.js'

/** Sends `GET <target>` over a raw socket, so nothing normalises or re-encodes the target on the way. */
function rawGet(gw: TestGateway, target: string): Promise<RawResponse> {
  return rawRequest(gw.url, `GET ${target} HTTP/1.1\r\nHost: gw.test\r\nConnection: close\r\n\r\n`)
}

function assertError(tt: Test, res: RawResponse, status: number, code: string, label: string) {
  tt.equal(res.status, status, `${label}: ${status}`)
  let body: Record<string, unknown> = {}
  try {
    body = JSON.parse(res.body)
  } catch {}
  tt.same(Object.keys(body).sort(), ERROR_BODY_KEYS, `${label}: an error body`)
  tt.equal(body.code, code, `${label}: ${code}`)
}

t.test('the walk out of a prefix through an encoded slash is refused: nothing is forwarded', async (t) => {
  const up = await startUpstream({ t })
  const gw = await startGateway({
    t,
    config: {
      services: [{ name: 'files', url: up.url, routes: [{ paths: ['/public'], stripPath: false }] }],
    },
  })
  for (const target of [
    '/public/..%2fadmin',
    '/public/..%2Fadmin',
    '/public/%2e%2e%2fadmin',
    '/public/%2E%2E%2Fadmin',
    '/public/.%2e%2fadmin',
    '/public/..%5cadmin',
    '/public/..%252fadmin',
    '/public/%252e%252e/admin',
    '/public/%25252e%25252e/admin',
    '/public/..;/admin',
    '/public/.;/admin',
    '/public/x/..%2f..%2fadmin',
  ]) {
    assertError(t, await rawGet(gw, target), 400, 'GH_REQUEST_PATH_INVALID', target)
  }
  t.equal(up.requests.length, 0, 'the upstream received nothing')
})

t.test('escapedSlashes: reject (the default) answers 400 GH_REQUEST_PATH_ESCAPED_SLASH', async (t) => {
  const up = await startUpstream({ t })
  const gw = await startGateway({
    t,
    config: { services: [{ name: 'files', url: up.url, routes: [{ paths: ['/files'] }] }] },
  })
  for (const target of ['/files/a%2Fb', '/files/a%2fb', '/files/a%5Cb', '/files/a%5cb', '/files/a%252Fb']) {
    assertError(t, await rawGet(gw, target), 400, 'GH_REQUEST_PATH_ESCAPED_SLASH', target)
  }
  // A path that matches no route falls under the global policy too.
  assertError(t, await rawGet(gw, '/files%2Fx'), 400, 'GH_REQUEST_PATH_ESCAPED_SLASH', '/files%2Fx')
  t.equal(up.requests.length, 0, 'the upstream received nothing')
  const ok = await rawGet(gw, '/files/a%20b/100%25')
  t.equal(ok.status, 200, 'other escapes are still data')
  t.equal(up.last()?.url, '/a%20b/100%25')
})

t.test('escapedSlashes: keep forwards them (upper-case hex); a route overrides its service', async (t) => {
  const up = await startUpstream({ t })
  const gw = await startGateway({
    t,
    config: {
      escapedSlashes: 'reject',
      services: [
        {
          name: 'repos',
          url: `${up.url}/api`,
          escapedSlashes: 'keep',
          routes: [
            { name: 'projects', paths: ['/projects/:id'], rewrite: '/v4/projects/:id' },
            { name: 'strict', paths: ['/strict'], escapedSlashes: 'reject' },
          ],
        },
      ],
    },
  })
  let res = await rawGet(gw, '/projects/group%2fsub%2Fproject/issues')
  t.equal(res.status, 200)
  t.equal(up.last()?.url, '/api/v4/projects/group%2Fsub%2Fproject/issues', 'the id is one segment, as sent')
  res = await rawGet(gw, '/projects/a%5Cb')
  t.equal(res.status, 200)
  t.equal(up.last()?.url, '/api/v4/projects/a%5Cb')
  res = await rawGet(gw, '/projects/a%252Fb')
  t.equal(up.last()?.url, '/api/v4/projects/a%252Fb', 'a double-encoded slash is kept too')
  const before = up.requests.length
  assertError(t, await rawGet(gw, '/strict/a%2Fb'), 400, 'GH_REQUEST_PATH_ESCAPED_SLASH', 'route override')
  assertError(t, await rawGet(gw, '/projects/..%2Fsecret'), 400, 'GH_REQUEST_PATH_INVALID', 'keep: ..%2F')
  t.equal(up.requests.length, before, 'neither reached the upstream')
})

t.test('escapedSlashes: decode routes by the decoded path and forwards it', async (t) => {
  const v1 = await startUpstream({ t })
  const admin = await startUpstream({ t })
  const gw = await startGateway({
    t,
    config: {
      escapedSlashes: 'decode',
      services: [
        { name: 'v1', url: v1.url, routes: [{ paths: ['/v1'], stripPath: false }] },
        { name: 'admin', url: admin.url, routes: [{ paths: ['/v1/admin'], stripPath: false }] },
      ],
    },
  })
  let res = await rawGet(gw, '/v1/a%2Fb%5Cc')
  t.equal(res.status, 200)
  t.equal(v1.last()?.url, '/v1/a/b/c', '%2F and %5C are decoded to /')
  // Matched first as one segment under /v1, it is the admin route's path once decoded.
  res = await rawGet(gw, '/v1/admin%2Fusers')
  t.equal(res.status, 200)
  t.equal(admin.last()?.url, '/v1/admin/users', 'the admin route got it, with its own plugins')
  t.equal(v1.requests.length, 1, 'the /v1 route never saw it')
  res = await rawGet(gw, '/v1%2Fadmin%2Fx')
  t.equal(admin.last()?.url, '/v1/admin/x', 'a path that matched no route is decoded by the global policy')
  res = await rawGet(gw, '/v1/a%252Fb')
  t.equal(v1.last()?.url, '/v1/a%252Fb', 'decode removes one layer only: %252F stays data')
})

t.test('a plugin may not build an upstream path that hides a dot segment', async (t) => {
  const up = await startUpstream({ t })
  const gw = await startGateway({
    t,
    plugins: [
      definePlugin({
        name: 'path-from-header',
        version: '1.0.0',
        priority: 1000,
        init: () => ({
          access(ctx) {
            ctx.upstream.path = `/files/${String(ctx.request.headers['x-dir'])}/list`
          },
        }),
      }),
    ],
    config: {
      services: [
        { name: 's', url: up.url, routes: [{ paths: ['/api'], plugins: [{ name: 'path-from-header' }] }] },
      ],
    },
  })
  for (const dir of ['..%2F..%2Fadmin', '%2e%2e', '..', 'a/../..', '..;', '%252e%252e', 'a\\..\\b']) {
    const res = await gw.request({ path: '/api', headers: { 'x-dir': dir } })
    t.equal(res.status, 400, `x-dir: ${dir}`)
    t.equal(res.json().code, 'GH_REQUEST_PATH_INVALID', `x-dir: ${dir}`)
  }
  t.equal(up.requests.length, 0, 'nothing was sent')
  const res = await gw.request({ path: '/api', headers: { 'x-dir': 'a%2Fb' } })
  t.equal(res.status, 200)
  t.equal(up.last()?.url, '/files/a%2Fb/list', 'a plain encoded slash chosen by a plugin is sent')
})

t.test('escapedSlashes is validated wherever it is set', async (t) => {
  const issues = await configIssues({
    config: {
      escapedSlashes: 'allow',
      services: [
        { name: 's', url: 'http://127.0.0.1:1', escapedSlashes: 1, routes: [{ escapedSlashes: 'drop' }] },
      ],
    } as unknown as GatewayConfig,
  })
  const pointers = issues.map((i) => i.pointer)
  for (const p of ['/escapedSlashes', '/services/0/escapedSlashes', '/services/0/routes/0/escapedSlashes'])
    t.ok(pointers.includes(p), `an issue at ${p}`)
})

// ---------------------------------------------------------------------------------------------------
// The property: whatever the path and the policy, what an upstream receives stays under the prefix.

/** RFC 3986 §5.2.4 remove_dot_segments, written from the RFC's steps (independent of core's code). */
function removeDotSegments(input: string): string {
  let inp = input
  let out = ''
  while (inp.length > 0) {
    if (inp.startsWith('../')) inp = inp.slice(3)
    else if (inp.startsWith('./')) inp = inp.slice(2)
    else if (inp.startsWith('/./')) inp = inp.slice(2)
    else if (inp === '/.') inp = '/'
    else if (inp.startsWith('/../') || inp === '/..') {
      inp = inp === '/..' ? '/' : inp.slice(3)
      const cut = out.lastIndexOf('/')
      out = cut >= 0 ? out.slice(0, cut) : ''
    } else if (inp === '.' || inp === '..') inp = ''
    else {
      const next = inp.indexOf('/', 1)
      const seg = next < 0 ? inp : inp.slice(0, next)
      out += seg
      inp = inp.slice(seg.length)
    }
  }
  return out
}

/** One round of percent-decoding, byte-wise, as an upstream that decodes once would. */
function decodeOnce(s: string): string {
  return s.replace(/%([0-9A-Fa-f]{2})/g, (_, h: string) => String.fromCharCode(Number.parseInt(h, 16)))
}

function under(path: string, prefix: string): boolean {
  return path === prefix || path.startsWith(`${prefix}/`)
}

/** Every reading of `forwarded` an upstream could make, each of which must stay under `prefix`. */
function readings(forwarded: string): Record<string, string> {
  const once = decodeOnce(forwarded)
  return {
    'decoded once + RFC 3986 §5.2.4': removeDotSegments(once),
    'decoded once, \\ as /, + RFC 3986 §5.2.4': removeDotSegments(once.replaceAll('\\', '/')),
    'WHATWG URL': new URL(forwarded, 'http://upstream.test').pathname,
    'decoded once + WHATWG URL': new URL(once, 'http://upstream.test').pathname,
  }
}

t.test('property: no forwarded path leaves its prefix, under any policy (fast-check)', async (t) => {
  // One recording upstream per route, so the upstream that received a request names the route.
  const ups = {
    keep: await startUpstream({ t }),
    decode: await startUpstream({ t }),
    reject: await startUpstream({ t }),
    based: await startUpstream({ t }),
  }
  const gw = await startGateway({
    t,
    config: {
      services: [
        {
          name: 'keep',
          url: ups.keep.url,
          routes: [{ paths: ['/keep'], stripPath: false, escapedSlashes: 'keep' }],
        },
        {
          name: 'decode',
          url: ups.decode.url,
          routes: [{ paths: ['/decode'], stripPath: false, escapedSlashes: 'decode' }],
        },
        { name: 'reject', url: ups.reject.url, routes: [{ paths: ['/reject'], stripPath: false }] },
        // Prefix stripped, base path added: the upstream prefix is /base.
        {
          name: 'based',
          url: `${ups.based.url}/base`,
          escapedSlashes: 'keep',
          routes: [{ paths: ['/based'] }],
        },
      ],
    },
  })
  const prefixes = { keep: '/keep', decode: '/decode', reject: '/reject', based: '/base' } as const
  const token = fc.constantFrom(
    'a',
    'secret',
    '.',
    '..',
    '%2e',
    '%2E',
    '%2e%2e',
    '%2f',
    '%2F',
    '%5c',
    '%5C',
    '%25',
    '%252f',
    '%252e',
    '%255c',
    '\\',
    '\0',
    '%00',
    ';',
    '/',
  )
  const routeName = fc.constantFrom('keep', 'decode', 'reject', 'based')
  let forwarded = 0
  let refused = 0
  await fc.assert(
    fc.asyncProperty(routeName, fc.array(token, { minLength: 1, maxLength: 10 }), async (name, tokens) => {
      const target = `/${name}/${tokens.join('')}`
      const before = Object.fromEntries(Object.entries(ups).map(([k, u]) => [k, u.requests.length]))
      const res = await rawGet(gw, target)
      const reached = Object.entries(ups).filter(([k, u]) => u.requests.length > before[k]!)
      if (reached.length === 0) {
        // Not forwarded: then the gateway itself answered with a 4xx.
        if (res.status < 400 || res.status > 499) throw new Error(`${target}: ${res.status}, not forwarded`)
        refused++
        return
      }
      if (reached.length > 1) throw new Error(`${target}: reached ${reached.map(([k]) => k)}`)
      const [which, up] = reached[0]!
      const url = up.last()!.url
      const prefix = prefixes[which as keyof typeof prefixes]
      for (const [how, path] of Object.entries(readings(url))) {
        if (!under(path, prefix)) throw new Error(`${target} → ${which} got ${url}; ${how}: ${path}`)
      }
      forwarded++
    }),
    {
      numRuns: 400,
      // The issue's own examples run first, every time.
      examples: [
        ['keep', ['..', '%2f', 'secret']],
        ['keep', ['%2e%2e', '%2f', 'secret']],
        ['based', ['..', '%2F', '..', '%2F', 'secret']],
        ['decode', ['a', '%2f', '..', '%2f', '..', '%2f', 'secret']],
        ['keep', ['%252e', '%252e', '/', 'secret']],
      ],
    },
  )
  t.ok(forwarded > 20, `many random paths were forwarded (${forwarded}) and checked`)
  t.ok(refused > 20, `many were refused with a 4xx (${refused})`)
})
