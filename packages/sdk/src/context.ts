import type { GatehouseError } from './errors.js'

/**
 * The context a plugin handler receives: Gatehouse's PDK. Each phase gets the view that can work in it,
 * so a misuse the types can see (responding from `log`, writing the upstream request in `response`) is
 * a compile error. At run time, `respond()` and `setConsumer()` outside their phases throw
 * GH_PLUGIN_PHASE_MISUSE, the upstream request refuses writes in `response` and `log` (the same
 * error, naming the plugin and phase), and the response headers are frozen in `log` (a write throws a
 * TypeError, which is logged and ignored there). Writes to what is typed read-only are otherwise not
 * checked.
 *
 * Header names are always lower case. Objects are plain and mutable where the phase allows it:
 * `ctx.upstream.headers['x-tenant'] = 'acme'`.
 */

export type Awaitable<T> = T | Promise<T>
export type Phase = 'rewrite' | 'access' | 'response' | 'log' | 'error'
export type HeaderValue = string | string[] | undefined
export type Headers = Record<string, HeaderValue>

/** A minimal structured logger; in core it is a pino child logger named after the plugin. */
export interface Logger {
  trace(obj: unknown, msg?: string, ...args: unknown[]): void
  debug(obj: unknown, msg?: string, ...args: unknown[]): void
  info(obj: unknown, msg?: string, ...args: unknown[]): void
  warn(obj: unknown, msg?: string, ...args: unknown[]): void
  error(obj: unknown, msg?: string, ...args: unknown[]): void
  fatal(obj: unknown, msg?: string, ...args: unknown[]): void
  child(bindings: Record<string, unknown>): Logger
}

/**
 * State shared between the plugins of one request. Declare your keys by augmenting this interface:
 * `declare module '@gatehousejs/sdk' { interface SharedState { tenant?: string } }`
 */
// biome-ignore lint/suspicious/noEmptyInterface: open for module augmentation
export interface SharedState {}

export interface ClientInfo {
  /** The client's address: the connection's peer, or the first untrusted hop of X-Forwarded-For per `trustProxy`. */
  readonly ip: string
  /** `https` when the gateway terminated TLS, or a trusted proxy said so. */
  readonly protocol: 'http' | 'https'
  /** Whether the connection comes from a trusted proxy. */
  readonly viaTrustedProxy: boolean
  /**
   * The certificate the client presented over TLS (mutual TLS, `tls.clientCertificates`); undefined
   * when the connection is not TLS or the client sent none.
   */
  readonly certificate?: ClientCertificate | undefined
}

/** A client certificate's identity, as read from the TLS connection (docs/protocols.md). */
export interface ClientCertificate {
  /** Subject fields, e.g. `{ CN: 'alice', O: 'Acme' }`. */
  readonly subject: Readonly<Record<string, string | string[]>>
  readonly issuer: Readonly<Record<string, string | string[]>>
  /** Subject alternative names as OpenSSL prints them, e.g. `DNS:a.example, URI:spiffe://acme/alice`. */
  readonly subjectAltName: string | undefined
  /** SHA-256 fingerprint, colon-separated hex. */
  readonly fingerprint256: string
  readonly serialNumber: string
  readonly validFrom: string
  readonly validTo: string
  /** Whether the certificate chains to a configured CA (always true in `require` mode). */
  readonly verified: boolean
  /** Why it did not verify, e.g. `UNABLE_TO_VERIFY_LEAF_SIGNATURE`. */
  readonly verifyError: string | undefined
}

export interface RouteInfo {
  readonly name: string
  readonly service: string
  readonly paths: readonly string[]
  readonly methods: readonly string[] | undefined
  readonly hosts: readonly string[] | undefined
}

export interface ServiceInfo {
  readonly name: string
  /** The upstream base URL. */
  readonly url: string
}

export interface Consumer {
  readonly id: string
  readonly username: string | undefined
  readonly customId: string | undefined
  readonly groups: readonly string[]
}

