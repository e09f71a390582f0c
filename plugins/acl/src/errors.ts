import { defineError } from '@gatehousejs/sdk'

/** Every error acl sends to a client (each with a row in the README and docs/errors.md). */

/** 401: no consumer was identified (no auth plugin ran before acl, or none identified anyone). */
export const AclUnauthenticated = defineError(
  'GH_ACL_UNAUTHENTICATED',
  401,
  'Unauthorized: this route needs an identified consumer',
)

/** 403: the consumer's groups are not allowed here (not in `allow`, or in `deny`). */
export const AclForbidden = defineError('GH_ACL_FORBIDDEN', 403, 'You cannot consume this service')
