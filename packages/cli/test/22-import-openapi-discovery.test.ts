/**
 * `gatehouse import openapi` discovers the keys of `openIdConnect` and `oauth2` schemes: it fetches the
 * OpenID configuration (or the RFC 8414 authorization-server metadata found from an OAuth2 flow's
 * token URL), writes the issuer's `jwks_uri` and issuer into the jwt plugin, and the gateway started
 * from the output accepts a token the issuer signed and refuses any other. The issuers are real HTTP
 * servers on loopback; the tokens are signed by jose.
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { createGateway } from '@gatehousejs/core'
import { exportJWK, generateKeyPair, SignJWT } from 'jose'
import t from 'tap'
import { parse } from 'yaml'
import { main } from '../src/cli.js'
import { prepareFile } from '../src/gateway-file.js'
import { tempDir } from './helpers/cli.js'

type Teardown = { teardown(fn: () => unknown): void }

async function listen(t: Teardown, server: Server): Promise<string> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  t.teardown(() => new Promise<void>((r) => server.close(() => r())))
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}

/** An authorization server: its metadata at `metadataPath`, its public key at /jwks; counts requests. */
async function issuer(t: Teardown, metadataPath: string) {
  const { publicKey, privateKey } = await generateKeyPair('RS256')
  const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' }
  const seen: string[] = []
  let base = ''
  const server = createServer((req, res) => {
    seen.push(req.url ?? '')
    res.setHeader('content-type', 'application/json')
    if (req.url === metadataPath)
      res.end(JSON.stringify({ issuer: base, jwks_uri: `${base}/jwks`, token_endpoint: `${base}/token` }))
    else if (req.url === '/jwks') res.end(JSON.stringify({ keys: [jwk] }))
    else {
      res.statusCode = 404
      res.end('{}')
    }
  })
  base = await listen(t, server)
  const sign = (iss = base, key = privateKey) =>
    new SignJWT({ scope: 'read' })
      .setProtectedHeader({ alg: 'RS256', kid: 'k1' })
      .setIssuer(iss)
      .setSubject('someone')
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(key)
  return { base, seen, sign }
}

async function recordingUpstream(t: Teardown) {
  const seen: { method: string; url: string; authorization: string | undefined }[] = []
  const server = createServer((req, res) => {
    seen.push({ method: req.method ?? '', url: req.url ?? '', authorization: req.headers.authorization })
    req.resume()
    res.setHeader('content-type', 'application/json')
    res.end('{}')
  })
  return { url: await listen(t, server), seen }
}

async function cli(args: string[]) {
  const lines = { out: [] as string[], err: [] as string[] }
  const out = {
    log: (...a: unknown[]) => lines.out.push(a.join(' ')),
    error: (...a: unknown[]) => lines.err.push(a.join(' ')),
  } as unknown as Console
  const code = await main(args, out)
  return { code, stdout: lines.out.join('\n'), stderr: lines.err.join('\n') }
}

