import { defineError } from '@gatehousejs/sdk'

/**
 * Every error this plugin sends to a client, each with a row in the README (and in docs/errors.md for
 * plugins that ship). Codes are GH_<PLUGIN>_<PROBLEM>; messages are written for the client.
 */

/** 400: a header listed in `requiredHeaders` is missing from the request, or empty. */
export const HeaderRequired = defineError(
  'GH_TEMPLATE_HEADER_REQUIRED',
  400,
  (header: string) => `The request must carry a non-empty "${header}" header`,
)
