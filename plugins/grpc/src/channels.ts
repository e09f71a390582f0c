import { type ChannelCredentials, Client, credentials } from '@grpc/grpc-js'

/** Where to call: a grpc-js address (`host:port`) and whether it speaks TLS. */
export interface GrpcTarget {
  readonly address: string
  readonly secure: boolean
}

/**
 * `host:port` and `http://host:port` are plaintext (h2c), `https://host:port` is TLS: the service url
 * of a route reads the same way for gRPC as for HTTP. Returns `undefined` for anything else.
 */
export function parseTarget(text: string): GrpcTarget | undefined {
  if (!text.includes('://')) return /^[^/\s]+:\d+$/.test(text) ? { address: text, secure: false } : undefined
  let url: URL
  try {
    url = new URL(text)
  } catch {
    return undefined
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return undefined
  if (url.pathname !== '/' && url.pathname !== '') return undefined
  const secure = url.protocol === 'https:'
  return { address: `${url.hostname}:${url.port || (secure ? '443' : '80')}`, secure }
}

/**
 * One grpc-js client per target, made once and kept: a client owns a channel (an HTTP/2 connection
 * with its own reconnect backoff), so making one per request would throw both away. `close()` closes
 * them all.
 */
export class Channels {
  private readonly clients = new Map<string, Client>()
  /** `secureCredentials`: what TLS targets are called with (made at load, with the configured CA). */
  constructor(private readonly secureCredentials: ChannelCredentials) {}

  get(target: GrpcTarget): Client {
    const key = `${target.secure ? 's' : 'p'}:${target.address}`
    let client = this.clients.get(key)
    if (client === undefined) {
      client = new Client(
        target.address,
        target.secure ? this.secureCredentials : credentials.createInsecure(),
      )
      this.clients.set(key, client)
    }
    return client
  }

  close(): void {
    for (const c of this.clients.values()) c.close()
    this.clients.clear()
  }
}
