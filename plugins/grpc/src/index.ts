import { readFileSync } from 'node:fs'
import {
  type AccessContext,
  ConfigError,
  type ConfigIssue,
  definePlugin,
  PRIORITY,
  perLoad,
} from '@gatehousejs/sdk'
import { type ChannelCredentials, credentials } from '@grpc/grpc-js'
import manifest from '../package.json' with { type: 'json' }
import { callServerStream, callUnary, requestMetadata, STREAM_CONTENT_TYPES } from './call.js'
import { Channels, type GrpcTarget, parseTarget } from './channels.js'
import { GrpcNoRule } from './errors.js'
import { LOADER_OPTIONS, ProtoSchema } from './proto.js'
import { requestPayload } from './request.js'
import { type CompiledRule, configuredRules, matchRule } from './rules.js'
import { type GrpcConfig, GrpcSchema } from './schema.js'
import { isSpecialWellKnown, ResponseMapper, wellKnownToJson } from './well-known.js'

export { GrpcNoRule, GrpcRequestInvalid } from './errors.js'
export { type GrpcConfig, type GrpcRule, GrpcRuleSchema, GrpcSchema } from './schema.js'
export { GRPC_STATUSES, type GrpcStatusInfo, grpcError } from './status.js'
export { LOADER_OPTIONS }

/** gRPC metadata keys: lower-case letters, digits, `-`, `_`, `.`; `grpc-` is reserved for the protocol. */
const METADATA_KEY = /^[0-9a-z_.-]+$/

/**
 * `grpc`: answers HTTP JSON requests by calling gRPC methods, the REST-to-gRPC transcoding of Envoy's
 * grpc_json_transcoder and grpc-gateway. Each rule maps a method and a path template to an RPC of one
 * service in a .proto file: path parameters, query parameters and the JSON body become the request
 * message, the response message becomes JSON, and a gRPC status becomes an HTTP status with a
 * `GH_GRPC_<STATUS>` code. A server-streaming method answers with NDJSON or server-sent events, each
 * message written as it arrives.
 *
 * It runs last in `access` (after auth, ACL, rate limits and request transforms), so every policy
 * applies before the call, and the headers those plugins add upstream can be forwarded as metadata.
 *
 * @example
 * services: [{ name: 'users', url: 'http://127.0.0.1:50051', routes: [{ name: 'users', paths: ['/v1/users'] }],
 *   plugins: [{ name: 'grpc', config: { proto: 'users.proto', service: 'demo.users.v1.Users',
 *     rules: [{ rpc: 'GetUser', method: 'GET', path: '/v1/users/{id}' }] } }] }]
 */
