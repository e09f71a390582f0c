import type http from 'node:http'
import type http2 from 'node:http2'
import net from 'node:net'
import type { FastifyInstance } from 'fastify'
import type { Runtime } from '../model.js'
import type { Tunnels } from './upgrade.js'

/**
 * The proxy listener's two ends: start accepting, and stop without losing a request. HTTP/2 sessions
 * are tracked here, because closing one (GOAWAY) is how an HTTP/2 client learns to go elsewhere.
 */

export interface ListenerOptions {
  /** Served over TLS: the address is `https:`. */
  tls: boolean
  /** HTTP/2 is on: sessions are tracked, idle ones closed. */
  http2: boolean
  /** Open WebSocket (and other upgraded) connections, closed at once by `close()`. */
  tunnels: Tunnels
  /** How long in-flight requests may take to finish once closing began (ms). */
  drainTimeout: number
  /** How long a request may still arrive on a connection opened before `close()` (ms). */
  closeGrace: number
}

type AnyServer = http.Server & Partial<http2.Http2SecureServer>

export class Listener {
  private readonly sessions = new Set<http2.ServerHttp2Session>()

  constructor(
    private readonly app: FastifyInstance,
    private readonly rt: Runtime,
    private readonly o: ListenerOptions,
  ) {
    if (o.http2) app.server.on('session', (session: http2.ServerHttp2Session) => this.track(session))
  }

  /** Starts accepting; resolves to the address, e.g. `https://127.0.0.1:8443`. */
  async listen(port: number, host: string): Promise<string> {
    const listened = await this.app.listen({ port, host })
    // Fastify names the scheme from its own `https` option, which a serverFactory does not set.
    return this.o.tls ? listened.replace(/^http:/, 'https:') : listened
  }

  /**
   * Closes tunnels at once (they have no request boundary to drain at: clients reconnect elsewhere),
   * then stops accepting and lets every connection end; after `drainTimeout` the rest are cut.
   */
  async close(): Promise<void> {
    for (const socket of this.o.tunnels) socket.destroy()
    const server = this.app.server as AnyServer
    const force = setTimeout(() => {
      server.closeAllConnections?.()
      for (const session of this.sessions) session.destroy()
    }, this.o.drainTimeout)
    force.unref()
    await this.stopAccepting(server)
    // Every connection has ended: Fastify's own close finds nothing left to refuse or cut.
    await this.app.close()
    clearTimeout(force)
  }

  /** An idle session is closed like an idle HTTP/1.1 connection (GOAWAY, then close). */
  private track(session: http2.ServerHttp2Session): void {
    this.sessions.add(session)
    const idle = this.rt.guard.limits.keepAliveTimeout
    if (idle > 0) session.setTimeout(idle, () => session.close())
    session.once('close', () => this.sessions.delete(session))
  }

  /**
   * The close order that loses no request (Envoy's drain does the same): stop accepting first, so a
   * new connection goes elsewhere (another worker of the cluster: Node's primary hands a connection
   * that reaches a closed worker to another one; another node behind the load balancer). Requests on
   * connections already open are served, each HTTP/1.x response with `connection: close` and each
   * HTTP/2 session with a GOAWAY, so clients move their next request to a new connection. Only after
   * `closeGrace` are idle keep-alive connections closed and late requests refused (503
   * GH_GATEWAY_CLOSING). Resolves once every connection has ended (the `force` timer bounds it).
   */
  private async stopAccepting(server: AnyServer): Promise<void> {
    const ended = new Promise<boolean>((resolve) => server.once('close', () => resolve(true)))
    // net's close, not http's: Node's http close also closes idle keep-alive connections at once,
    // which races a client already sending its next request on one (RFC 9112 §9.5, §9.3.1: the
    // client cannot tell that close from a failure, and may retry only idempotent requests).
    net.Server.prototype.close.call(server)
    for (const session of this.sessions) session.close()
    let timer: NodeJS.Timeout | undefined
    const grace = new Promise<boolean>((resolve) => {
      timer = setTimeout(resolve, this.o.closeGrace, false)
    })
    const done = await Promise.race([ended, grace])
    clearTimeout(timer)
    if (done) return
    this.rt.refusing = true
    server.closeIdleConnections?.()
    await ended
  }
}
