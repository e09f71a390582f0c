import { writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startGateway } from '@gatehousejs/sdk/testing'
import { generate } from 'selfsigned'
import t, { type Test } from 'tap'
import grpc from '../src/index.js'
import { PROTO, startUsersServer } from './helpers/users-server.js'

/** A CA, and a certificate it signs for 127.0.0.1 (EC keys: made in milliseconds). */
async function makeCerts() {
  const ca = await generate([{ name: 'commonName', value: 'Gatehouse gRPC Test CA' }], {
    keyType: 'ec',
    algorithm: 'sha256',
    extensions: [
      { name: 'basicConstraints', cA: true, critical: true },
      { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
    ],
  })
  const server = await generate([{ name: 'commonName', value: '127.0.0.1' }], {
    keyType: 'ec',
    algorithm: 'sha256',
    ca: { cert: ca.cert, key: ca.private },
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
      { name: 'extKeyUsage', serverAuth: true },
      { name: 'subjectAltName', altNames: [{ type: 7, ip: '127.0.0.1' }] },
    ],
  })
  const caFile = join(tmpdir(), `gatehouse-grpc-ca-${process.pid}.pem`)
  writeFileSync(caFile, ca.cert)
  return { caFile, tls: { cert: server.cert, key: server.private } }
}

async function gatewayFor(t: Test, url: string, extra: Record<string, unknown>) {
  return startGateway({
    t,
    plugins: [grpc],
    config: {
      services: [
        {
          name: 'users',
          url,
          routes: [{ name: 'v1', paths: ['/v1'] }],
          plugins: [
            {
              name: 'grpc',
              config: {
                proto: PROTO,
                service: 'demo.users.v1.Users',
                timeout: '5s',
                rules: [{ rpc: 'GetUser', method: 'GET', path: '/v1/users/{id}' }],
                ...extra,
              },
            },
          ],
        },
      ],
    },
  })
}

t.test('an https service url is gRPC over TLS, verified against caFile', async (t) => {
  const { caFile, tls } = await makeCerts()
  const server = await startUsersServer(t, tls)
  t.match(server.target, /^https:/)
  const gw = await gatewayFor(t, server.target, { caFile })
  const res = await gw.request({ path: '/v1/users/5' })
  t.equal(res.status, 200)
  t.equal(res.json().id, '5')
  t.equal(server.calls.length, 1)
})

t.test('a certificate the client does not trust: 503 GH_GRPC_UNAVAILABLE, nothing called', async (t) => {
  const { tls } = await makeCerts()
  const server = await startUsersServer(t, tls)
  const gw = await gatewayFor(t, server.target, {})
  const res = await gw.request({ path: '/v1/users/5' })
  t.equal(res.status, 503)
  t.equal(res.json().code, 'GH_GRPC_UNAVAILABLE')
  t.equal(server.calls.length, 0)
})
