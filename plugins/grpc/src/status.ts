import { GatehouseError } from '@gatehousejs/sdk'

/** A gRPC status: its number, its name, the HTTP status it maps to, and a message for 5xx. */
export interface GrpcStatusInfo {
  readonly code: number
  readonly name: string
  readonly http: number
}

/**
 * gRPC status → HTTP status, as grpc-gateway (`runtime.HTTPStatusFromCode`) and Envoy's
 * grpc_json_transcoder map them. CANCELLED is 499, nginx's "client closed request".
 */
const STATUSES: readonly GrpcStatusInfo[] = [
  { code: 0, name: 'OK', http: 200 },
  { code: 1, name: 'CANCELLED', http: 499 },
  { code: 2, name: 'UNKNOWN', http: 500 },
  { code: 3, name: 'INVALID_ARGUMENT', http: 400 },
  { code: 4, name: 'DEADLINE_EXCEEDED', http: 504 },
  { code: 5, name: 'NOT_FOUND', http: 404 },
  { code: 6, name: 'ALREADY_EXISTS', http: 409 },
  { code: 7, name: 'PERMISSION_DENIED', http: 403 },
  { code: 8, name: 'RESOURCE_EXHAUSTED', http: 429 },
  { code: 9, name: 'FAILED_PRECONDITION', http: 400 },
  { code: 10, name: 'ABORTED', http: 409 },
  { code: 11, name: 'OUT_OF_RANGE', http: 400 },
  { code: 12, name: 'UNIMPLEMENTED', http: 501 },
  { code: 13, name: 'INTERNAL', http: 500 },
  { code: 14, name: 'UNAVAILABLE', http: 503 },
  { code: 15, name: 'DATA_LOSS', http: 500 },
  { code: 16, name: 'UNAUTHENTICATED', http: 401 },
]

/** Every status, for docs and tests. */
export const GRPC_STATUSES: readonly GrpcStatusInfo[] = STATUSES

/** What a 5xx says to the client: the service's own message may carry internals (addresses, traces). */
const SERVER_MESSAGES: Readonly<Record<number, string>> = {
  2: 'The gRPC service failed',
  4: 'The gRPC service did not answer in time',
  12: 'The gRPC method is not implemented by the service',
  13: 'The gRPC service failed',
  14: 'The gRPC service is unavailable',
  15: 'The gRPC service failed',
}

/** The status info for a gRPC code; an unknown number counts as UNKNOWN (gRPC spec). */
export function grpcStatus(code: number): GrpcStatusInfo {
  return STATUSES[code] ?? STATUSES[2]!
}

/**
 * A gRPC error as a Gatehouse error: `GH_GRPC_<STATUS>` with the mapped HTTP status, the service's
 * message for 4xx (it was written for the caller) and a fixed message for 5xx (the detail is logged
 * through `cause`). `grpc-status` tells a client the original code.
 */
export function grpcError(
  err: { code?: number; details?: string },
  headers?: Record<string, string>,
): GatehouseError {
  const info = grpcStatus(typeof err.code === 'number' ? err.code : 2)
  const status = info.code === 0 ? 500 : info.http
  const message =
    status < 500 || status === 499
      ? err.details || `gRPC status ${info.name}`
      : (SERVER_MESSAGES[info.code] ?? 'The gRPC service failed')
  return new GatehouseError(`GH_GRPC_${info.name}`, status, message, {
    cause: err,
    headers: { ...headers, 'grpc-status': String(info.code) },
  })
}
