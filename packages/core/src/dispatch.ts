import { randomUUID } from 'node:crypto'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Dispatch, DispatchRequest, DispatchResponse, GatehouseError, RouteInfo } from '@gatehouse/sdk'
import type { FastifyInstance, InjectOptions } from 'fastify'
import { buildChain, type Chain, selectInstances } from './chain.js'
import type { CompiledRoute, Generation } from './compile.js'
import { Context } from './context.js'
import { DispatchLoop, DispatchTimeout } from './errors.js'
import { type RouteMatch, Router } from './router.js'

/**
 * `env.dispatch`: a plugin's request through the gateway itself (aggregation). It is injected into the
 * Fastify handler (light-my-request), so it runs the whole lifecycle (rewrite, access, upstream,
 * response, log) with the target's own plugin chain: a call cannot skip a route's auth or limits.
 *
 * The call carries a marker header whose value is a single-use random id of a pending {@link Pin}; core
 * strips the header from every request, so a client cannot forge one. The pin names the route (or
 * service) to run, replacing route matching, and the nesting depth that bounds recursion.
 */

const MARK_HEADER = 'x-gatehouse-dispatch'
/** An aggregate calling a route that aggregates… : deeper than this is a loop (508). */
export const MAX_DISPATCH_DEPTH = 4

export interface Pin {
  readonly route: string | undefined
  readonly service: string | undefined
  readonly depth: number
  /** The calling request's id: a dispatched call logs under it. */
  readonly requestId: string | undefined
  /** Set when the lifecycle starts, so a timeout can end the call (and abort its upstream request). */
  res: ServerResponse | undefined
}

const pending = new Map<string, Pin>()
const pins = new WeakMap<IncomingMessage, Pin>()

/** The pin of a dispatched request, undefined for a client's. Strips the marker header either way. */
export function pinOf(raw: IncomingMessage): Pin | undefined {
  const known = pins.get(raw)
  if (known !== undefined) return known
  const mark = raw.headers[MARK_HEADER]
  if (mark === undefined) return undefined
  delete raw.headers[MARK_HEADER]
  const pin = typeof mark === 'string' ? pending.get(mark) : undefined
  if (pin === undefined) return undefined
  pending.delete(mark as string)
  pins.set(raw, pin)
  return pin
}

/** The route a dispatched request runs: the named route (its paths only decide), or the service's chain. */
export function matchPinned(
  gen: Generation,
  pin: Pin,
  method: string,
  path: string,
): RouteMatch<CompiledRoute> | undefined {
  if (pin.route !== undefined) {
    const route = tablesOf(gen).routes.get(pin.route)
    return route === undefined ? undefined : routerOf(route).find(method, path, '', {})
  }
  const route = serviceRoute(gen, pin.service!)
  return route === undefined ? undefined : { route, params: {}, matchedLength: 0 }
}

interface Tables {
  routes: Map<string, CompiledRoute>
  services: Map<string, CompiledRoute>
}
const tables = new WeakMap<Generation, Tables>()
const routers = new WeakMap<CompiledRoute, Router<CompiledRoute>>()

function tablesOf(gen: Generation): Tables {
  let t = tables.get(gen)
  if (t === undefined) {
    t = { routes: new Map(gen.routes.map((r) => [r.name, r])), services: new Map() }
    tables.set(gen, t)
  }
  return t
}

/** Paths and methods only: a call names its route, so host and header conditions do not apply. */
function routerOf(route: CompiledRoute): Router<CompiledRoute> {
  let router = routers.get(route)
  if (router === undefined) {
    router = new Router([
      {
        route,
        paths: [...route.info.paths],
        methods: route.info.methods ? [...route.info.methods] : undefined,
        hosts: undefined,
        headers: undefined,
      },
    ])
    routers.set(route, router)
  }
  return router
}

/**
 * A service call runs the global and service-scoped instances (so a service-level policy applies),
 * with the path appended to the service's URL. Built on first use, once per generation.
 */
