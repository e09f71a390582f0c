/**
 * TLS termination: certificates from files and from PEM text, chosen by SNI (exact and wildcard
 * names), TLS 1.2+ by default, certificates reloaded without a restart (reloadCertificates, reload,
 * a watched file), mutual TLS with the client's identity in `ctx.client.certificate`, and bad
 * certificates refused at load naming the field. Real certificates are made in the test.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import https from 'node:https'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import type { TLSSocket } from 'node:tls'
import { ConfigError, definePlugin } from '@gatehousejs/sdk'
import type { GatewayConfig } from '@gatehousejs/sdk/config'
import { startGateway, startUpstream } from '@gatehousejs/sdk/testing'
import t from 'tap'
import { createGateway } from '../src/index.js'
import { makeCa, makeClientCert, makeServerCert, type TestCa } from './helpers/certs.js'

interface TlsAnswer {
  status: number
  body: string
  /** The certificate the gateway presented. */
  fingerprint256: string
  protocol: string | null
}

/** One HTTPS request with the given SNI name, trusting `ca`. */
function httpsGet(
  url: string,
  opts: { servername?: string; ca: string; cert?: string; key?: string; maxVersion?: 'TLSv1.2' },
  path = '/',
): Promise<TlsAnswer> {
  const { port } = new URL(url)
  return new Promise((resolve, reject) => {
    const req = https.request(
      {
        host: '127.0.0.1',
        port: Number(port),
        path,
        ca: opts.ca,
        ...(opts.servername !== undefined
          ? { servername: opts.servername, headers: { host: opts.servername } }
          : {}),
        ...(opts.cert !== undefined ? { cert: opts.cert, key: opts.key } : {}),
        ...(opts.maxVersion !== undefined ? { maxVersion: opts.maxVersion } : {}),
        // The certificate is checked against the CA; the name by the test itself.
        checkServerIdentity: () => undefined,
        agent: false,
      },
      (res) => {
        const socket = res.socket as TLSSocket
        const fingerprint256 = socket.getPeerCertificate().fingerprint256
        const protocol = socket.getProtocol()
        let body = ''
        res.setEncoding('utf8')
        res.on('data', (c) => (body += c))
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body, fingerprint256, protocol }))
      },
    )
    req.on('error', reject)
    req.end()
  })
}

function configWith(upstreamUrl: string, tls: GatewayConfig['tls']): GatewayConfig {
  const services = [{ name: 's', url: upstreamUrl, routes: [{ paths: ['/'] }] }]
  return tls === undefined ? { services } : { tls, services }
}

async function issuesOf(config: GatewayConfig): Promise<{ pointer: string; message: string }[]> {
  try {
    const gw = await createGateway(config, { logger: false, handleSignals: false })
    await gw.close()
  } catch (err) {
    if (err instanceof ConfigError) return err.issues
    throw err
  }
  return []
}

let ca: TestCa
t.before(async () => {
  ca = await makeCa()
})

t.test('SNI picks the certificate: one from files, one from PEM text, a wildcard, a default', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'gh-tls-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const a = await makeServerCert(ca, ['a.test'])
  const b = await makeServerCert(ca, ['b.test'])
  const wild = await makeServerCert(ca, ['wild.test'])
  writeFileSync(join(dir, 'a.crt'), a.cert)
  writeFileSync(join(dir, 'a.key'), a.key)
  const upstream = await startUpstream({ t })
  const gw = await startGateway({
    t,
    createGateway,
    config: configWith(upstream.url, {
      certificates: [
        { cert: join(dir, 'a.crt'), key: join(dir, 'a.key') },
        { cert: b.cert, key: b.key },
        { cert: wild.cert, key: wild.key, serverNames: ['*.wild.test'] },
      ],
    }),
  })
  t.match(gw.url, /^https:\/\/127\.0\.0\.1:\d+$/, 'listen() reports an https address')

  const toA = await httpsGet(gw.url, { servername: 'a.test', ca: ca.cert }, '/hello')
  t.equal(toA.status, 200)
  t.equal(toA.fingerprint256, a.fingerprint256, 'a.test gets the certificate read from files')
  const seen = upstream.last()!
  t.equal(seen.url, '/hello')
  t.equal(seen.headers['x-forwarded-proto'], 'https', 'the upstream learns the client used https')

  const toB = await httpsGet(gw.url, { servername: 'b.test', ca: ca.cert })
  t.equal(toB.fingerprint256, b.fingerprint256, 'b.test gets the certificate given as PEM text')
  const toWild = await httpsGet(gw.url, { servername: 'x.wild.test', ca: ca.cert })
  t.equal(toWild.fingerprint256, wild.fingerprint256, '*.wild.test matches one more label')
  const deeper = await httpsGet(gw.url, { servername: 'y.x.wild.test', ca: ca.cert })
  t.equal(deeper.fingerprint256, a.fingerprint256, 'but not two: the first certificate is the default')
  const noSni = await httpsGet(gw.url, { ca: ca.cert })
  t.equal(noSni.fingerprint256, a.fingerprint256, 'a client with no SNI gets the first certificate')
  t.equal(noSni.status, 200)
})

