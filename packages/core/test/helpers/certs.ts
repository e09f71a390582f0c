/**
 * Certificates for TLS tests, made in the test: a CA, server certificates it signs (with the DNS
 * names given), and client certificates for mutual TLS. EC keys, so generation takes milliseconds.
 */
import { X509Certificate } from 'node:crypto'
import { generate } from 'selfsigned'

export interface TestCa {
  cert: string
  key: string
}

export interface TestCert {
  cert: string
  key: string
  /** SHA-256 fingerprint as Node prints it (`AB:CD:…`). */
  fingerprint256: string
}

export async function makeCa(name = 'Gatehouse Test CA'): Promise<TestCa> {
  const ca = await generate([{ name: 'commonName', value: name }], {
    keyType: 'ec',
    algorithm: 'sha256',
    extensions: [
      { name: 'basicConstraints', cA: true, critical: true },
      { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
    ],
  })
  return { cert: ca.cert, key: ca.private }
}

/** A server certificate for `names` (the first is the CN), signed by `ca`. */
export async function makeServerCert(ca: TestCa, names: string[]): Promise<TestCert> {
  const made = await generate([{ name: 'commonName', value: names[0]! }], {
    keyType: 'ec',
    algorithm: 'sha256',
    ca,
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
      { name: 'extKeyUsage', serverAuth: true },
      { name: 'subjectAltName', altNames: names.map((value) => ({ type: 2 as const, value })) },
    ],
  })
  return withFingerprint(made.cert, made.private)
}

/** A client certificate with CN `cn` and a URI SAN, signed by `ca`. */
export async function makeClientCert(ca: TestCa, cn: string): Promise<TestCert> {
  const made = await generate([{ name: 'commonName', value: cn }], {
    keyType: 'ec',
    algorithm: 'sha256',
    ca,
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true },
      { name: 'extKeyUsage', clientAuth: true },
      { name: 'subjectAltName', altNames: [{ type: 6, value: `spiffe://test/${cn}` }] },
    ],
  })
  return withFingerprint(made.cert, made.private)
}

function withFingerprint(cert: string, key: string): TestCert {
  return { cert, key, fingerprint256: new X509Certificate(cert).fingerprint256 }
}
