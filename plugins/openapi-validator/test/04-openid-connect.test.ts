import http from 'node:http'
import type { AddressInfo } from 'node:net'
import openidConnect from '@gatehousejs/plugin-openid-connect'
import { startGateway, startUpstream } from '@gatehousejs/sdk/testing'
import { exportJWK, generateKeyPair, SignJWT } from 'jose'
import t, { type Test } from 'tap'
import openapiValidator from '../src/index.js'

// `openIdConnect` security schemes: the real openid-connect plugin verifies a real RS256 access
// token against a provider's discovery document and JWKS (served over HTTP on loopback), and leaves
// the token's scopes in ctx.shared.oidc; the validator checks the scopes the operation's
// requirement lists against them. A missing scope is 403 GH_OPENAPI_INSUFFICIENT_SCOPE with RFC
// 6750's challenge, and nothing reaches the upstream.

const CLIENT = 'pets-gateway'

const SPEC = {
  openapi: '3.0.3',
  info: { title: 'Pets', version: '1' },
  components: {
    securitySchemes: {
      oidc: { type: 'openIdConnect', openIdConnectUrl: 'http://127.0.0.1/.well-known/openid-configuration' },
    },
  },
  security: [{ oidc: ['pets:read'] }],
  paths: {
    '/pets': {
      get: { responses: { '200': { description: 'ok' } } },
      delete: {
        security: [{ oidc: ['pets:write', 'pets:admin'] }],
        responses: { '204': { description: 'gone' } },
      },
    },
    '/health': { get: { security: [], responses: { '200': { description: 'ok' } } } },
  },
}

/** A provider as far as bearer mode needs one: discovery (RFC 8414) and the JWKS, on port 0. */
async function startIssuer(t: Test) {
  const { privateKey, publicKey } = await generateKeyPair('RS256')
  const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' }
  const server = http.createServer((req, res) => {
    const origin = `http://${req.headers.host}`
    res.setHeader('content-type', 'application/json')
    if (req.url === '/.well-known/openid-configuration')
      res.end(
        JSON.stringify({
          issuer: origin,
          authorization_endpoint: `${origin}/auth`,
          token_endpoint: `${origin}/token`,
          jwks_uri: `${origin}/jwks`,
          response_types_supported: ['code'],
          subject_types_supported: ['public'],
          id_token_signing_alg_values_supported: ['RS256'],
        }),
      )
    else if (req.url === '/jwks') res.end(JSON.stringify({ keys: [jwk] }))
    else {
      res.statusCode = 404
      res.end('{}')
    }
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())))
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  const sign = (scope: string) =>
    new SignJWT({ scope })
      .setProtectedHeader({ alg: 'RS256', kid: 'k1', typ: 'at+jwt' })
      .setIssuer(issuer)
      .setAudience(CLIENT)
      .setSubject('alice')
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(privateKey)
  return { issuer, sign }
}

t.test('openIdConnect scopes come from the token the openid-connect plugin verified', async (t) => {
  const { issuer, sign } = await startIssuer(t)
  const upstream = await startUpstream({ t })
  const gw = await startGateway({
    t,
    plugins: [openidConnect, openapiValidator],
    config: {
      services: [{ name: 'pets', url: upstream.url, routes: [{ paths: ['/'], stripPath: false }] }],
      plugins: [
        { name: 'openid-connect', config: { issuer, clientId: CLIENT, anonymous: 'guest' } },
        { name: 'openapi-validator', config: { spec: SPEC } },
      ],
      consumers: [{ id: 'guest' }],
    },
  })
  const bearer = async (scope: string) => ({ authorization: `Bearer ${await sign(scope)}` })

  let res = await gw.request({ path: '/pets', headers: await bearer('openid pets:read') })
  t.equal(res.status, 200, res.text)
  t.equal(upstream.last()?.headers['x-consumer-id'], 'alice', 'the openid-connect plugin ran first')

  res = await gw.request({ path: '/pets', headers: await bearer('openid profile') })
  t.equal(res.status, 403)
  t.equal(res.json().code, 'GH_OPENAPI_INSUFFICIENT_SCOPE')
  t.equal(res.headers['www-authenticate'], 'Bearer error="insufficient_scope", scope="pets:read"')

  // Both scopes of the one requirement are needed.
  res = await gw.request({ method: 'DELETE', path: '/pets', headers: await bearer('pets:write') })
  t.equal(res.status, 403)
  t.equal(res.headers['www-authenticate'], 'Bearer error="insufficient_scope", scope="pets:write pets:admin"')
  res = await gw.request({ method: 'DELETE', path: '/pets', headers: await bearer('pets:write pets:admin') })
  t.equal(res.status, 200, res.text)

  // No token: the anonymous consumer has no scopes, so the operation's requirement refuses it...
  res = await gw.request({ path: '/pets' })
  t.equal(res.status, 403)
  t.equal(res.json().code, 'GH_OPENAPI_INSUFFICIENT_SCOPE')
  // ...while `security: []` lets it through.
  res = await gw.request({ path: '/health' })
  t.equal(res.status, 200, res.text)
  t.equal(upstream.requests.length, 3, 'refused requests never reached the upstream')
})
