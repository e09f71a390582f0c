/** The methods retried by default: RFC 9110 §9.2.2's idempotent ones (CONNECT is never proxied). */
export const IDEMPOTENT_METHODS = ['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE']

/**
 * A retry budget (Finagle's RetryBudget, Envoy's retry_budget): over a sliding window, retries may be
 * at most `minRetries` plus `ratio` × requests. When every target fails, load on the upstream stays
 * within (1 + ratio) × the client's rate instead of (1 + attempts) × it.
 */
export class RetryBudget {
  private windowStart = 0
  private requests = 0
  private retries = 0
  private previousRequests = 0
  private previousRetries = 0

  constructor(
    private readonly ratio: number,
    private readonly minRetries: number,
    private readonly window: number,
  ) {}

  request(now: number): void {
    this.roll(now)
    this.requests++
  }

  /** Takes one retry from the budget; false when it is spent. */
  tryRetry(now: number): boolean {
    this.roll(now)
    // The previous window counts in proportion to how much of it still overlaps the sliding window.
    const overlap = 1 - (now - this.windowStart) / this.window
    const requests = this.requests + this.previousRequests * overlap
    const retries = this.retries + this.previousRetries * overlap
    if (retries + 1 > this.minRetries + this.ratio * requests) return false
    this.retries++
    return true
  }

  private roll(now: number): void {
    const elapsed = now - this.windowStart
    if (elapsed < this.window) return
    const skippedOne = elapsed >= 2 * this.window
    this.previousRequests = skippedOne ? 0 : this.requests
    this.previousRetries = skippedOne ? 0 : this.retries
    this.requests = 0
    this.retries = 0
    this.windowStart = skippedOne ? now : this.windowStart + this.window
  }
}
