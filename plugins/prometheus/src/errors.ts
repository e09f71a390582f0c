import { defineError } from '@gatehousejs/sdk'

/** Errors a scraper can get from the metrics endpoint. Codes are GH_PROMETHEUS_<PROBLEM>. */

/** 403: the scraper's address is not in `endpoint.allow`. */
export const ScrapeForbidden = defineError(
  'GH_PROMETHEUS_FORBIDDEN',
  403,
  () => 'This address may not read the metrics',
)

/** 401: `endpoint.token` is set and the request did not carry it as a bearer token. */
export const ScrapeUnauthorized = defineError(
  'GH_PROMETHEUS_UNAUTHORIZED',
  401,
  () => 'The metrics endpoint needs a valid bearer token',
)

/**
 * 503: in a cluster worker with `workers: "aggregate"`, the primary did not answer with the
 * aggregated metrics in time (it is not running `setupClusterMetrics()`, or a worker is stuck).
 */
export const AggregationFailed = defineError(
  'GH_PROMETHEUS_AGGREGATION_FAILED',
  503,
  () => 'Metrics from the worker processes could not be aggregated; try again',
)