function serviceRoute(gen: Generation, name: string): CompiledRoute | undefined {
  const t = tablesOf(gen)
  const known = t.services.get(name)
  if (known !== undefined) return known
  const service = gen.services.get(name)
  if (service === undefined) return undefined
  const base = selectInstances(gen.instances, name, undefined, undefined)
  const consumerChains = new Map<string, Chain>()
  for (const c of new Set(gen.instances.map((i) => i.scope.consumer).filter(Boolean) as string[])) {
    const sel = selectInstances(gen.instances, name, undefined, c)
    if (sel.length !== base.length || sel.some((inst, i) => inst !== base[i]))
      consumerChains.set(c, buildChain(sel))
  }
  const info: RouteInfo = Object.freeze({
    name: `service:${name}`,
    service: name,
    paths: Object.freeze(['/']),
    methods: undefined,
    hosts: undefined,
  })
  const route: CompiledRoute = {
    name: info.name,
    service,
    info,
    stripPath: false,
    rewrite: undefined,
    preserveHost: false,
    timeouts: service.timeouts,
    chain: buildChain(base),
    consumerChains,
  }
  t.services.set(name, route)
  return route
}

/** The gateway's `env.dispatch`; `app` is there once the gateway is built. */
export function createDispatch(getApp: () => FastifyInstance | undefined): Dispatch {
  return async function dispatch(req: DispatchRequest): Promise<DispatchResponse> {
    const app = getApp()
    if (app === undefined) throw new Error('env.dispatch works once the gateway is built (not during init)')
    if ((req.route === undefined) === (req.service === undefined))
      throw new TypeError('env.dispatch needs exactly one of "route" and "service"')
    const from = req.from
    const parent = from instanceof Context ? pins.get(from.raw) : undefined
    const depth = (parent?.depth ?? 0) + 1
    const requestId = from?.requestId
    if (depth > MAX_DISPATCH_DEPTH) return errorAnswer(DispatchLoop(), requestId)
    const id = randomUUID()
    const pin: Pin = { route: req.route, service: req.service, depth, requestId, res: undefined }
    pending.set(id, pin)
    const headers: Record<string, string | string[]> = { 'user-agent': 'gatehouse-dispatch' }
    for (const k in req.headers) {
      const v = req.headers[k]
      if (v !== undefined) headers[k.toLowerCase()] = v
    }
    const host = req.host ?? from?.request.host
    if (host) headers.host = host
    headers[MARK_HEADER] = id
    const call = app.inject({
      method: (req.method ?? 'GET') as 'GET',
      url: req.path,
      headers,
      payload: req.body,
      remoteAddress: req.clientIp ?? from?.client.ip ?? '127.0.0.1',
      validate: false,
    } as InjectOptions)
    let timer: NodeJS.Timeout | undefined
    let onAbort: (() => void) | undefined
    const stop = new Promise<never>((_, reject) => {
      const end = (err: unknown) => {
        // Ends the lifecycle's response: core sees the client gone and aborts the upstream request.
        pin.res?.destroy()
        reject(err)
      }
      if (req.timeout !== undefined && req.timeout > 0) {
        timer = setTimeout(() => end(DispatchTimeout()), req.timeout)
      }
      const signal = req.signal
      if (signal !== undefined) {
        if (signal.aborted) end(signal.reason)
        onAbort = () => end(signal.reason)
        signal.addEventListener('abort', onAbort, { once: true })
      }
    })
    call.catch(() => {}) // a call ended by the timer rejects too; the race already answered
    try {
      const res = await (timer === undefined && onAbort === undefined ? call : Promise.race([call, stop]))
      return {
        status: res.statusCode,
        headers: res.headers as DispatchResponse['headers'],
        body: res.rawPayload,
      }
    } finally {
      pending.delete(id)
      if (timer !== undefined) clearTimeout(timer)
      if (onAbort !== undefined) req.signal?.removeEventListener('abort', onAbort)
    }
  }
}

function errorAnswer(err: GatehouseError, requestId: string | undefined): DispatchResponse {
  return {
    status: err.statusCode,
    headers: { 'content-type': 'application/json; charset=utf-8' },
    body: Buffer.from(JSON.stringify(err.toBody(requestId ?? ''))),
  }
}
