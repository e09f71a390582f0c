import { startGateway, startUpstream } from '@gatehousejs/sdk/testing'
import t from 'tap'

type TestLike = { teardown(fn: () => unknown): void }

import openapiValidator from '../src/index.js'

// A real gateway with the validator in front of a real upstream: what a client gets for a request
// that does not match its operation, and what reaches the upstream.

const SPEC = {
  openapi: '3.0.3',
  info: { title: 'Pets', version: '1' },
  servers: [{ url: 'https://pets.example.com/v1' }],
  paths: {
    '/pets': {
      get: {
        parameters: [
          { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 100 } },
          { name: 'tags', in: 'query', schema: { type: 'array', items: { type: 'string' } } },
          { name: 'ids', in: 'query', explode: false, schema: { type: 'array', items: { type: 'integer' } } },
          {
            name: 'filter',
            in: 'query',
            style: 'deepObject',
            schema: { type: 'object', properties: { kind: { type: 'string', enum: ['cat', 'dog'] } } },
          },
          { name: 'x-tenant', in: 'header', required: true, schema: { type: 'string', pattern: '^[a-z]+$' } },
          { name: 'session', in: 'cookie', schema: { type: 'string', minLength: 4 } },
        ],
        responses: {
          '200': {
            description: 'ok',
            content: {
              'application/json': { schema: { type: 'array', items: { $ref: '#/components/schemas/Pet' } } },
            },
          },
        },
      },
      post: {
        requestBody: {
          required: true,
          content: {
            'application/json': { schema: { $ref: '#/components/schemas/NewPet' } },
            'application/x-www-form-urlencoded': { schema: { $ref: '#/components/schemas/NewPet' } },
          },
        },
        responses: { '201': { description: 'created' } },
      },
    },
    '/pets/{petId}': {
      parameters: [{ name: 'petId', in: 'path', required: true, schema: { type: 'integer' } }],
      get: {
        responses: {
          '200': {
            description: 'ok',
            content: { 'application/json': { schema: { $ref: '#/components/schemas/Pet' } } },
          },
        },
      },
    },
    '/pets/{petId}/photos/{ids}': {
      get: {
        parameters: [
          { name: 'petId', in: 'path', required: true, schema: { type: 'integer' } },
          {
            name: 'ids',
            in: 'path',
            required: true,
            style: 'label',
            explode: true,
            schema: { type: 'array', items: { type: 'integer' }, maxItems: 3 },
          },
        ],
        responses: { '200': { description: 'ok' } },
      },
    },
  },
  components: {
    schemas: {
      NewPet: {
        type: 'object',
        required: ['name', 'age'],
        additionalProperties: false,
        properties: {
          name: { type: 'string', minLength: 1 },
          age: { type: 'integer', minimum: 0 },
          nick: { type: 'string', nullable: true },
        },
      },
      Pet: {
        type: 'object',
        required: ['id'],
        properties: { id: { type: 'integer' }, name: { type: 'string' } },
      },
    },
  },
}

async function setup(t: TestLike, config: Record<string, unknown> = {}, body = '[{"id":1}]') {
  const upstream = await startUpstream({
    t,
    handler: (_req, res) => {
      res.setHeader('content-type', 'application/json')
      res.end(body)
    },
  })
  const gw = await startGateway({
    t,
    plugins: [openapiValidator],
    config: {
      services: [
        { name: 'pets', url: upstream.url, routes: [{ name: 'all', paths: ['/'], stripPath: false }] },
      ],
      plugins: [{ name: 'openapi-validator', config: { spec: SPEC, ...config } }],
    },
  })
  return { upstream, gw }
}

t.test('a valid request passes unchanged: parameters with style/explode, JSON and form bodies', async (t) => {
  const { upstream, gw } = await setup(t)
  let res = await gw.request({
    path: '/v1/pets?limit=5&tags=a&tags=b&ids=1,2,3&filter[kind]=cat',
    headers: { 'x-tenant': 'acme', cookie: 'session=abcd' },
  })
  t.equal(res.status, 200, res.text)
  t.equal(upstream.last()?.url, '/v1/pets?limit=5&tags=a&tags=b&ids=1,2,3&filter[kind]=cat')
  res = await gw.request({
    method: 'POST',
    path: '/v1/pets',
    headers: { 'content-type': 'application/json' },
    body: '{"name":"Rex","age":3,"nick":null}',
  })
  t.equal(res.status, 200, res.text)
  t.equal(upstream.last()?.body.toString(), '{"name":"Rex","age":3,"nick":null}', 'the body as sent')
  res = await gw.request({
    method: 'POST',
    path: '/v1/pets',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: 'name=Rex&age=3',
  })
  t.equal(res.status, 200, res.text)
  t.equal(upstream.last()?.body.toString(), 'name=Rex&age=3')
  res = await gw.request({ path: '/v1/pets/42/photos/.1.2.3' })
  t.equal(res.status, 200, `label style: ${res.text}`)
  res = await gw.request({ method: 'HEAD', path: '/v1/pets/7' })
  t.equal(res.status, 200, 'HEAD is checked as the GET operation')
})

