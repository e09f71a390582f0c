import { defineError, GatehouseError } from '@gatehousejs/sdk'

/** One thing wrong with a request: where (`in`, and the parameter `name` or the body `pointer`) and what. */
export interface Problem {
  in: 'path' | 'query' | 'header' | 'cookie' | 'body'
  name?: string
  pointer?: string
  message: string
}

/** 400: the request does not match its operation; the body lists the problems (`problems`). */
export class RequestInvalid extends GatehouseError {
  readonly problems: Problem[]
  readonly total: number
  constructor(problems: Problem[], total: number) {
    super(
      RequestInvalid.code,
      400,
      `The request does not match the API description (${total} problem${total === 1 ? '' : 's'})`,
    )
    this.problems = problems
    this.total = total
  }
  static readonly code = 'GH_OPENAPI_REQUEST_INVALID'
  override toBody(requestId: string) {
    return {
      ...super.toBody(requestId),
      problems: this.problems,
      ...(this.total > this.problems.length ? { more: this.total - this.problems.length } : {}),
    }
  }
}

/** 404: no operation of the description has this path. */
export const OperationNotFound = defineError(
  'GH_OPENAPI_OPERATION_NOT_FOUND',
  404,
  'No operation of the API description matches this path',
)

/** 405: the path is described, but not with this method. */
export const MethodNotAllowed = defineError(
  'GH_OPENAPI_METHOD_NOT_ALLOWED',
  405,
  (method: string) => `The API description has no ${method} operation for this path`,
)

/** 415: the operation takes a body, but not of this content type. */
export const UnsupportedMediaType = defineError(
  'GH_OPENAPI_UNSUPPORTED_MEDIA_TYPE',
  415,
  (types: string) => `The request body must be one of: ${types}`,
)

/** 502 (`responses: enforce`): the upstream's response does not match the description. */
export const ResponseInvalid = defineError(
  'GH_OPENAPI_RESPONSE_INVALID',
  502,
  'The upstream response does not match the API description',
)

/**
 * 403: the token lacks a scope the operation's `oauth2`/`openIdConnect` security requirement lists
 * (RFC 6750 §3.1 `insufficient_scope`; the `WWW-Authenticate` header names the scopes of the first
 * alternative).
 */
export const InsufficientScope = defineError(
  'GH_OPENAPI_INSUFFICIENT_SCOPE',
  403,
  (needed: string) => `The token lacks a scope this operation requires (${needed})`,
)
