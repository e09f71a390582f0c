import { defineError } from '@gatehousejs/sdk'

/**
 * Errors the gateway itself sends for a gRPC route. Errors that come from the gRPC service are
 * `GH_GRPC_<STATUS>` (see `status.ts`): one code per gRPC status, so a client can switch on the code.
 */

/** 404: the route reached the plugin, but no rule maps this method and path to an RPC. */
export const GrpcNoRule = defineError(
  'GH_GRPC_NO_RULE',
  404,
  (method: string, path: string) => `No gRPC method is mapped to ${method} ${path}`,
)

/** 400: the path parameters, query or JSON body cannot be turned into the request message. */
export const GrpcRequestInvalid = defineError(
  'GH_GRPC_REQUEST_INVALID',
  400,
  (detail: string) => `The request cannot be translated to the gRPC request message: ${detail}`,
)
