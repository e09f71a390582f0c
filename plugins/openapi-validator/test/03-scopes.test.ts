import jwt from '@gatehousejs/plugin-jwt'
import { startGateway, startUpstream } from '@gatehousejs/sdk/testing'
import { SignJWT } from 'jose'
import t from 'tap'
import openapiValidator from '../src/index.js'

// oauth2/openIdConnect scopes: the real jwt plugin verifies a real HS256 token (signed by jose) and
// leaves its claims in ctx.shared.jwt; the validator checks the scopes the operation's security
// requirements list: alternatives any-of, schemes of one requirement all-of, `{}` or an API key
// alternative needs none. A missing scope is 403 GH_OPENAPI_INSUFFICIENT_SCOPE with RFC 6750's
// `insufficient_scope` challenge, before any other check, and nothing reaches the upstream.

const SECRET = 'a-test-secret-of-at-least-32-bytes!!'

const SPEC = {
  openapi: '3.1.0',
  info: { title: 'Pets', version: '1' },
  security: [{ oauth: ['pets:read'] }],
  components: {
    securitySchemes: {
      oauth: {
        type: 'oauth2',
        flows: {
          clientCredentials: {
            tokenUrl: 'https://auth.example.com/token',
            scopes: { 'pets:read': '', 'pets:write': '', admin: '' },
          },
        },
      },
      oidc: {
        type: 'openIdConnect',
        openIdConnectUrl: 'https://auth.example.com/.well-known/openid-configuration',
      },
      key: { type: 'apiKey', in: 'header', name: 'x-api-key' },
    },
  },
  paths: {
    '/pets': {
      // The document's requirement: pets:read.
      get: { responses: { '200': { description: 'ok' } } },
      // Either pets:write, or admin together with the openIdConnect scheme's audit scope.
      post: {
        security: [{ oauth: ['pets:write'] }, { oauth: ['admin'], oidc: ['audit'] }],
        parameters: [{ name: 'dry', in: 'query', required: true, schema: { type: 'boolean' } }],
        responses: { '201': { description: 'created' } },
      },
    },
    '/public': { get: { security: [], responses: { '200': { description: 'ok' } } } },
    '/either': {
      get: { security: [{ key: [] }, { oauth: ['pets:read'] }], responses: { '200': { description: 'ok' } } },
    },
  },
}

function token(claims: Record<string, unknown>): Promise<string> {
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256' })
    .setIssuer('auth')
    .setExpirationTime('5m')
    .sign(new TextEncoder().encode(SECRET))
}

async function setup(t: { teardown(fn: () => unknown): void }, config: Record<string, unknown> = {}) {
  const upstream = await startUpstream({ t })
  const gw = await startGateway({
    t,
    plugins: [jwt, openapiValidator],
    config: {
      services: [{ name: 'pets', url: upstream.url, routes: [{ paths: ['/'], stripPath: false }] }],
      consumers: [
        { username: 'client', credentials: { jwt: [{ key: 'auth', algorithm: 'HS256', secret: SECRET }] } },
      ],
      plugins: [
        { name: 'jwt', config: {} },
        { name: 'openapi-validator', config: { spec: SPEC, ...config } },
      ],
    },
  })
  return { upstream, gw }
}

const bearer = (tok: string) => ({ authorization: `Bearer ${tok}` })

t.test('a token with the scopes passes; one without gets 403 with the challenge', async (t) => {
  const { upstream, gw } = await setup(t)
  const reader = await token({ scope: 'openid pets:read' })
  let res = await gw.request({ path: '/pets', headers: bearer(reader) })
  t.equal(res.status, 200, res.text)
  t.equal(upstream.requests.length, 1)

  const nobody = await token({ scope: 'openid profile' })
  res = await gw.request({ path: '/pets', headers: bearer(nobody) })
  t.equal(res.status, 403)
  t.equal(res.json().code, 'GH_OPENAPI_INSUFFICIENT_SCOPE')
  t.equal(res.headers['www-authenticate'], 'Bearer error="insufficient_scope", scope="pets:read"')

  // `scp` as an array (some providers) counts as well as `scope`.
  res = await gw.request({ path: '/pets', headers: bearer(await token({ scp: ['pets:read'] })) })
  t.equal(res.status, 200, res.text)

  // Alternatives: pets:write alone, or admin + audit; the scope check comes before the parameters'.
  res = await gw.request({ method: 'POST', path: '/pets', headers: bearer(reader) })
  t.equal(res.status, 403, 'no alternative met: 403 even though the request is also invalid')
  t.equal(res.headers['www-authenticate'], 'Bearer error="insufficient_scope", scope="pets:write"')
  res = await gw.request({ method: 'POST', path: '/pets', headers: bearer(await token({ scope: 'admin' })) })
  t.equal(res.status, 403, 'one scheme of a requirement is not enough (all-of)')
  res = await gw.request({
    method: 'POST',
    path: '/pets?dry=true',
    headers: bearer(await token({ scope: 'admin audit' })),
  })
  t.equal(res.status, 200, `the second alternative: ${res.text}`)
  res = await gw.request({
    method: 'POST',
    path: '/pets?dry=true',
    headers: bearer(await token({ scope: 'pets:write' })),
  })
  t.equal(res.status, 200, 'the first alternative')
  res = await gw.request({
    method: 'POST',
    path: '/pets',
    headers: bearer(await token({ scope: 'pets:write' })),
  })
  t.equal(res.status, 400, 'with the scope, the parameters are checked next')
  t.equal(res.json().code, 'GH_OPENAPI_REQUEST_INVALID')

  // `security: []` and an alternative without scopes (an API key) need no scope.
  res = await gw.request({ path: '/public', headers: bearer(nobody) })
  t.equal(res.status, 200)
  res = await gw.request({ path: '/either', headers: bearer(nobody) })
  t.equal(res.status, 200)
  t.equal(upstream.requests.length, 6, 'refused requests never reached the upstream')
})

t.test('scopes: off leaves scopes to the token issuer', async (t) => {
  const { gw } = await setup(t, { scopes: 'off' })
  const res = await gw.request({ path: '/pets', headers: bearer(await token({ scope: 'profile' })) })
  t.equal(res.status, 200, res.text)
})