export interface Credential {
  /** A non-secret identifier of the credential (a key id, a JWT issuer, a user name). */
  readonly id: string
  /** The auth plugin that accepted it. */
  readonly plugin: string
}

/** The incoming request, read-only after routing. */
export interface RequestView {
  readonly method: string
  /** The normalised path, without the query string. */
  readonly path: string
  /** The raw query string, without the leading `?`. */
  readonly querystring: string
  /** The parsed query, made on first read. */
  readonly query: Readonly<Record<string, string | string[]>>
  readonly headers: Readonly<Headers>
  /** The host the client asked for, without the port. */
  readonly host: string
  /** Captures of the route's `:name` segments. */
  readonly params: Readonly<Record<string, string>>
  /**
   * The parsed body (JSON or form) when a plugin on this route declared `needs.requestBody` or called
   * `ctx.readBody()`, otherwise `undefined`; the raw bytes are in `rawBody`.
   */
  readonly body: unknown
  readonly rawBody: Buffer | undefined
}

/** In `rewrite`, before a route is chosen, the request itself may change. */
export interface RewritableRequest extends RequestView {
  method: string
  path: string
  querystring: string
  headers: Headers
}

/** The request Gatehouse is about to send upstream; change it in `access`. */
export interface UpstreamRequest {
  method: string
  /** The path sent upstream (after strip-path and rewrite), without the query string. */
  path: string
  querystring: string
  headers: Headers
  /**
   * `undefined` streams the client's body through unchanged. Set a Buffer, a string or a JSON value
   * to send that instead; core fixes `content-length`.
   */
  body: unknown
  /** The origin Gatehouse will connect to, e.g. `http://127.0.0.1:3000`. */
  readonly target: string
  /** Milliseconds. */
  timeouts: { connect: number; read: number }
  /**
   * A cap on the client's body as core streams it upstream; `undefined` (the default) sets none.
   * Counted while streaming, so neither a missing nor a lying `Content-Length` gets past it: a declared
   * length over the cap is refused before anything is sent, a chunked body is cut off once it passes
   * the cap (the upstream request is aborted). Either way the client gets `error()` (default 413
   * GH_REQUEST_BODY_TOO_LARGE) with `connection: close`. Set it in `access`, e.g. from a size-limit plugin.
   */
  bodyLimit?: BodyLimit
}

/**
 * The upstream request as `response` and `log` see it: already sent (or, after a short-circuit, never
 * to be), so read-only all the way down. At run time every write throws GH_PLUGIN_PHASE_MISUSE naming
 * the plugin and phase; change the upstream request in `access`.
 */
export interface SentUpstreamRequest {
  readonly method: string
  readonly path: string
  readonly querystring: string
  readonly headers: Readonly<Record<string, string | readonly string[] | undefined>>
  /** What a plugin set in `access`, or `undefined` when the client's body streamed through. */
  readonly body: unknown
  readonly target: string
  readonly timeouts: { readonly connect: number; readonly read: number }
  readonly bodyLimit?: BodyLimit | undefined
}

/** See {@link UpstreamRequest.bodyLimit}. Make it once at `init`: it is not copied per request. */
export interface BodyLimit {
  /** The largest body allowed, in bytes. */
  readonly bytes: number
  /** The error the client gets when the body is larger; default 413 GH_REQUEST_BODY_TOO_LARGE. */
  readonly error?: () => GatehouseError
}

export type ResponseSource = 'upstream' | 'plugin' | 'error'

/** Why a response body a plugin asked for is not available (the body then streams unchanged). */
export type BodySkipReason = 'too-large' | 'event-stream' | 'no-body' | 'unsupported-encoding'