t.test('an invalid request: 400 GH_OPENAPI_REQUEST_INVALID with every problem, never proxied', async (t) => {
  const { upstream, gw } = await setup(t)
  let res = await gw.request({
    path: '/v1/pets?limit=0&ids=1,x&filter[kind]=cow',
    headers: { cookie: 'session=ab' },
  })
  t.equal(res.status, 400)
  const body = res.json()
  t.equal(body.code, 'GH_OPENAPI_REQUEST_INVALID')
  t.match(body.requestId, /.+/)
  t.same(body.problems.map((p: { in: string; name?: string }) => `${p.in}:${p.name}`).sort(), [
    'cookie:session',
    'header:x-tenant',
    'query:filter',
    'query:ids',
    'query:limit',
  ])
  t.match(
    body.problems.find((p: { name: string }) => p.name === 'x-tenant'),
    { message: 'is required' },
  )
  t.match(
    body.problems.find((p: { name: string }) => p.name === 'limit'),
    { message: /must be >= 1/ },
  )
  res = await gw.request({ path: '/v1/pets/abc' })
  t.match(res.json(), {
    code: 'GH_OPENAPI_REQUEST_INVALID',
    problems: [{ in: 'path', name: 'petId', message: /must be integer/ }],
  })
  res = await gw.request({ path: '/v1/pets/1/photos/.1.2.3.4.5' })
  t.match(res.json().problems, [{ in: 'path', name: 'ids', message: /must NOT have more than 3 items/ }])

  res = await gw.request({
    method: 'POST',
    path: '/v1/pets',
    headers: { 'content-type': 'application/json' },
    body: '{"name":"","extra":1}',
  })
  t.equal(res.status, 400)
  t.same(
    res
      .json()
      .problems.map((p: { in: string; pointer: string }) => `${p.in}:${p.pointer}`)
      .sort(),
    ['body:', 'body:/age', 'body:/name'],
  )
  res = await gw.request({
    method: 'POST',
    path: '/v1/pets',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: 'name=Rex&age=old',
  })
  t.match(res.json().problems, [{ in: 'body', pointer: '/age', message: 'must be integer' }])
  res = await gw.request({ method: 'POST', path: '/v1/pets' })
  t.match(res.json().problems, [{ in: 'body', message: 'a request body is required' }])
  res = await gw.request({
    method: 'POST',
    path: '/v1/pets',
    headers: { 'content-type': 'text/plain' },
    body: 'hi',
  })
  t.equal(res.status, 415)
  t.equal(res.json().code, 'GH_OPENAPI_UNSUPPORTED_MEDIA_TYPE')
  t.equal(upstream.requests.length, 0, 'nothing invalid reached the upstream')
})

t.test('maxProblems caps the list; unknown operations are 404/405, or pass', async (t) => {
  const { gw } = await setup(t, { maxProblems: 2 })
  let res = await gw.request({ path: '/v1/pets?limit=0&ids=x', headers: { cookie: 'session=a' } })
  t.equal(res.json().problems.length, 2)
  t.equal(res.json().more, 2)
  res = await gw.request({ path: '/v1/owners' })
  t.equal(res.status, 404)
  t.equal(res.json().code, 'GH_OPENAPI_OPERATION_NOT_FOUND')
  res = await gw.request({ method: 'DELETE', path: '/v1/pets/1' })
  t.equal(res.status, 405)
  t.equal(res.json().code, 'GH_OPENAPI_METHOD_NOT_ALLOWED')

  const open = await setup(t, { unknownOperation: 'pass' })
  res = await open.gw.request({ path: '/v1/owners' })
  t.equal(res.status, 200)
  t.equal(open.upstream.last()?.url, '/v1/owners')
})

t.test('responses: report logs and passes; enforce answers 502 GH_OPENAPI_RESPONSE_INVALID', async (t) => {
  const report = await setup(t, { responses: 'report' }, '{"name":"no id"}')
  let res = await report.gw.request({ path: '/v1/pets/1' })
  t.equal(res.status, 200, 'report-only by default')
  t.equal(res.text, '{"name":"no id"}')
  const enforce = await setup(t, { responses: 'enforce' }, '{"name":"no id"}')
  res = await enforce.gw.request({ path: '/v1/pets/1' })
  t.equal(res.status, 502)
  t.equal(res.json().code, 'GH_OPENAPI_RESPONSE_INVALID')
  const good = await setup(t, { responses: 'enforce' }, '{"id":1}')
  res = await good.gw.request({ path: '/v1/pets/1' })
  t.equal(res.status, 200)
})

t.test('a bad description is a config error at /config/spec', async (t) => {
  await t.rejects(
    startGateway({
      t,
      plugins: [openapiValidator],
      config: {
        services: [{ name: 's', url: 'http://127.0.0.1:9', routes: [{ paths: ['/'] }] }],
        plugins: [{ name: 'openapi-validator', config: { spec: '/nonexistent/openapi.yaml' } }],
      },
    }),
    { message: /\/config\/spec.*cannot read the OpenAPI description/ },
  )
  await t.rejects(
    startGateway({
      t,
      plugins: [openapiValidator],
      config: {
        services: [{ name: 's', url: 'http://127.0.0.1:9', routes: [{ paths: ['/'] }] }],
        plugins: [
          {
            name: 'openapi-validator',
            config: { spec: { swagger: '2.0', info: { title: 'x', version: '1' }, paths: {} } },
          },
        ],
      },
    }),
    { message: /OpenAPI 2\.0 is not supported/ },
  )
})
