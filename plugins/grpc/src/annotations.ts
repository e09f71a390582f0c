import type { AnyMethod } from './proto.js'
import type { GrpcRule } from './schema.js'

/** One `google.api.http` rule as proto-loader gives the option: snake_case keys, bindings nested. */
interface HttpRule {
  get?: string
  put?: string
  post?: string
  delete?: string
  patch?: string
  custom?: { kind?: string; path?: string }
  body?: string
  response_body?: string
  responseBody?: string
  additional_bindings?: HttpRule | HttpRule[]
  additionalBindings?: HttpRule | HttpRule[]
}

const VERBS = ['get', 'put', 'post', 'delete', 'patch'] as const

/** `{name=*}` is `{name}`; other sub-templates (`{name=shelves/*}`, `**`) are not supported. */
function pathOf(template: string): string | undefined {
  const path = template.replace(/\{([A-Za-z0-9_.]+)=\*\}/g, '{$1}')
  return /[=*]|:[^/]*$/.test(path) ? undefined : path
}

/**
 * Rules from the methods' `option (google.api.http)` annotations, with their `additional_bindings`,
 * in the order of the service. The .proto must import `google/api/annotations.proto` (give its
 * directory in `includeDirs`).
 */
export function rulesFromAnnotations(methods: Record<string, AnyMethod>): {
  rules: GrpcRule[]
  problems: string[]
} {
  const rules: GrpcRule[] = []
  const problems: string[] = []
  for (const [name, method] of Object.entries(methods)) {
    // proto-loader lists each method under its name and its camelCase alias: keep the proto name.
    if (method.path.slice(method.path.lastIndexOf('/') + 1) !== name) continue
    const options = (method as { options?: Record<string, unknown> }).options
    const http = options?.['(google.api.http)'] as HttpRule | undefined
    if (http === undefined) continue
    const bindings = [http, ...toArray(http.additional_bindings ?? http.additionalBindings)]
    for (const binding of bindings) {
      const verb = VERBS.find((v) => typeof binding[v] === 'string')
      if (verb === undefined) {
        problems.push(
          `${name}: google.api.http ${binding.custom ? `custom "${binding.custom.kind}"` : 'without a method'} is not supported`,
        )
        continue
      }
      const path = pathOf(binding[verb]!)
      if (path === undefined) {
        problems.push(
          `${name}: google.api.http path "${binding[verb]}" is not supported (only {field} and {field=*} segments)`,
        )
        continue
      }
      const responseBody = binding.response_body ?? binding.responseBody
      rules.push({
        rpc: name,
        method: verb.toUpperCase() as GrpcRule['method'],
        path,
        ...(binding.body ? { body: binding.body } : {}),
        ...(responseBody ? { responseBody } : {}),
      })
    }
  }
  return { rules, problems }
}

function toArray<T>(v: T | T[] | undefined): T[] {
  return v === undefined ? [] : Array.isArray(v) ? v : [v]
}