export interface ResponseData {
  status: number
  headers: Headers
  /**
   * With `needs.responseBody`: the whole decoded body as a Buffer. Assign a Buffer, a string or a JSON
   * value to replace it; core re-encodes it and fixes `content-length`/`content-encoding`.
   * `undefined` when the body was not read (see `bodySkipped`).
   */
  body: unknown
  readonly bodySkipped: BodySkipReason | undefined
  /** Where the response came from: the upstream, a plugin's `respond()`, or an error. */
  readonly source: ResponseSource
}

export interface Timings {
  /** Milliseconds from when core began handling the request (its head parsed) to the end of the response. */
  readonly total: number
  /** Milliseconds from sending upstream to the upstream's response headers, when proxied. */
  readonly upstream: number | undefined
  /** `total` minus `upstream`: the gateway's own time. */
  readonly gateway: number
  /** Milliseconds from the start to sending the request upstream, when proxied. */
  readonly upstreamStart: number | undefined
  /**
   * Each plugin handler's run, in order: only when an instance asked for `needs.pluginTimings` or the
   * gateway has `serverTiming` on; otherwise `undefined`. `log` handlers are not included.
   */
  readonly plugins: readonly PluginTiming[] | undefined
}

/** One plugin handler's run in one phase. */
export interface PluginTiming {
  /** The plugin's name, e.g. `jwt`. */
  readonly plugin: string
  /** The instance id, e.g. `jwt@route:orders`. */
  readonly instance: string
  readonly phase: Phase
  /** Milliseconds from the start of the request to the handler's start. */
  readonly start: number
  readonly duration: number
}

interface BaseContext<TState> {
  readonly phase: Phase
  readonly requestId: string
  readonly client: ClientInfo
  /** State shared by all plugins for this request. */
  readonly shared: SharedState & Record<string, unknown>
  /** State private to this plugin instance for this request. */
  readonly plugin: TState
  /** A child logger bound to the request id and named after the plugin. */
  readonly log: Logger
}

interface Responder {
  /**
   * Ends the request here with this response. No later handler of the phase runs and nothing is
   * proxied; `response` and `log` handlers still run. Objects are sent as JSON; a `Readable` streams
   * as it produces data, unbuffered (and is destroyed if the client goes away).
   */
  respond(status: number, body?: unknown, headers?: Record<string, string>, options?: RespondOptions): void
}

export interface RespondOptions {
  /**
   * `access` only: this response stands for the route's upstream answer (an aggregation of other
   * calls, a mock), so `response` plugins treat it as one: `source` is `'upstream'`, the cache may
   * store it, the response-transformer rewrites its body. Give the body as a Buffer or string with its
   * `content-type`, as an upstream would.
   */
  asUpstream?: boolean
}

/** `rewrite`: every request, before a route is chosen (global instances only). */
export interface RewriteContext<TState = Record<string, unknown>> extends BaseContext<TState>, Responder {
  readonly phase: 'rewrite'
  readonly request: RewritableRequest
}

/** `access`: the route and service are known; authenticate, limit, change the upstream request. */
export interface AccessContext<TState = Record<string, unknown>> extends BaseContext<TState>, Responder {
  readonly phase: 'access'
  readonly request: RequestView
  readonly route: RouteInfo
  readonly service: ServiceInfo
  readonly upstream: UpstreamRequest
  readonly consumer: Consumer | undefined
  readonly credential: Credential | undefined
  /** True when `consumer` is an auth plugin's `anonymous` consumer (set with `{ anonymous: true }`). */
  readonly anonymous: boolean
  /**
   * Sets the identified consumer; consumer-scoped plugin instances apply from the next handler on.
   * Core sets the identity headers on `ctx.upstream.headers` at once (`x-consumer-id`,
   * `x-consumer-username`, `x-consumer-custom-id`, `x-consumer-groups`, `x-credential-identifier`,
   * and `x-anonymous-consumer: true` when `options.anonymous`), replacing those of an earlier call;
   * a later handler may remove one. Clients' own headers of these names never reach the upstream.
   * Auth plugins call it through `createAuthGuard` rather than directly.
   */
  setConsumer(consumer: Consumer, credential?: Credential, options?: SetConsumerOptions): void
  /**
   * Reads and parses the client's body now (JSON or form, up to `limits.requestBody`), for the
   * requests a plugin picks: a plugin that needs the body of one endpoint only (a logout callback, a
   * webhook) calls it there, and every other request of the route still streams. The result is also in
   * `request.body` / `request.rawBody`, and the buffered bytes are what the upstream receives. Resolves
   * `undefined` when the request has no body; rejects with 413 GH_REQUEST_BODY_TOO_LARGE, 415 or 400
   * like `needs.requestBody` does.
   *
   * @example
   * if (ctx.request.method === 'POST' && ctx.request.path === '/hooks/logout') {
   *   const form = (await ctx.readBody()) as Record<string, string> | undefined
   * }
   */
  readBody(): Promise<unknown>
}