t.test('TLS 1.2 is the default floor; minVersion raises it', async (t) => {
  const cert = await makeServerCert(ca, ['a.test'])
  const upstream = await startUpstream({ t })
  const gw = await startGateway({
    t,
    createGateway,
    config: configWith(upstream.url, { certificates: [{ cert: cert.cert, key: cert.key }] }),
  })
  const v12 = await httpsGet(gw.url, { servername: 'a.test', ca: ca.cert, maxVersion: 'TLSv1.2' })
  t.equal(v12.protocol, 'TLSv1.2', 'TLS 1.2 is accepted by default')
  const best = await httpsGet(gw.url, { servername: 'a.test', ca: ca.cert })
  t.equal(best.protocol, 'TLSv1.3', 'and TLS 1.3 negotiated when the client can')

  const strict = await startGateway({
    t,
    createGateway,
    config: configWith(upstream.url, {
      certificates: [{ cert: cert.cert, key: cert.key }],
      minVersion: 'TLSv1.3',
    }),
  })
  await t.rejects(
    httpsGet(strict.url, { servername: 'a.test', ca: ca.cert, maxVersion: 'TLSv1.2' }),
    'a TLS 1.2 client is refused at the handshake when minVersion is TLSv1.3',
  )
})

t.test('certificates are reloaded without a restart', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'gh-tls-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const first = await makeServerCert(ca, ['a.test'])
  const second = await makeServerCert(ca, ['a.test'])
  const third = await makeServerCert(ca, ['a.test'])
  const fourth = await makeServerCert(ca, ['a.test'])
  const certFile = join(dir, 'a.crt')
  const keyFile = join(dir, 'a.key')
  writeFileSync(certFile, first.cert)
  writeFileSync(keyFile, first.key)
  const upstream = await startUpstream({ t })
  const config = configWith(upstream.url, { certificates: [{ cert: certFile, key: keyFile }] })
  const gw = await startGateway({ t, createGateway, config })
  const gateway = gw.gateway as Awaited<ReturnType<typeof createGateway>>
  const fingerprint = async () =>
    (await httpsGet(gw.url, { servername: 'a.test', ca: ca.cert })).fingerprint256
  t.equal(await fingerprint(), first.fingerprint256)

  writeFileSync(certFile, second.cert)
  writeFileSync(keyFile, second.key)
  await gateway.reloadCertificates()
  t.equal(await fingerprint(), second.fingerprint256, 'reloadCertificates() serves the renewed files')

  // A half-written renewal (new certificate, old key) is refused and the running certificate stays.
  writeFileSync(certFile, third.cert)
  const refused = await gateway.reloadCertificates().then(
    () => undefined,
    (err: ConfigError) => err,
  )
  t.ok(refused instanceof ConfigError, 'a key that does not match is a ConfigError')
  t.equal(refused?.issues[0]?.pointer, '/tls/certificates/0/key')
  t.equal(await fingerprint(), second.fingerprint256, 'the certificate in use stays')

  await gateway.reload(configWith(upstream.url, { certificates: [{ cert: third.cert, key: third.key }] }))
  t.equal(await fingerprint(), third.fingerprint256, 'reload() with new certificates serves them')

  // With `watch`, replacing the files is enough.
  writeFileSync(certFile, second.cert)
  writeFileSync(keyFile, second.key)
  await gateway.reload(
    configWith(upstream.url, { certificates: [{ cert: certFile, key: keyFile }], watch: true }),
  )
  t.equal(await fingerprint(), second.fingerprint256)
  writeFileSync(join(dir, 'a.key.tmp'), fourth.key)
  writeFileSync(keyFile, fourth.key)
  writeFileSync(certFile, fourth.cert)
  let now = ''
  for (let i = 0; i < 50 && now !== fourth.fingerprint256; i++) {
    await sleep(100)
    now = await fingerprint()
  }
  t.equal(now, fourth.fingerprint256, 'a watched certificate file that changes is picked up')
})