export const grpc = definePlugin({
  name: 'grpc',
  version: manifest.version,
  priority: PRIORITY.logger + 2,
  description: 'Maps HTTP JSON routes to gRPC methods from a .proto file',
  schema: GrpcSchema,
  validate(config) {
    return compiledFor(config).issues
  },
  init(config, env) {
    const compiledInValidate = compiledFor.has(config)
    const { compiled, issues } = compiledFor(config)
    if (issues.length > 0 || compiled === undefined) throw new ConfigError(issues)
    const { schema, rules, fixedTarget } = compiled
    const channels = new Channels(compiled.tls)
    // With a fixed target the channel starts now; otherwise one per service origin, on first use.
    if (fixedTarget !== undefined) channels.get(fixedTarget)
    const pool = channels
    const mapper = new ResponseMapper(schema)
    /** The response message in its JSON form (well-known types), or the `responseBody` field of it. */
    function responseJson(r: CompiledRule, message: Record<string, unknown>): unknown {
      if (isSpecialWellKnown(r.responseType)) return wellKnownToJson(r.responseType, message)
      const json = mapper.map(r.responseType, message)
      return r.responseField === undefined ? json : json[r.responseField]
    }
    const needsBody = rules.some((r) => r.rule.body !== undefined)
    env.log.debug(
      { service: config.service, rules: rules.length, target: config.target, compiledInValidate },
      'grpc ready',
    )

    function targetOf(ctx: AccessContext): GrpcTarget {
      if (fixedTarget !== undefined) return fixedTarget
      const t = parseTarget(ctx.upstream.target)
      if (t === undefined) throw new Error(`the service url ${ctx.upstream.target} is no gRPC target`)
      return t
    }

    return {
      needs: needsBody ? { requestBody: true } : undefined,
      access: async function grpcAccess(ctx) {
        const match = matchRule(rules, ctx.request.method, ctx.request.path)
        if (match === undefined) throw GrpcNoRule(ctx.request.method, ctx.request.path)
        const rule = match.rule
        const payload = requestPayload(schema, rule, match.params, ctx)
        const client = pool.get(targetOf(ctx))
        const metadata = requestMetadata(config.forwardHeaders, ctx.upstream.headers, ctx.requestId)
        const deadline = Date.now() + (config.timeout ?? ctx.upstream.timeouts.read)
        if (!rule.method.responseStream) {
          const res = await callUnary(
            client,
            rule.method,
            payload,
            metadata,
            deadline,
            config.responseHeaders,
          )
          ctx.respond(200, responseJson(rule, res.message), res.headers)
          return
        }
        const format = rule.rule.stream ?? config.stream
        const res = await callServerStream(
          client,
          rule.method,
          payload,
          metadata,
          deadline,
          format,
          (m) => responseJson(rule, m),
          config.responseHeaders,
          ctx.requestId,
        )
        ctx.respond(200, res.body, {
          ...res.headers,
          'content-type': STREAM_CONTENT_TYPES[format],
          'cache-control': 'no-cache',
        })
      },
      close: function grpcClose() {
        pool.close()
      },
    }
  },
})

/**
 * What `compileGrpc` made of a config, once per load: a start or reload reads the .proto files and the
 * CA in `validate`, and `init` serves with that (the SDK's `perLoad`).
 */
const compiledFor = perLoad((config: GrpcConfig) => {
  const issues: ConfigIssue[] = []
  return { compiled: compileGrpc(config, issues), issues }
})

/**
 * What `init` builds from the config, with no I/O but reading the files it names (the .proto and the
 * CA): the loaded schema, the rules, a fixed target and the TLS credentials. Problems go to `issues`;
 * `undefined` when the .proto, its service or the CA cannot be used at all.
 */
function compileGrpc(config: GrpcConfig, issues: ConfigIssue[]) {
  let schema: ProtoSchema
  try {
    schema = new ProtoSchema(config.proto, config.includeDirs)
  } catch (err) {
    issues.push({
      pointer: '/config/proto',
      message: `cannot load ${config.proto}: ${(err as Error).message}`,
    })
    return undefined
  }
  const methods = schema.service(config.service)
  if (methods === undefined) {
    issues.push({
      pointer: '/config/service',
      message: `${config.proto} defines no service "${config.service}"`,
    })
    return undefined
  }
  const rules = configuredRules(schema, config, methods, issues)
  let fixedTarget: GrpcTarget | undefined
  if (config.target !== undefined) {
    fixedTarget = parseTarget(config.target)
    if (fixedTarget === undefined)
      issues.push({
        pointer: '/config/target',
        message: 'must be host:port, http://host:port or https://host:port',
      })
  }
  if (config.timeout === 0) issues.push({ pointer: '/config/timeout', message: 'must be more than 0' })
  config.forwardHeaders.forEach((h, i) => {
    if (!METADATA_KEY.test(h) || h.startsWith('grpc-'))
      issues.push({
        pointer: `/config/forwardHeaders/${i}`,
        message: `"${h}" cannot be a gRPC metadata key`,
      })
  })
  // Read now, so a missing file is a config error at load, not a failed request.
  let tls: ChannelCredentials | undefined
  try {
    tls = credentials.createSsl(config.caFile === undefined ? null : readFileSync(config.caFile))
  } catch (err) {
    issues.push({
      pointer: '/config/caFile',
      message: `cannot read ${config.caFile}: ${(err as Error).message}`,
    })
  }
  return tls && { schema, rules, fixedTarget, tls }
}

export default grpc
