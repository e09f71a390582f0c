/** How long {@link waitFor} polls, and how often. */
export interface WaitForOptions {
  /** Milliseconds before it gives up and throws (default 10 000): room for a busy CI machine. */
  timeout?: number
  /** Milliseconds between two checks (default 25). */
  interval?: number
}

/** Thrown by {@link waitFor} when the condition did not hold in time. */
export class WaitTimeoutError extends Error {
  override name = 'WaitTimeoutError'
  /** What the last check returned (`undefined`, `null` or `false`) or threw. */
  readonly last: unknown

  constructor(what: string, timeout: number, last: unknown, threw: boolean) {
    const seen = threw
      ? `; the last check threw: ${describe(last)}`
      : `; the last check returned ${describe(last)}`
    super(`timed out after ${timeout} ms waiting for ${what}${seen}`, threw ? { cause: last } : undefined)
    this.last = last
  }
}

function describe(value: unknown): string {
  if (value instanceof Error) return `${value.name}: ${value.message}`
  return String(value)
}

/**
 * Polls `check` until it returns something other than `undefined`, `null` or `false`, and resolves to
 * that value. A check that throws counts as not yet (a server still starting refuses connections);
 * after `timeout` ms it rejects with a {@link WaitTimeoutError} that names `what` and what the last
 * check returned or threw.
 *
 * For what a test cannot be told about directly: a log handler that runs after the response, a
 * client that reconnects in the background, a health check that marks a target down. Wait for the
 * event, not for a fixed time: a `sleep(100)` that passes on a laptop fails on a busy CI machine.
 *
 * @example
 * const line = await waitFor('the access log line', () => logs.withMsg('request completed')[0])
 * await waitFor('node B to see the new config', async () => (await request(b.url)).status === 200)
 */
export async function waitFor<T>(
  what: string,
  check: () => T | undefined | null | false | Promise<T | undefined | null | false>,
  options: WaitForOptions = {},
): Promise<T> {
  const timeout = options.timeout ?? 10_000
  const interval = options.interval ?? 25
  if (!(timeout >= 0) || !(interval >= 0)) {
    throw new RangeError(
      `waitFor: timeout and interval must be milliseconds >= 0 (got ${timeout}, ${interval})`,
    )
  }
  const deadline = Date.now() + timeout
  for (;;) {
    let last: unknown
    let threw = false
    try {
      last = await check()
      if (last !== undefined && last !== null && last !== false) return last as T
    } catch (err) {
      last = err
      threw = true
    }
    if (Date.now() >= deadline) throw new WaitTimeoutError(what, timeout, last, threw)
    await new Promise((resolve) => setTimeout(resolve, interval))
  }
}