t.test('mutual TLS: required, optional, and the client identity for plugins', async (t) => {
  const server = await makeServerCert(ca, ['a.test'])
  const alice = await makeClientCert(ca, 'alice')
  const otherCa = await makeCa('Someone Else')
  const mallory = await makeClientCert(otherCa, 'mallory')
  // A plugin that passes the client certificate's identity upstream, as an mTLS auth plugin would.
  const whoami = definePlugin({
    name: 'whoami',
    version: '1.0.0',
    priority: 1000,
    init() {
      return {
        access(ctx) {
          const cert = ctx.client.certificate
          ctx.upstream.headers['x-client-cert'] = cert
            ? JSON.stringify({
                cn: cert.subject.CN,
                san: cert.subjectAltName,
                fingerprint: cert.fingerprint256,
                verified: cert.verified,
              })
            : 'none'
        },
      }
    },
  })
  const upstream = await startUpstream({ t })
  const required = await startGateway({
    t,
    createGateway,
    plugins: [whoami],
    config: {
      ...configWith(upstream.url, {
        certificates: [{ cert: server.cert, key: server.key }],
        clientCertificates: { ca: ca.cert },
      }),
      plugins: [{ name: 'whoami' }],
    },
  })
  const ok = await httpsGet(required.url, {
    servername: 'a.test',
    ca: ca.cert,
    cert: alice.cert,
    key: alice.key,
  })
  t.equal(ok.status, 200)
  t.same(JSON.parse(String(upstream.last()!.headers['x-client-cert'])), {
    cn: 'alice',
    san: 'URI:spiffe://test/alice',
    fingerprint: alice.fingerprint256,
    verified: true,
  })
  const before = upstream.requests.length
  await t.rejects(
    httpsGet(required.url, { servername: 'a.test', ca: ca.cert }),
    'no client certificate: the connection is refused',
  )
  await t.rejects(
    httpsGet(required.url, { servername: 'a.test', ca: ca.cert, cert: mallory.cert, key: mallory.key }),
    'a certificate from another CA: refused',
  )
  t.equal(upstream.requests.length, before, 'nothing refused reached the upstream')

  const optional = await startGateway({
    t,
    createGateway,
    plugins: [whoami],
    config: {
      ...configWith(upstream.url, {
        certificates: [{ cert: server.cert, key: server.key }],
        clientCertificates: { ca: ca.cert, mode: 'optional' },
      }),
      plugins: [{ name: 'whoami' }],
    },
  })
  const anonymous = await httpsGet(optional.url, { servername: 'a.test', ca: ca.cert })
  t.equal(anonymous.status, 200, 'optional: a client without a certificate is served')
  t.equal(upstream.last()!.headers['x-client-cert'], 'none')
  await httpsGet(optional.url, { servername: 'a.test', ca: ca.cert, cert: mallory.cert, key: mallory.key })
  const unverified = JSON.parse(String(upstream.last()!.headers['x-client-cert']))
  t.equal(unverified.cn, 'mallory')
  t.equal(unverified.verified, false, 'optional: an unknown CA is served but marked unverified')
})

t.test('bad TLS configuration is refused at load, naming the field', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'gh-tls-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const a = await makeServerCert(ca, ['a.test'])
  const b = await makeServerCert(ca, ['b.test'])
  writeFileSync(join(dir, 'empty.pem'), 'not a certificate\n')
  const url = 'http://127.0.0.1:9'

  const missing = await issuesOf(
    configWith(url, { certificates: [{ cert: join(dir, 'nope.crt'), key: a.key }] }),
  )
  t.equal(missing[0]?.pointer, '/tls/certificates/0/cert')
  t.match(missing[0]?.message, /cannot read the certificate file .*nope\.crt \(ENOENT\)/)

  const mismatch = await issuesOf(
    configWith(url, {
      certificates: [
        { cert: a.cert, key: a.key },
        { cert: a.cert, key: b.key },
      ],
    }),
  )
  t.same(
    mismatch.map((i) => i.pointer),
    ['/tls/certificates/1/key'],
  )
  t.match(mismatch[0]?.message, /does not match the certificate/)

  const notPem = await issuesOf(
    configWith(url, { certificates: [{ cert: join(dir, 'empty.pem'), key: a.key }] }),
  )
  t.equal(notPem[0]?.pointer, '/tls/certificates/0/cert')
  t.match(notPem[0]?.message, /holds no PEM block/)

  const badCa = await issuesOf(
    configWith(url, {
      certificates: [{ cert: a.cert, key: a.key }],
      clientCertificates: { ca: join(dir, 'no-ca.pem') },
    }),
  )
  t.equal(badCa[0]?.pointer, '/tls/clientCertificates/ca')

  const schema = await issuesOf(configWith(url, { certificates: [], minVersion: 'TLSv1' as 'TLSv1.2' }))
  t.same(schema.map((i) => i.pointer).sort(), ['/tls/certificates', '/tls/minVersion'])

  const h2 = await issuesOf({ http2: true, services: [] })
  t.equal(h2[0]?.pointer, '/http2', 'HTTP/2 without TLS is refused')
})

t.test('a reload cannot switch TLS or HTTP/2 on or off', async (t) => {
  const a = await makeServerCert(ca, ['a.test'])
  const upstream = await startUpstream({ t })
  const gw = await startGateway({ t, createGateway, config: configWith(upstream.url, undefined) })
  const toTls = await gw.gateway
    .reload(configWith(upstream.url, { certificates: [{ cert: a.cert, key: a.key }] }))
    .then(
      () => undefined,
      (err: ConfigError) => err,
    )
  t.equal(toTls?.issues[0]?.pointer, '/tls')
  const toH2 = await gw.gateway.reload({ ...configWith(upstream.url, undefined), http2: true }).then(
    () => undefined,
    (err: ConfigError) => err,
  )
  t.equal(toH2?.issues[0]?.pointer, '/http2')
  t.equal((await gw.request({ path: '/' })).status, 200, 'the running configuration still serves')
})
