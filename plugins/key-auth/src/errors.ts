import { defineError } from '@gatehousejs/sdk'

/**
 * Every error key-auth sends to a client (each with a row in the README and docs/errors.md). All are
 * 401 with `WWW-Authenticate: Key realm="<realm>"`, and none says which consumers or keys exist.
 */

/** 401: no key under any of the configured names (header, query parameter or body field). */
export const KeyMissing = defineError('GH_KEY_AUTH_MISSING', 401, 'No API key found in request')

/** 401: a key was sent but it is not any consumer's. */
export const KeyInvalid = defineError('GH_KEY_AUTH_INVALID', 401, 'Invalid authentication credentials')

/** 401: the key was sent more than once (two headers, a repeated query parameter): ambiguous, refused. */
export const KeyDuplicate = defineError('GH_KEY_AUTH_DUPLICATE', 401, 'Duplicate API key found in request')
