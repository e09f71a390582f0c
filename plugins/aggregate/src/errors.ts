import { defineError } from '@gatehousejs/sdk'

/**
 * The aggregated response's error, and the codes of the entries of its failure list (`_errors`). Each
 * has a row in docs/errors.md. A failed call whose answer is a Gatehouse JSON error keeps that error's
 * code in the list (e.g. `GH_KEY_AUTH_MISSING` for a call made without the caller's key).
 */
export const AggregateFailed = defineError(
  'GH_AGGREGATE_FAILED',
  502,
  'The response could not be composed: a required call failed, or every call did',
)

/** Codes of failure-list entries (not client responses of their own). */
export const CALL_FAILED = 'GH_AGGREGATE_CALL_FAILED'
export const CALL_TIMEOUT = 'GH_AGGREGATE_CALL_TIMEOUT'
export const CALL_SKIPPED = 'GH_AGGREGATE_CALL_SKIPPED'
export const CALL_BAD_RESPONSE = 'GH_AGGREGATE_CALL_BAD_RESPONSE'
