import type { ConfigIssue, PluginEnv } from '@gatehousejs/sdk'
import {
  compileTemplate,
  type DotPath,
  DotPathError,
  EVERY,
  headerSafe,
  parseDotPath,
  type Template,
  TemplateSyntaxError,
} from '@gatehousejs/sdk/transform'
import type { AggregateConfig, CallConfig } from './schema.js'

/** One call, compiled at `init`: templates, dependencies by index, and how its result is shaped. */
export interface CompiledCall {
  readonly name: string
  readonly index: number
  readonly service: string | undefined
  readonly route: string | undefined
  readonly method: string
  readonly path: Template
  /** Client headers passed on, by (lower-case) name. */
  readonly passHeaders: readonly string[]
  readonly setHeaders: ReadonlyArray<readonly [string, Template]>
  readonly body: Template | undefined
  /** Indices of the calls this one waits for. */
  readonly deps: readonly number[]
  /** Indices of the calls waiting for this one. */
  readonly dependents: number[]
  readonly required: boolean
  readonly timeout: number | undefined
  readonly shape: Shape
}

export interface Shape {
  readonly target: DotPath | undefined
  readonly allow: readonly DotPath[] | undefined
  readonly deny: readonly DotPath[]
  readonly mapping: ReadonlyArray<readonly [DotPath, DotPath]>
  readonly group: string | undefined
  readonly collection: string
}

export const TEMPLATE_VARIABLES = ['params', 'query', 'headers', 'consumer', 'calls'] as const

/**
 * Never copied to a call, whatever `headers` says. RFC 9110 §7.6.1: hop-by-hop fields belong to one
 * connection; the body and framing headers describe the client's body, not the call's; `host` is the
 * gateway's; the dispatch marker is core's.
 */
export const NEVER_PASSED = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'host',
  'content-length',
  'content-type',
  'content-encoding',
  'expect',
  'x-gatehouse-dispatch',
])