t.test(
  'openIdConnect and oauth2 schemes: keys discovered at import, tokens checked at the gateway',
  async (t) => {
    const oidc = await issuer(t, '/.well-known/openid-configuration')
    const oauth = await issuer(t, '/.well-known/oauth-authorization-server')
    const upstream = await recordingUpstream(t)
    const dir = tempDir(t)
    const spec = join(dir, 'spec.json')
    writeFileSync(
      spec,
      JSON.stringify({
        openapi: '3.1.0',
        info: { title: 'discovery', version: '1' },
        paths: {
          '/profile': {
            get: {
              operationId: 'profile',
              security: [{ login: [] }],
              responses: { 200: { description: 'ok' } },
            },
          },
          '/reports': {
            get: {
              operationId: 'reports',
              security: [{ machines: ['read'] }],
              responses: { 200: { description: 'ok' } },
            },
          },
        },
        components: {
          securitySchemes: {
            login: {
              type: 'openIdConnect',
              openIdConnectUrl: `${oidc.base}/.well-known/openid-configuration`,
            },
            machines: {
              type: 'oauth2',
              flows: { clientCredentials: { tokenUrl: `${oauth.base}/token`, scopes: { read: 'read' } } },
            },
          },
        },
      }),
    )
    const output = join(dir, 'gateway.yaml')
    const r = await cli(['import', 'openapi', spec, '--upstream', upstream.url, '-o', output])
    t.equal(r.code, 0, r.stderr)
    t.ok(oidc.seen.includes('/.well-known/openid-configuration'), 'the OpenID configuration was fetched')
    t.ok(
      oauth.seen.includes('/.well-known/oauth-authorization-server'),
      'the OAuth2 metadata was found from the flow token URL (RFC 8414)',
    )
    t.notMatch(r.stderr, /could not fetch/, 'no discovery warning')

    const file = parse(readFileSync(output, 'utf8'))
    const routes = file.services[0].routes as { name: string; plugins: { name: string; config: unknown }[] }[]
    const jwtOf = (name: string) => routes.find((x) => x.name === name)?.plugins.find((p) => p.name === 'jwt')
    t.match(jwtOf('profile')?.config, { jwks: [{ url: `${oidc.base}/jwks`, issuer: oidc.base }] })
    t.match(jwtOf('reports')?.config, { jwks: [{ url: `${oauth.base}/jwks`, issuer: oauth.base }] })
    t.equal((await cli(['validate', output])).code, 0, 'the output validates')

    const prepared = await prepareFile(output)
    const gateway = await createGateway(prepared.config, {
      plugins: prepared.plugins,
      logger: false,
      handleSignals: false,
    })
    t.teardown(() => gateway.close())
    const base = await gateway.listen({ port: 0, host: '127.0.0.1' })
    const get = async (path: string, token?: string) => {
      const res = await fetch(
        `${base}${path}`,
        token ? { headers: { authorization: `Bearer ${token}` } } : {},
      )
      return { status: res.status, body: (await res.json()) as { code?: string } }
    }

    for (const [path, own, other] of [
      ['/profile', oidc, oauth],
      ['/reports', oauth, oidc],
    ] as const) {
      const before = upstream.seen.length
      t.equal((await get(path)).status, 401, `${path} without a token`)
      t.equal((await get(path, await other.sign())).status, 401, `${path}: another issuer's token`)
      t.equal(
        (await get(path, await own.sign(other.base))).status,
        401,
        `${path}: the right key with another issuer claim`,
      )
      t.equal(upstream.seen.length, before, `${path}: refused tokens never reach the upstream`)
      const token = await own.sign()
      const ok = await get(path, token)
      t.equal(ok.status, 200, `${path} with a token its issuer signed`)
      t.match(upstream.seen.at(-1), { method: 'GET', url: path })
    }
  },
)

t.test('an unreachable discovery URL: a warning naming it, the import still succeeds', async (t) => {
  const gone = createServer()
  const url = await listen(t, gone)
  await new Promise<void>((r) => gone.close(() => r()))
  const dir = tempDir(t)
  const spec = join(dir, 'spec.json')
  writeFileSync(
    spec,
    JSON.stringify({
      openapi: '3.0.3',
      info: { title: 'gone', version: '1' },
      security: [{ login: [] }],
      paths: { '/me': { get: { responses: { 200: { description: 'ok' } } } } },
      components: {
        securitySchemes: {
          login: { type: 'openIdConnect', openIdConnectUrl: `${url}/.well-known/openid-configuration` },
        },
      },
    }),
  )
  const output = join(dir, 'gateway.yaml')
  const r = await cli(['import', 'openapi', spec, '--upstream', 'http://127.0.0.1:9', '-o', output])
  t.equal(r.code, 0, r.stderr)
  t.match(r.stderr, `could not fetch ${url}/.well-known/openid-configuration`)
  t.match(r.stderr, '/components/securitySchemes/login')
  const strict = await cli(['import', 'openapi', spec, '--upstream', 'http://127.0.0.1:9', '--strict'])
  t.not(strict.code, 0, '--strict turns the warning into a failure')
})
