import { defineError } from '@gatehousejs/sdk'

/**
 * Every error this plugin sends to a client. Codes are GH_REQUEST_TRANSFORMER_<PROBLEM>; messages are
 * written for the client.
 */

/** 400: `replace.uri` rendered a path with a `.` or `..` segment (from a value the client sent). */
export const PathInvalid = defineError(
  'GH_REQUEST_TRANSFORMER_PATH_INVALID',
  400,
  'The request cannot be mapped to an upstream path',
)
