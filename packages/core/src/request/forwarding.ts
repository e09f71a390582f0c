import { randomUUID } from 'node:crypto'
import type { IncomingMessage } from 'node:http'
import type { TLSSocket } from 'node:tls'
import type { ClientCertificate, ClientInfo, Consumer, Credential, Headers } from '@gatehousejs/sdk'
import proxyaddr from 'proxy-addr'
import type { TrustFn } from '../config/trust.js'
import { clientCertificate } from '../server/tls.js'

/**
 * Hop-by-hop headers (RFC 9110 §7.6.1) are never forwarded, in either direction, nor any header the
 * `Connection` header names. `expect` is answered by the gateway itself; `host` is set per route.
 */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
])
/** The identity headers core sends upstream after `access`, and strips from what clients send. */
export const IDENTITY_HEADERS = [
  'x-consumer-id',
  'x-consumer-username',
  'x-consumer-custom-id',
  'x-consumer-groups',
  'x-credential-identifier',
  'x-anonymous-consumer',
] as const
const NOT_FORWARDED_UP = new Set([
  ...HOP_BY_HOP,
  'host',
  'expect',
  'forwarded',
  'x-forwarded-for',
  'x-forwarded-proto',
  'x-forwarded-host',
  'x-forwarded-port',
  'x-real-ip',
  // Identity is the gateway's to state (see identityHeaders): a client never forges it. Dropped here,
  // in the copy every request makes anyway, so routes without auth pay nothing more.
  ...IDENTITY_HEADERS,
])

function connectionListed(value: string | string[] | undefined): Set<string> | undefined {
  if (value === undefined) return undefined
  // Fast path: nearly every request says just `keep-alive` or `close`, which name no header.
  if (typeof value === 'string' && value.length <= 10) {
    const v = value.toLowerCase()
    if (v === 'keep-alive' || v === 'close') return undefined
  }
  const raw = Array.isArray(value) ? value.join(',') : value
  let set: Set<string> | undefined
  for (const token of raw.split(',')) {
    const t = token.trim().toLowerCase()
    if (t !== '' && t !== 'close' && t !== 'keep-alive') (set ??= new Set()).add(t)
  }
  return set
}

export function isTlsSocket(req: IncomingMessage): boolean {
  return (req.socket as TLSSocket | null)?.encrypted === true
}

export function clientAddress(req: IncomingMessage, trust: TrustFn): ClientInfo {
  // `socket` is null once the response is done and the socket detached (a `log` handler of an
  // aborted request): the address is then unknown, not a crash.
  const peer = req.socket?.remoteAddress ?? ''
  const viaTrustedProxy = trust(peer, 0)
  const ip = viaTrustedProxy ? proxyaddr(req, trust) : peer
  let protocol: 'http' | 'https' = isTlsSocket(req) ? 'https' : 'http'
  if (viaTrustedProxy) {
    const p = firstValue(req.headers['x-forwarded-proto'])
    if (p === 'https' || p === 'http') protocol = p
  }
  const info: ClientInfo = { ip, protocol, viaTrustedProxy }
  // Only a server that asks for client certificates (mTLS) can have one: read it on first use.
  if (protocol === 'https' && (req.socket as TLSSocket | null)?.encrypted === true) {
    const socket = req.socket as TLSSocket
    let cert: ClientCertificate | undefined | null = null
    Object.defineProperty(info, 'certificate', {
      enumerable: true,
      get: () => {
        if (cert === null) cert = clientCertificate(socket)
        return cert
      },
    })
  }
  return info
}

function firstValue(v: string | string[] | undefined): string | undefined {
  if (v === undefined) return undefined
  const s = Array.isArray(v) ? v[0] : v
  const comma = s?.indexOf(',') ?? -1
  return (comma >= 0 ? s!.slice(0, comma) : s)?.trim().toLowerCase()
}

/**
 * The headers sent upstream: the client's, minus hop-by-hop ones, plus X-Forwarded-For/-Proto/-Host/-Port
 * and Forwarded (RFC 7239). What the client says about earlier hops is kept only when the peer is a
 * trusted proxy; otherwise it is replaced by what the gateway saw.
 */
