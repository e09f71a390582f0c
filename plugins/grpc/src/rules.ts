import type { ConfigIssue } from '@gatehousejs/sdk'
import { rulesFromAnnotations } from './annotations.js'
import { isScalar, resolveFieldPath } from './message.js'
import type { AnyMethod, FieldInfo, ProtoSchema } from './proto.js'
import type { GrpcConfig, GrpcRule } from './schema.js'

/** One segment of a path template: a literal, or a field bound to the segment's text. */
type Segment = { literal: string } | { param: string; fields: FieldInfo[] }

/** A rule ready to match and call: its template, its method and what the request message takes. */
export interface CompiledRule {
  readonly rule: GrpcRule
  readonly segments: readonly Segment[]
  readonly method: AnyMethod
  readonly requestType: string
  readonly responseType: string
  /** Field paths bound by the path (and by the body field), which query parameters may not set. */
  readonly bound: ReadonlySet<string>
  /** The body field's JSON name, for `body: <field>`. */
  readonly bodyField: FieldInfo | undefined
  /** The response field's JSON name, for `responseBody`. */
  readonly responseField: string | undefined
}

const PARAM = /^\{([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)\}$/

/** Checks every rule against the loaded proto; each problem is an issue naming its field. */
export function compileRules(
  schema: ProtoSchema,
  service: string,
  methods: Record<string, AnyMethod>,
  rules: readonly GrpcRule[],
  pointerOf: (index: number) => string,
  prefix: string,
  issues: ConfigIssue[],
): CompiledRule[] {
  const out: CompiledRule[] = []
  rules.forEach((rule, i) => {
    const at = pointerOf(i)
    // Rules from annotations all point at the .proto: their field names are not config fields.
    const own = at.startsWith('/config/rules/')
    const ptr = (field: string) => (own ? `${at}/${field}` : at)
    const issue = (field: string, message: string) =>
      issues.push({ pointer: ptr(field), message: prefix + message })
    const method = methods[rule.rpc]
    if (method === undefined) {
      issue('rpc', `service ${service} has no method "${rule.rpc}"`)
      return
    }
    if (method.requestStream) {
      issue(
        'rpc',
        `"${rule.rpc}" is client-streaming (or bidirectional): only unary and server-streaming methods can be mapped`,
      )
      return
    }
    const requestType = schema.typeOf(service, method, 'request')
    const responseType = schema.typeOf(service, method, 'response')
    if (requestType === undefined || responseType === undefined) {
      issue('rpc', `the message types of "${rule.rpc}" cannot be resolved`)
      return
    }
    const bound = new Set<string>()
    const segments: Segment[] = []
    for (const part of rule.path.slice(1).split('/')) {
      const m = PARAM.exec(part)
      if (m === null) {
        if (part.includes('{') || part.includes('}'))
          issue('path', `"${part}" is not a literal segment nor a {field}`)
        segments.push({ literal: part })
        continue
      }
      const resolved = resolveFieldPath(schema, requestType, m[1]!)
      if ('error' in resolved) {
        issue('path', `path parameter {${m[1]}}: ${resolved.error}`)
        continue
      }
      const last = resolved.fields[resolved.fields.length - 1]!
      if (!isScalar(last) || last.repeated) {
        issue('path', `path parameter {${m[1]}} must be a single scalar field`)
        continue
      }
      bound.add(resolved.fields.map((f) => f.name).join('.'))
      segments.push({ param: m[1]!, fields: resolved.fields })
    }
    let bodyField: FieldInfo | undefined
    if (rule.body !== undefined && rule.body !== '*') {
      bodyField = schema.field(requestType, rule.body)
      if (bodyField === undefined) issue('body', `${requestType} has no field "${rule.body}"`)
      else bound.add(bodyField.name)
    }
    let responseField: string | undefined
    if (rule.responseBody !== undefined) {
      responseField = schema.field(responseType, rule.responseBody)?.name
      if (responseField === undefined)
        issue('responseBody', `${responseType} has no field "${rule.responseBody}"`)
    }
    out.push({ rule, segments, method, requestType, responseType, bound, bodyField, responseField })
  })
  // The most specific rule wins, whatever the order: a literal segment before a parameter at the
  // same place (`/v1/users/watch` before `/v1/users/{id}`); otherwise the configured order.
  return out.sort(bySpecificity)
}

function bySpecificity(a: CompiledRule, b: CompiledRule): number {
  const n = Math.min(a.segments.length, b.segments.length)
  for (let i = 0; i < n; i++) {
    const d = Number('param' in a.segments[i]!) - Number('param' in b.segments[i]!)
    if (d !== 0) return d
  }
  return 0
}

/** The first rule matching the method and path, with the path's parameter texts (decoded). */
export function matchRule(
  rules: readonly CompiledRule[],
  method: string,
  path: string,
): { rule: CompiledRule; params: string[] } | undefined {
  const parts = path.slice(1).split('/')
  next: for (const r of rules) {
    if (r.rule.method !== method || r.segments.length !== parts.length) continue
    const params: string[] = []
    for (let i = 0; i < parts.length; i++) {
      const seg = r.segments[i]!
      const part = parts[i]!
      if ('literal' in seg) {
        if (seg.literal !== part) continue next
      } else {
        if (part === '') continue next
        params.push(part)
      }
    }
    return { rule: r, params }
  }
  return undefined
}

/**
 * The rules from the config, or else from the methods' `google.api.http` annotations (as Envoy and
 * Kong's grpc-gateway read them); a problem in an annotation is named at `/config/proto`.
 */
export function configuredRules(
  schema: ProtoSchema,
  config: GrpcConfig,
  methods: Record<string, AnyMethod>,
  issues: ConfigIssue[],
): CompiledRule[] {
  if (config.rules !== undefined)
    return compileRules(
      schema,
      config.service,
      methods,
      config.rules,
      (i) => `/config/rules/${i}`,
      '',
      issues,
    )
  const found = rulesFromAnnotations(methods)
  for (const problem of found.problems) issues.push({ pointer: '/config/proto', message: problem })
  if (found.rules.length === 0 && found.problems.length === 0) {
    issues.push({
      pointer: '/config/rules',
      message: `no rules: give \`rules\`, or annotate the methods of ${config.service} with google.api.http`,
    })
    return []
  }
  return compileRules(
    schema,
    config.service,
    methods,
    found.rules,
    () => '/config/proto',
    'google.api.http annotation: ',
    issues,
  )
}
