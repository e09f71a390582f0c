import { defineError, GatehouseError } from '@gatehousejs/sdk'

/** 403 (or the configured `status`): the client's address is denied, or not in `allow`. */
export const IpForbidden = defineError('GH_IP_FORBIDDEN', 403, 'Your IP address is not allowed')

/** The refusal with the configured status and message; the code stays GH_IP_FORBIDDEN. */
export function ipForbidden(status: number, message: string): GatehouseError {
  return new GatehouseError(IpForbidden.code, status, message)
}