export function upstreamHeaders(
  req: IncomingMessage,
  trust: TrustFn,
  hostHeader: string | undefined,
  /** The request's headers as `rewrite` left them (a plugin may have replaced the object). */
  incoming: Headers = req.headers,
): Headers {
  const listed = connectionListed(incoming.connection)
  const out: Headers = {}
  for (const name in incoming) {
    // HTTP/2 pseudo-headers (`:authority`, `:path`…) describe this hop only (RFC 9113 §8.3).
    if (NOT_FORWARDED_UP.has(name) || listed?.has(name) || name.charCodeAt(0) === 58) continue
    out[name] = incoming[name]
  }
  const peer = req.socket.remoteAddress ?? ''
  const trusted = trust(peer, 0)
  const proto = isTlsSocket(req) ? 'https' : 'http'
  const host = String(incoming.host ?? '')
  const port = String(req.socket.localPort ?? '')
  const xff = incoming['x-forwarded-for']
  const fwdFor = peer.includes(':') ? `"[${peer}]"` : peer
  const fwd = `for=${fwdFor};host=${quoteIfNeeded(host)};proto=${proto}`
  if (trusted) {
    out['x-forwarded-for'] = xff ? `${Array.isArray(xff) ? xff.join(', ') : xff}, ${peer}` : peer
    out['x-forwarded-proto'] = incoming['x-forwarded-proto'] ?? proto
    out['x-forwarded-host'] = incoming['x-forwarded-host'] ?? host
    out['x-forwarded-port'] = incoming['x-forwarded-port'] ?? port
    const prior = incoming.forwarded
    out.forwarded = prior ? `${Array.isArray(prior) ? prior.join(', ') : prior}, ${fwd}` : fwd
    out['x-real-ip'] = proxyaddr(req, trust)
  } else {
    out['x-forwarded-for'] = peer
    out['x-forwarded-proto'] = proto
    out['x-forwarded-host'] = host
    out['x-forwarded-port'] = port
    out.forwarded = fwd
    out['x-real-ip'] = peer
  }
  if (hostHeader !== undefined) out.host = hostHeader
  return out
}

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/
let lastHost = ''
let lastQuoted = ''

/** RFC 7239 §4: a value that is not a token is quoted. The last answer is kept: hosts repeat. */
function quoteIfNeeded(v: string): string {
  if (v === lastHost) return lastQuoted
  const quoted = TOKEN.test(v) ? v : `"${v.replace(/["\\]/g, '\\$&')}"`
  lastHost = v
  lastQuoted = quoted
  return quoted
}

/**
 * Sets the identity headers on the upstream request, like Kong: the consumer's id, username, custom id
 * and groups (comma-separated), the credential's identifier, and `x-anonymous-consumer: true` for an
 * auth plugin's anonymous consumer. Called by `setConsumer`: each header is replaced, or removed when
 * the new identity has no such field, so an anonymous consumer replaced by a real one leaves no trace.
 */
export function setIdentityHeaders(
  out: Headers,
  consumer: Consumer,
  credential: Credential | undefined,
  anonymous: boolean,
): void {
  setOrDelete(out, 'x-consumer-id', consumer.id)
  setOrDelete(out, 'x-consumer-username', consumer.username)
  setOrDelete(out, 'x-consumer-custom-id', consumer.customId)
  setOrDelete(out, 'x-consumer-groups', consumer.groups?.length ? consumer.groups.join(', ') : undefined)
  setOrDelete(out, 'x-credential-identifier', credential?.id)
  setOrDelete(out, 'x-anonymous-consumer', anonymous ? 'true' : undefined)
}

function setOrDelete(out: Headers, name: string, value: string | undefined): void {
  if (value === undefined || value === '') delete out[name]
  else out[name] = value
}

/** The upstream's response headers, minus hop-by-hop ones. */
export function downstreamHeaders(headers: Record<string, string | string[] | undefined>): Headers {
  const listed = connectionListed(headers.connection)
  const out: Headers = {}
  for (const name in headers) {
    if (HOP_BY_HOP.has(name) || listed?.has(name)) continue
    out[name] = headers[name]
  }
  return out
}

const REQUEST_ID = /^[A-Za-z0-9._:@/+=-]{1,200}$/

/** Keeps a well-formed incoming id when it is trusted; otherwise makes a new one. */
export function requestIdFor(
  req: IncomingMessage,
  header: string,
  trustIncoming: boolean,
  trust: TrustFn,
): string {
  const incoming = req.headers[header]
  if (typeof incoming === 'string' && REQUEST_ID.test(incoming)) {
    if (trustIncoming || trust(req.socket.remoteAddress ?? '', 0)) return incoming
  }
  return randomUUID()
}