export interface SetConsumerOptions {
  /**
   * This is the `anonymous` consumer of an auth plugin that failed: no one was authenticated. A later
   * auth plugin with `anonymous` set still checks the request (and may replace it with a real consumer).
   */
  anonymous?: boolean
}

/**
 * What the late phases (`response`, `log`) see of the request: the route, service and upstream request
 * are `undefined` when no route matched (a 404, or a short-circuit in `rewrite`).
 */
interface AfterRoutingView<TState> extends BaseContext<TState> {
  readonly request: RequestView
  readonly route: RouteInfo | undefined
  readonly service: ServiceInfo | undefined
  /** Read-only, deeply: see {@link SentUpstreamRequest}. */
  readonly upstream: SentUpstreamRequest | undefined
  readonly consumer: Consumer | undefined
  readonly credential: Credential | undefined
  /** True when `consumer` is an auth plugin's `anonymous` consumer. */
  readonly anonymous: boolean
}

/** `response`: status and headers are in (from the upstream, a plugin or an error); change them. */
export interface ResponseContext<TState = Record<string, unknown>> extends AfterRoutingView<TState> {
  readonly phase: 'response'
  readonly response: ResponseData
  /**
   * Replaces the response with a stored copy of the upstream's own representation: a cache answering
   * the 304 to its revalidation, or a 5xx under stale-if-error, with the response it stored. Unlike
   * assigning `response.body` (a rewrite, after which core makes a strong ETag weak and drops
   * `Content-MD5`/`Digest`/`Content-Digest`/`Repr-Digest`, since they described other bytes), these
   * headers are sent as given: they describe exactly this body. `body` is the decoded (identity)
   * representation; any `Content-Encoding` in `headers` is dropped and `Content-Length` is set. A later
   * `response` plugin that assigns `body` still counts as a rewrite.
   *
   * @example
   * ctx.serveStored(entry.status, entry.headers, entry.body)
   */
  serveStored(status: number, headers: Readonly<Headers>, body: Buffer): void
}

/** `error`: a phase threw or the upstream failed; shape the error response. */
export interface ErrorContext<TState = Record<string, unknown>> extends BaseContext<TState>, Responder {
  readonly phase: 'error'
  readonly request: RequestView
  readonly route: RouteInfo | undefined
  readonly service: ServiceInfo | undefined
  readonly consumer: Consumer | undefined
  readonly error: GatehouseError
}

/** `log`: after the last byte was sent; record, never change. Never delays or fails the client. */
export interface LogContext<TState = Record<string, unknown>> extends AfterRoutingView<TState> {
  readonly phase: 'log'
  /** `undefined` when the client went away before any response existed. */
  readonly response:
    | {
        readonly status: number
        readonly headers: Readonly<Headers>
        readonly source: ResponseSource
      }
    | undefined
  /** The error that produced the response, if one did. */
  readonly error: GatehouseError | undefined
  /** Whether the client went away before the response was complete. */
  readonly aborted: boolean
  readonly timings: Timings
}
