import { defineError } from '@gatehousejs/sdk/host'

/**
 * Every error core sends to a client. Each has a row in docs/errors.md. Messages are written for the
 * client; 5xx messages never carry internals (the log has the cause).
 */
export const RouteNotFound = defineError('GH_ROUTE_NOT_FOUND', 404, 'No route matches this request')
export const RequestMalformed = defineError('GH_REQUEST_MALFORMED', 400, 'The request is not valid HTTP')
export const MissingHost = defineError(
  'GH_REQUEST_HOST_MISSING',
  400,
  'An HTTP/1.1 request needs a Host header',
)
export const ConnectUnsupported = defineError(
  'GH_REQUEST_CONNECT_UNSUPPORTED',
  405,
  'The gateway is a reverse proxy and does not tunnel CONNECT requests',
)
export const RequestUpgradeUnsupported = defineError(
  'GH_REQUEST_UPGRADE_UNSUPPORTED',
  400,
  'Only WebSocket upgrades are proxied; send this request without Upgrade',
)
export const RequestPathInvalid = defineError(
  'GH_REQUEST_PATH_INVALID',
  400,
  (why: string) => `The request path is not valid: ${why}`,
)
export const RequestPathEscapedSlash = defineError(
  'GH_REQUEST_PATH_ESCAPED_SLASH',
  400,
  'The request path contains an encoded slash or backslash (%2F, %5C), which this route does not accept',
)
export const RequestHeadersTooLarge = defineError(
  'GH_REQUEST_HEADERS_TOO_LARGE',
  431,
  'The request headers are too large',
)
export const RequestBodyTooLarge = defineError(
  'GH_REQUEST_BODY_TOO_LARGE',
  413,
  (limit: number) => `The request body is larger than ${limit} bytes`,
)
export const RequestBodyInvalid = defineError(
  'GH_REQUEST_BODY_INVALID',
  400,
  (why: string) => `The request body could not be read: ${why}`,
)
export const RequestEncodingUnsupported = defineError(
  'GH_REQUEST_ENCODING_UNSUPPORTED',
  415,
  (coding: string) =>
    `The request body's Content-Encoding "${coding}" cannot be decoded here; send it as identity, gzip, deflate or br`,
)
export const RequestTimeout = defineError('GH_REQUEST_TIMEOUT', 408, 'The request was not received in time')
export const UpstreamUnreachable = defineError(
  'GH_UPSTREAM_UNREACHABLE',
  502,
  'The upstream service could not be reached',
)
export const UpstreamTimeout = defineError(
  'GH_UPSTREAM_TIMEOUT',
  504,
  'The upstream service did not answer in time',
)
export const UpstreamBadResponse = defineError(
  'GH_UPSTREAM_BAD_RESPONSE',
  502,
  'The upstream service sent an invalid response',
)
export const UpstreamUnavailable = defineError(
  'GH_UPSTREAM_UNAVAILABLE',
  503,
  'No healthy upstream target is available; retry later',
)
export const PluginFailed = defineError('GH_PLUGIN_FAILED', 500, 'The gateway failed to process the request')
export const PhaseMisuse = defineError(
  'GH_PLUGIN_PHASE_MISUSE',
  500,
  'The gateway failed to process the request',
)
export const GatewayClosing = defineError(
  'GH_GATEWAY_CLOSING',
  503,
  'The gateway is shutting down; retry on another instance',
)
export const InternalError = defineError(
  'GH_GATEWAY_INTERNAL',
  500,
  'The gateway failed to process the request',
)
export const DispatchLoop = defineError(
  'GH_DISPATCH_LOOP',
  508,
  'The request called back into the gateway too many times in a row (a loop)',
)
export const DispatchTimeout = defineError(
  'GH_DISPATCH_TIMEOUT',
  504,
  'A call the gateway made for this request did not answer in time',
)
export const UpstreamQueueFull = defineError(
  'GH_UPSTREAM_QUEUE_FULL',
  503,
  'Too many requests are waiting for the upstream service; retry later',
)
export const UpstreamQueueTimeout = defineError(
  'GH_UPSTREAM_QUEUE_TIMEOUT',
  503,
  'No connection to the upstream service was free in time; retry later',
)
export const GatewayConnectionLimit = defineError(
  'GH_GATEWAY_CONNECTION_LIMIT',
  503,
  'The gateway has too many open connections; retry later',
)
export const GatewayConcurrencyLimit = defineError(
  'GH_GATEWAY_CONCURRENCY_LIMIT',
  503,
  'The gateway is serving too many requests at once; retry later',
)
export const RouteConcurrencyLimit = defineError(
  'GH_ROUTE_CONCURRENCY_LIMIT',
  503,
  'This route is serving too many requests at once; retry later',
)
export const GatewayOverloaded = defineError(
  'GH_GATEWAY_OVERLOADED',
  503,
  'The gateway is overloaded; retry later',
)
