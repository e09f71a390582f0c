import { createPrivateKey, X509Certificate } from 'node:crypto'
import { type FSWatcher, readFileSync, watch } from 'node:fs'
import { basename, dirname, resolve } from 'node:path'
import tls, { type SecureContext, type SecureContextOptions, type TLSSocket } from 'node:tls'
import type { ClientCertificate, ConfigIssue, Logger } from '@gatehousejs/sdk'
import type { GatewayConfig, TlsConfig } from '@gatehousejs/sdk/config'
import { ConfigError } from '@gatehousejs/sdk/host'
import { validateTls, validateWith } from '../config/ajv.js'

/**
 * TLS termination (docs/protocols.md): certificates from PEM text or files, chosen by SNI, swapped
 * without a restart. The server is built once with an SNICallback that reads `TlsState.current`, and
 * `server.setSecureContext` replaces the default context (clients that send no SNI), so a reload
 * touches no listening socket and in-flight connections keep the context they shook hands with.
 */

/** One configuration's certificates, read and checked, ready for the server. */
export interface LoadedTls {
  /** What `tls.createServer` / `server.setSecureContext` take: the default certificate and the policy. */
  serverOptions: SecureContextOptions & { requestCert: boolean; rejectUnauthorized: boolean }
  defaultContext: SecureContext
  exact: Map<string, SecureContext>
  /** `*.example.com` is stored under `example.com`: it matches exactly one more label. */
  wildcard: Map<string, SecureContext>
  /** Absolute paths of the files read, watched when `watch` is on. */
  files: string[]
  watch: boolean
}

/** The live TLS state of a gateway's server. */
export interface TlsState {
  current: LoadedTls
}

const PEM = /-----BEGIN [A-Z0-9 ]+-----/

/**
 * Reads and checks `config` (validating it first, so it can run before the rest of the config);
 * relative file paths are read from `baseDir` (the configuration file's folder, for the CLI):
 * every unreadable file, unparsable PEM and key that does not match its certificate is one issue
 * naming its JSON pointer. Throws a ConfigError listing them all.
 */
export function loadTls(config: TlsConfig, baseDir = process.cwd(), pointer = '/tls'): LoadedTls {
  const schemaIssues = validateWith(validateTls, config, pointer)
  if (schemaIssues.length > 0) throw new ConfigError(schemaIssues)
  const issues: ConfigIssue[] = []
  const files: string[] = []
  const read = (value: string, at: string, what: string): string | undefined => {
    if (PEM.test(value)) return value
    const path = resolve(baseDir, value)
    try {
      const text = readFileSync(path, 'utf8')
      files.push(path)
      if (!PEM.test(text)) {
        issues.push({ pointer: at, message: `${what} file ${value} holds no PEM block` })
        return undefined
      }
      return text
    } catch (err) {
      const code = (err as { code?: string }).code ?? (err as Error).message
      issues.push({ pointer: at, message: `cannot read the ${what} file ${value} (${code})` })
      return undefined
    }
  }
  const common: SecureContextOptions = {
    minVersion: config.minVersion ?? 'TLSv1.2',
    ...(config.ciphers !== undefined ? { ciphers: config.ciphers } : {}),
  }
  const mtls = config.clientCertificates
  if (mtls !== undefined) {
    const ca = read(mtls.ca, `${pointer}/clientCertificates/ca`, 'CA certificate')
    if (ca !== undefined) {
      if (parseCertificate(ca) === undefined) {
        issues.push({
          pointer: `${pointer}/clientCertificates/ca`,
          message: 'is not a valid PEM certificate',
        })
      } else common.ca = ca
    }
  }
  const exact = new Map<string, SecureContext>()
  const wildcard = new Map<string, SecureContext>()
  let first: { options: SecureContextOptions; context: SecureContext } | undefined
  config.certificates.forEach((c, i) => {
    const at = `${pointer}/certificates/${i}`
    const cert = read(c.cert, `${at}/cert`, 'certificate')
    const key = read(c.key, `${at}/key`, 'key')
    if (cert === undefined || key === undefined) return
    const x509 = parseCertificate(cert)
    if (x509 === undefined) {
      issues.push({ pointer: `${at}/cert`, message: 'is not a valid PEM certificate' })
      return
    }
    let privateKey: ReturnType<typeof createPrivateKey>
    try {
      privateKey = createPrivateKey({
        key,
        ...(c.passphrase !== undefined ? { passphrase: c.passphrase } : {}),
      })
    } catch (err) {
      issues.push({
        pointer: `${at}/key`,
        message: `is not a usable private key (${(err as Error).message})`,
      })
      return
    }
    if (!x509.checkPrivateKey(privateKey)) {
      issues.push({ pointer: `${at}/key`, message: `does not match the certificate in ${at}/cert` })
      return
    }
    const options: SecureContextOptions = {
      ...common,
      cert,
      key,
      ...(c.passphrase !== undefined ? { passphrase: c.passphrase } : {}),
    }
    let context: SecureContext
    try {
      context = tls.createSecureContext(options)
    } catch (err) {
      issues.push({ pointer: at, message: `cannot be used for TLS (${(err as Error).message})` })
      return
    }
    first ??= { options, context }
    for (const name of c.serverNames ?? namesIn(x509)) {
      const lower = name.toLowerCase()
      const map = lower.startsWith('*.') ? wildcard : exact
      const keyName = lower.startsWith('*.') ? lower.slice(2) : lower
      // The first certificate that names a host serves it, as in nginx and Kong.
      if (!map.has(keyName)) map.set(keyName, context)
    }
  })
  if (issues.length > 0 || first === undefined) throw new ConfigError(issues)
  return {
    serverOptions: {
      ...first.options,
      requestCert: mtls !== undefined,
      rejectUnauthorized: mtls !== undefined && (mtls.mode ?? 'require') === 'require',
    },
    defaultContext: first.context,
    exact,
    wildcard,
    files: [...new Set(files)],
    watch: config.watch === true,
  }
}