const CALLS_REF = /\$\(\s*calls\.([A-Za-z_][A-Za-z0-9_-]*)/g

/** Compiles and checks the calls; every problem is an issue naming its `/config/...` pointer. */
export function compilePlan(
  config: AggregateConfig,
  env: Pick<PluginEnv, 'services' | 'routes'>,
  issues: ConfigIssue[],
): CompiledCall[] {
  const names = new Map<string, number>()
  config.calls.forEach((c, i) => {
    if (names.has(c.name))
      issues.push({ pointer: `/config/calls/${i}/name`, message: `duplicate call name "${c.name}"` })
    names.set(c.name, i)
  })
  const calls = config.calls.map((c, i) => compileCall(c, i, names, env, issues))
  for (const call of calls) for (const d of call.deps) calls[d]!.dependents.push(call.index)
  const cycle = findCycle(calls)
  if (cycle !== undefined) {
    issues.push({
      pointer: `/config/calls/${cycle[0]}/dependsOn`,
      message: `calls depend on each other in a cycle: ${cycle.map((i) => calls[i]!.name).join(' → ')}`,
    })
  }
  return calls
}

function compileCall(
  c: CallConfig,
  i: number,
  names: Map<string, number>,
  env: Pick<PluginEnv, 'services' | 'routes'>,
  issues: ConfigIssue[],
): CompiledCall {
  const at = `/config/calls/${i}`
  if ((c.service === undefined) === (c.route === undefined)) {
    issues.push({ pointer: at, message: 'a call names exactly one of "service" and "route"' })
  } else if (c.service !== undefined && env.services && !env.services.some((s) => s.name === c.service)) {
    issues.push({ pointer: `${at}/service`, message: `no service named "${c.service}"` })
  } else if (c.route !== undefined && env.routes && !env.routes.some((r) => r.name === c.route)) {
    issues.push({ pointer: `${at}/route`, message: `no route named "${c.route}"` })
  }
  const deps = new Set<number>()
  const addDep = (name: string, pointer: string) => {
    const d = names.get(name)
    if (d === undefined) issues.push({ pointer, message: `no call named "${name}"` })
    else if (d === i) issues.push({ pointer, message: `call "${name}" cannot depend on itself` })
    else deps.add(d)
  }
  c.dependsOn.forEach((n, k) => {
    addDep(n, `${at}/dependsOn/${k}`)
  })
  const template = (source: string, pointer: string, escapeValue: (v: string) => string) => {
    for (const m of source.matchAll(CALLS_REF)) addDep(m[1]!, pointer)
    try {
      return compileTemplate(source, {
        variables: TEMPLATE_VARIABLES,
        lowerCase: ['headers'],
        escape: escapeValue,
      })
    } catch (err) {
      if (!(err instanceof TemplateSyntaxError)) throw err
      issues.push({ pointer, message: err.message })
      return compileTemplate('')
    }
  }
  const passHeaders = c.headers.map((h) => h.toLowerCase())
  passHeaders.forEach((h, k) => {
    if (NEVER_PASSED.has(h))
      issues.push({ pointer: `${at}/headers/${k}`, message: `"${h}" is never passed to a call` })
  })
  const setHeaders = Object.entries(c.setHeaders).map(([name, value]) => {
    const lower = name.toLowerCase()
    if (NEVER_PASSED.has(lower))
      issues.push({ pointer: `${at}/setHeaders/${name}`, message: `"${lower}" cannot be set on a call` })
    return [lower, template(value, `${at}/setHeaders/${name}`, headerSafe)] as const
  })
  return {
    name: c.name,
    index: i,
    service: c.service,
    route: c.route,
    method: c.method,
    path: template(c.path, `${at}/path`, encodeURIComponent),
    passHeaders,
    setHeaders,
    body: c.body === undefined ? undefined : template(c.body, `${at}/body`, jsonEscape),
    deps: [...deps],
    dependents: [],
    required: c.required,
    timeout: c.timeout,
    shape: {
      target: dotPath(c.target, `${at}/target`, false, issues),
      allow: c.allow?.map((p, k) => dotPath(p, `${at}/allow/${k}`, true, issues)!),
      deny: (c.deny ?? []).map((p, k) => dotPath(p, `${at}/deny/${k}`, true, issues)!),
      mapping: Object.entries(c.mapping).map(
        ([from, to]) =>
          [
            dotPath(from, `${at}/mapping/${from}`, false, issues)!,
            dotPath(to, `${at}/mapping/${from}`, false, issues)!,
          ] as const,
      ),
      group: c.group,
      collection: c.collection,
    },
  }
}

function dotPath(
  source: string | undefined,
  pointer: string,
  wildcards: boolean,
  issues: ConfigIssue[],
): DotPath | undefined {
  if (source === undefined) return undefined
  try {
    const path = parseDotPath(source, { wildcards })
    if (!wildcards && path.segments.includes(EVERY))
      issues.push({ pointer, message: `"${source}": "*" is not allowed here` })
    return path
  } catch (err) {
    if (!(err instanceof DotPathError)) throw err
    issues.push({ pointer, message: err.message })
    return { source, segments: [], wildcards: 0 }
  }
}

/** A value rendered inside a JSON string literal of a body template. */
function jsonEscape(value: string): string {
  return JSON.stringify(value).slice(1, -1)
}

/** A cycle in the dependencies, as call indices (first repeated last), or undefined. */
function findCycle(calls: readonly CompiledCall[]): number[] | undefined {
  const state = new Array<0 | 1 | 2>(calls.length).fill(0)
  const stack: number[] = []
  const visit = (i: number): number[] | undefined => {
    state[i] = 1
    stack.push(i)
    for (const d of calls[i]!.deps) {
      if (state[d] === 1) return [...stack.slice(stack.indexOf(d)), d]
      if (state[d] === 0) {
        const found = visit(d)
        if (found) return found
      }
    }
    stack.pop()
    state[i] = 2
    return undefined
  }
  for (let i = 0; i < calls.length; i++) {
    if (state[i] === 0) {
      const found = visit(i)
      if (found) return found
    }
  }
  return undefined
}
