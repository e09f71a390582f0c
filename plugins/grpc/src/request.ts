import type { AccessContext } from '@gatehousejs/sdk'
import { GrpcRequestInvalid } from './errors.js'
import { applyQuery, normaliseJson, setFromText } from './message.js'
import type { ProtoSchema } from './proto.js'
import type { CompiledRule } from './rules.js'

/**
 * The request message, serialised: the body (whole or one field), then the path parameters (they win,
 * as in grpc-gateway), then query parameters for the fields neither bound (none with `body: "*"`).
 */
export function requestPayload(
  schema: ProtoSchema,
  r: CompiledRule,
  params: string[],
  ctx: AccessContext,
): Buffer {
  let message: Record<string, unknown> = {}
  const body = r.rule.body
  if (body !== undefined) {
    const json = jsonBody(ctx)
    if (json !== undefined) {
      if (body === '*') message = normaliseJson(schema, r.requestType, json, '') as Record<string, unknown>
      else {
        const f = r.bodyField!
        const wrapped = normaliseJson(schema, r.requestType, { [f.name]: json }, '') as Record<
          string,
          unknown
        >
        message[f.name] = wrapped[f.name]
      }
    }
  }
  let i = 0
  for (const seg of r.segments) {
    if (!('param' in seg)) continue
    let text: string
    try {
      text = decodeURIComponent(params[i++]!)
    } catch {
      throw GrpcRequestInvalid(`path parameter {${seg.param}} is not valid UTF-8`)
    }
    setFromText(schema, message, seg.fields, text, `path parameter {${seg.param}}`)
  }
  if (body !== '*') applyQuery(schema, r.requestType, message, ctx.request.query, r.bound)
  try {
    return r.method.requestSerialize(message)
  } catch (err) {
    // protobuf.js names the field and the problem ("user.address: object expected").
    throw GrpcRequestInvalid((err as Error).message)
  }
}

/** The JSON body: parsed by core for a JSON content type; a body of another type must still be JSON. */
function jsonBody(ctx: AccessContext): unknown {
  if (ctx.request.body !== undefined) return ctx.request.body
  const raw = ctx.request.rawBody
  if (raw === undefined || raw.length === 0) return undefined
  try {
    return JSON.parse(raw.toString('utf8'))
  } catch {
    throw GrpcRequestInvalid('the body is not JSON')
  }
}