/** The context for an SNI name: an exact name, else a wildcard one label up, else the default. */
export function contextFor(loaded: LoadedTls, servername: string): SecureContext {
  const name = servername.toLowerCase()
  const exact = loaded.exact.get(name)
  if (exact !== undefined) return exact
  const dot = name.indexOf('.')
  if (dot > 0) {
    const wild = loaded.wildcard.get(name.slice(dot + 1))
    if (wild !== undefined) return wild
  }
  return loaded.defaultContext
}

/** Options for `https`/`http2.createSecureServer`: the default certificate plus SNI from `state`. */
export function serverTlsOptions(state: TlsState): tls.TlsOptions {
  return {
    ...state.current.serverOptions,
    SNICallback: function gatehouseSni(servername, cb) {
      cb(null, contextFor(state.current, servername))
    },
  }
}

/** Swaps in new certificates: new handshakes use them, established connections keep theirs. */
export function applyTls(server: tls.Server, state: TlsState, next: LoadedTls): void {
  state.current = next
  server.setSecureContext(next.serverOptions)
}

/**
 * Watches the directories of the certificate files (a file replaced by rename, as cert-manager and
 * certbot do, is not seen by a watch on the file itself) and calls `onChange` once per burst.
 */
export function watchCertificates(files: string[], logger: Logger, onChange: () => void): () => void {
  const byDir = new Map<string, Set<string>>()
  for (const f of files) {
    const dir = dirname(f)
    let names = byDir.get(dir)
    if (names === undefined) byDir.set(dir, (names = new Set()))
    names.add(basename(f))
  }
  let timer: NodeJS.Timeout | undefined
  const watchers: FSWatcher[] = []
  for (const [dir, names] of byDir) {
    try {
      const w = watch(dir, { persistent: false }, (_event, name) => {
        if (name !== null && !names.has(String(name))) return
        clearTimeout(timer)
        timer = setTimeout(onChange, 100)
        timer.unref()
      })
      w.on('error', (err) => logger.warn({ err, dir }, 'certificate watch failed'))
      watchers.push(w)
    } catch (err) {
      logger.warn(
        { err, dir },
        'cannot watch certificate directory; reload with gateway.reloadCertificates()',
      )
    }
  }
  return () => {
    clearTimeout(timer)
    for (const w of watchers) w.close()
  }
}

/** The identity in the certificate a client presented, or undefined when it sent none. */
export function clientCertificate(socket: TLSSocket): ClientCertificate | undefined {
  const peer = socket.getPeerCertificate()
  if (peer === null || peer === undefined || peer.fingerprint256 === undefined) return undefined
  const error = socket.authorizationError
  return {
    subject: { ...peer.subject } as Record<string, string | string[]>,
    issuer: { ...peer.issuer } as Record<string, string | string[]>,
    subjectAltName: peer.subjectaltname,
    fingerprint256: peer.fingerprint256,
    serialNumber: peer.serialNumber,
    validFrom: peer.valid_from,
    validTo: peer.valid_to,
    verified: socket.authorized === true,
    verifyError: error === null || error === undefined ? undefined : String(error),
  }
}

function parseCertificate(pem: string): X509Certificate | undefined {
  try {
    return new X509Certificate(pem)
  } catch {
    return undefined
  }
}

/** DNS names of the SAN extension, else the subject CN (RFC 6125 §6.4.4). */
function namesIn(x509: X509Certificate): string[] {
  const san = x509.subjectAltName
  if (san !== undefined) {
    const dns = san
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s.startsWith('DNS:'))
      .map((s) => s.slice(4))
    if (dns.length > 0) return dns
  }
  const cn = /(?:^|\n)CN=([^\n]+)/.exec(x509.subject)
  return cn?.[1] !== undefined ? [cn[1]] : []
}

/**
 * The certificates a start serves (`undefined` without `tls`), read before anything else is built, so
 * a bad one fails the load with its pointer. HTTP/2 is offered through ALPN, so it needs TLS.
 */
export function tlsForStart(config: GatewayConfig, baseDir: string): TlsState | undefined {
  if (config.http2 === true && config.tls === undefined) {
    throw new ConfigError([
      { pointer: '/http2', message: 'HTTP/2 is served over TLS only (ALPN): configure `tls` too' },
    ])
  }
  return config.tls === undefined ? undefined : { current: loadTls(config.tls, baseDir) }
}

/**
 * The certificates of a configuration about to be reloaded, read before anything is built. TLS and
 * HTTP/2 cannot be switched on or off by a reload: the listening server would have to change.
 */
export function tlsForReload(
  next: GatewayConfig,
  hasTls: boolean,
  hasHttp2: boolean,
  baseDir: string,
): LoadedTls | undefined {
  if ((next.tls !== undefined) !== hasTls) {
    throw new ConfigError([
      {
        pointer: '/tls',
        message: `TLS cannot be turned ${hasTls ? 'off' : 'on'} by a reload; restart the gateway`,
      },
    ])
  }
  if ((next.http2 === true) !== hasHttp2) {
    throw new ConfigError([
      {
        pointer: '/http2',
        message: `HTTP/2 cannot be turned ${hasHttp2 ? 'off' : 'on'} by a reload; restart the gateway`,
      },
    ])
  }
  return next.tls === undefined ? undefined : loadTls(next.tls, baseDir)
}

/** Relative certificate paths are read from the configuration file's folder, else the working directory. */
export function baseDirOf(file: string | undefined): string {
  return file === undefined ? process.cwd() : dirname(resolve(file))
}
