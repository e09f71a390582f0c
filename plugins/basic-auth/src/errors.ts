import { defineError } from '@gatehousejs/sdk'

/**
 * Every error basic-auth sends to a client (each with a row in the README and docs/errors.md). All are
 * 401 with `WWW-Authenticate: Basic realm="<realm>", charset="UTF-8"` (RFC 7617), and none says
 * whether the user name exists.
 */

/** 401: no `Authorization: Basic ...` (nor `Proxy-Authorization: Basic ...`) header. */
export const BasicMissing = defineError(
  'GH_BASIC_AUTH_MISSING',
  401,
  'Unauthorized: Basic credentials required',
)

/** 401: a Basic header that is not base64 of `user:password`. */
export const BasicMalformed = defineError(
  'GH_BASIC_AUTH_MALFORMED',
  401,
  'Malformed Basic credentials: expected base64 of "user:password"',
)

/** 401: an unknown user name or a wrong password (the two are not told apart). */
export const BasicInvalid = defineError('GH_BASIC_AUTH_INVALID', 401, 'Invalid authentication credentials')
