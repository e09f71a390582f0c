import { createHash, timingSafeEqual } from 'node:crypto'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { isIP } from 'node:net'
import type { AdminEndpoint, AdminRequest, ConfigIssue, PluginDefinition } from '@gatehousejs/sdk'
import type { GatewayConfig } from '@gatehousejs/sdk/config'
import { ConfigError } from '@gatehousejs/sdk/host'
import { redactConfig } from '../config/redact.js'
import type { Gateway } from '../gateway-types.js'

/**
 * The admin API: a separate HTTP listener, off unless started, on loopback unless told otherwise,
 * and closed to anyone without the token. It shows the running gateway (health, readiness, config
 * with secrets redacted, routes, plugins), applies a new config atomically, and mounts the endpoints
 * plugins offer under `/plugins/<instance id>/…`.
 */
export interface AdminOptions {
  /** Required: clients send `Authorization: Bearer <token>`. At least 16 characters. */
  token: string
  /** Default 0 (a free port). */
  port?: number
  /** Default `127.0.0.1`. A non-loopback address needs `allowRemote: true`. */
  host?: string
  allowRemote?: boolean
  /** Largest config body accepted by `PUT /config`. Default 5 MiB. */
  bodyLimit?: number
  /**
   * Turns a `PUT /config` body into a config (and any plugin definitions it needs). Default: JSON.
   * The CLI passes one that reads YAML and resolves plugin packages, with `locate` so each problem
   * carries its line and column in the body.
   */
  parseConfig?: (
    body: Buffer,
    contentType: string | undefined,
  ) => Promise<{
    config: GatewayConfig
    plugins?: PluginDefinition[]
    locate?: (pointer: string) => { line: number; column: number } | undefined
  }>
  /** JSON pointers to show as `[redacted]` in `GET /config` (e.g. values that came from env vars). */
  redact?: () => Iterable<string>
  /** Called after a successful `PUT /config` (e.g. to tell sibling worker processes). */
  onApplied?: (config: GatewayConfig) => void
  /**
   * Endpoints the embedder serves at the admin API's root, behind the same token (the CLI's fleet
   * node adds `GET /fleet`). Core's own paths and `/plugins/…` cannot be taken over.
   */
  endpoints?: readonly AdminEndpoint[]
  /**
   * Set when the config is managed elsewhere (a fleet node follows its store): `PUT /config` then
   * answers 409 `GH_ADMIN_CONFIG_MANAGED` with this text, and nothing changes.
   */
  configManagedBy?: string
}

/** The admin API's own paths, which `endpoints` cannot take over. */
const CORE_PATHS = new Set(['/health', '/ready', '/config', '/routes', '/upstreams', '/plugins'])

export interface AdminServer {
  url: string
  server: http.Server
  close(): Promise<void>
}

function isLoopback(host: string): boolean {
  if (host === 'localhost') return true
  if (isIP(host) === 4) return host.startsWith('127.')
  return host === '::1' || host === '[::1]'
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest()
}

function send(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  const text = JSON.stringify(body)
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
    ...headers,
  })
  res.end(text)
}

/**
 * A config problem as `PUT /config` reports it: the pointer (and plugin), never a file name (the
 * body is not the gateway's file), and its line and column in the body when the parser knows them.
 */
function bodyIssue(
  issue: ConfigIssue,
  locate?: (pointer: string) => { line: number; column: number } | undefined,
): ConfigIssue & { line?: number; column?: number } {
  const { file: _file, ...rest } = issue
  const at = locate?.(issue.pointer)
  return at ? { ...rest, line: at.line, column: at.column } : rest
}

function problem(status: number, code: string, message: string, extra: Record<string, unknown> = {}) {
  const reason = http.STATUS_CODES[status] ?? 'Error'
  return { statusCode: status, code, error: reason, message, ...extra }
}

/** Compiles `/keys/:key` into a matcher returning the captures, or undefined. */
function compilePath(path: string): (segments: string[]) => Record<string, string> | undefined {
  const parts = path.split('/').filter(Boolean)
  return (segments) => {
    if (segments.length !== parts.length) return undefined
    const params: Record<string, string> = {}
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i] as string
      const s = segments[i] as string
      if (p.startsWith(':')) params[p.slice(1)] = s
      else if (p !== s) return undefined
    }
    return params
  }
}

function readBody(req: http.IncomingMessage, limit: number): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    req.on('data', (c: Buffer) => {
      size += c.length
      if (size > limit) {
        resolve(undefined)
        req.destroy()
        return
      }
      chunks.push(c)
    })
    req.on('end', () => resolve(Buffer.concat(chunks)))
    req.on('error', reject)
  })
}

function parseQuery(search: URLSearchParams): Record<string, string | string[]> {
  const q: Record<string, string | string[]> = {}
  for (const [k, v] of search) {
    const prev = q[k]
    q[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v]
  }
  return q
}

/** Starts the admin API for `gateway`. Refuses to start without a token, or off loopback unless allowed. */
export async function startAdmin(gateway: Gateway, options: AdminOptions): Promise<AdminServer> {
  if (typeof options.token !== 'string' || options.token.length < 16) {
    throw new TypeError('the admin API needs a token of at least 16 characters')
  }
  const host = options.host ?? '127.0.0.1'
  if (!isLoopback(host) && options.allowRemote !== true) {
    throw new TypeError(
      `the admin API listens on loopback only unless allowRemote is set (asked for ${host})`,
    )
  }
  const expected = digest(`Bearer ${options.token}`)
  const bodyLimit = options.bodyLimit ?? 5 * 1024 * 1024
  const extra = options.endpoints ?? []

  /**
   * Serves the endpoint of `endpoints` matching `segments` and `method`: 'served' (a 405 included,
   * when the path matches with another method), or 'no-match'.
   */
  async function serveEndpoint(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    url: URL,
    endpoints: readonly AdminEndpoint[],
    segments: string[],
    method: string,
  ): Promise<'served' | 'no-match'> {
    let found: { endpoint: AdminEndpoint; params: Record<string, string> } | undefined
    let pathKnown = false
    for (const endpoint of endpoints) {
      const params = compilePath(endpoint.path)(segments)
      if (!params) continue
      pathKnown = true
      if (endpoint.method === method) {
        found = { endpoint, params }
        break
      }
    }
    if (!found) {
      if (!pathKnown) return 'no-match'
      send(res, 405, problem(405, 'GH_ADMIN_METHOD_NOT_ALLOWED', `${method} is not allowed here`))
      return 'served'
    }
    const raw = method === 'GET' || method === 'DELETE' ? Buffer.alloc(0) : await readBody(req, bodyLimit)
    if (raw === undefined) {
      send(res, 413, problem(413, 'GH_ADMIN_BODY_TOO_LARGE', 'The body is larger than the limit'))
      return 'served'
    }
    let body: unknown
    if (raw.length > 0) {
      try {
        body = JSON.parse(raw.toString('utf8'))
      } catch {
        send(res, 400, problem(400, 'GH_ADMIN_BODY_INVALID', 'The body is not valid JSON'))
        return 'served'
      }
    }
    const request: AdminRequest = {
      method,
      params: found.params,
      query: parseQuery(url.searchParams),
      headers: req.headers,
      body,
    }
    const out = await found.endpoint.handler(request)
    if (typeof out.body === 'string' || Buffer.isBuffer(out.body)) {
      // Text (e.g. Prometheus metrics) is sent as it is, with the endpoint's content-type.
      const text = typeof out.body === 'string' ? Buffer.from(out.body) : out.body
      res.writeHead(out.status ?? 200, {
        'content-type': 'text/plain; charset=utf-8',
        'cache-control': 'no-store',
        ...out.headers,
        'content-length': text.length,
      })
      res.end(text)
      return 'served'
    }
    send(res, out.status ?? 200, out.body ?? null, out.headers)
    return 'served'
  }

  const parseConfig =
    options.parseConfig ??
    (async (body: Buffer) => ({ config: JSON.parse(body.toString('utf8')) as GatewayConfig }))

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const auth = req.headers.authorization
    if (typeof auth !== 'string' || !timingSafeEqual(digest(auth), expected)) {
      send(res, 401, problem(401, 'GH_ADMIN_UNAUTHORIZED', 'A valid admin token is required'), {
        'www-authenticate': 'Bearer realm="gatehouse-admin"',
      })
      return
    }
    const url = new URL(req.url ?? '/', 'http://admin')
    const method = req.method ?? 'GET'
    const segments = url.pathname.split('/').filter(Boolean).map(decodeURIComponent)
    const path = `/${segments.join('/')}`

    if (method === 'GET' && path === '/health') return send(res, 200, { status: 'ok' })
    if (method === 'GET' && path === '/ready') {
      const ready = gateway.url !== undefined
      return send(res, ready ? 200 : 503, { ready })
    }
    if (method === 'GET' && path === '/config') {
      return send(res, 200, redactConfig(gateway.config, gateway.plugins(), options.redact?.() ?? []))
    }
    if (method === 'GET' && path === '/routes') return send(res, 200, gateway.routes())
    if (method === 'GET' && path === '/upstreams') return send(res, 200, gateway.upstreams())
    if (method === 'GET' && path === '/plugins') {
      return send(
        res,
        200,
        gateway.plugins().map((p) => ({
          id: p.id,
          plugin: p.plugin,
          version: p.version,
          scope: p.scope,
          endpoints: p.admin.map((e) => ({
            method: e.method,
            path: `/plugins/${p.id}${e.path.startsWith('/') ? '' : '/'}${e.path}`,
            description: e.description,
          })),
        })),
      )
    }
    if ((method === 'PUT' || method === 'POST') && path === '/config' && options.configManagedBy) {
      return send(res, 409, problem(409, 'GH_ADMIN_CONFIG_MANAGED', options.configManagedBy))
    }
    if ((method === 'PUT' || method === 'POST') && path === '/config') {
      const body = await readBody(req, bodyLimit)
      if (body === undefined) {
        return send(res, 413, problem(413, 'GH_ADMIN_BODY_TOO_LARGE', 'The config is larger than the limit'))
      }
      let parsed: Awaited<ReturnType<NonNullable<AdminOptions['parseConfig']>>>
      try {
        parsed = await parseConfig(body, req.headers['content-type'])
      } catch (err) {
        const issues = (err as { issues?: unknown }).issues
        return send(
          res,
          400,
          problem(400, 'GH_ADMIN_CONFIG_INVALID', `The config could not be read: ${(err as Error).message}`, {
            issues: Array.isArray(issues) ? (issues as ConfigIssue[]).map((i) => bodyIssue(i)) : undefined,
          }),
        )
      }
      try {
        await gateway.reload(parsed.config, { plugins: parsed.plugins })
      } catch (err) {
        if (err instanceof ConfigError) {
          return send(
            res,
            400,
            problem(400, 'GH_ADMIN_CONFIG_INVALID', 'The config is invalid; the running one is unchanged', {
              issues: err.issues.map((i) => bodyIssue(i, parsed.locate)),
            }),
          )
        }
        throw err
      }
      options.onApplied?.(parsed.config)
      return send(res, 200, { applied: true, routes: gateway.routes().length })
    }
    if (extra.length > 0 && segments[0] !== 'plugins' && !CORE_PATHS.has(path)) {
      const out = await serveEndpoint(req, res, url, extra, segments, method)
      if (out !== 'no-match') return
    }
    if (segments[0] === 'plugins' && segments.length >= 2) {
      const inst = gateway.plugins().find((p) => p.id === segments[1])
      const out = await serveEndpoint(req, res, url, inst?.admin ?? [], segments.slice(2), method)
      if (out !== 'no-match') return
    }
    send(res, 404, problem(404, 'GH_ADMIN_NOT_FOUND', `No admin endpoint ${method} ${path}`))
  }

  const server = http.createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      gateway.logger.error({ err }, 'admin API request failed')
      if (!res.headersSent) send(res, 500, problem(500, 'GH_ADMIN_INTERNAL', 'The admin request failed'))
      else res.destroy()
    })
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject)
      resolve()
    })
  })
  const addr = server.address() as AddressInfo
  const shown = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address
  const url = `http://${shown}:${addr.port}`
  gateway.logger.info({ address: url }, 'admin API listening')
  return {
    url,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      }),
  }
}
