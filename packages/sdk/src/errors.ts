import { STATUS_CODES } from 'node:http'

/** The JSON body of every error response a client can get from Gatehouse. */
export interface ErrorBody {
  statusCode: number
  code: string
  error: string
  message: string
  requestId: string
}

export interface GatehouseErrorOptions {
  /** Headers to send with the error response (e.g. `www-authenticate`, `retry-after`). */
  headers?: Record<string, string>
  /** The underlying error: logged, never sent to the client. */
  cause?: unknown
}

/**
 * An error with a stable code and an HTTP status. Its `message` is written for the client and is sent
 * in the JSON body; put internals in `cause`, which only reaches the log.
 *
 * @example
 * throw new GatehouseError('GH_HELLO_FORBIDDEN', 403, 'Greetings are not allowed here')
 */
const BRAND = Symbol.for('gatehouse.error')

export class GatehouseError extends Error {
  /**
   * `instanceof` works across copies of the SDK (ESM and CJS builds, two installed versions): a plugin's
   * error is recognised by a core that loaded another copy.
   */
  static override [Symbol.hasInstance](value: unknown): boolean {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[BRAND] === true
  }
  override readonly name = 'GatehouseError'
  readonly [BRAND] = true
  readonly code: string
  readonly statusCode: number
  headers: Record<string, string>

  constructor(code: string, statusCode: number, message: string, options: GatehouseErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    if (!Number.isInteger(statusCode) || statusCode < 400 || statusCode > 599) {
      throw new RangeError(`GatehouseError ${code}: statusCode must be an integer from 400 to 599`)
    }
    this.code = code
    this.statusCode = statusCode
    this.headers = options.headers ?? {}
  }

  /** Adds response headers and returns the same error, for `throw err.withHeaders({...})`. */
  withHeaders(headers: Record<string, string>): this {
    Object.assign(this.headers, headers)
    return this
  }

  /** The JSON body sent to the client. */
  toBody(requestId: string): ErrorBody {
    return {
      statusCode: this.statusCode,
      code: this.code,
      error: STATUS_CODES[this.statusCode] ?? 'Error',
      message: this.message,
      requestId,
    }
  }
}

/** A factory for one error code, made by {@link defineError}. */
export interface ErrorFactory<A extends unknown[]> {
  (...args: A): GatehouseError
  readonly code: string
  readonly statusCode: number
}

/**
 * Declares an error code once, with its status and message, the way a package's `errors.ts` lists them.
 *
 * @example
 * export const HelloForbidden = defineError('GH_HELLO_FORBIDDEN', 403, (who: string) => `${who} may not pass`)
 * throw HelloForbidden('Mallory')
 */
export function defineError<A extends unknown[] = []>(
  code: string,
  statusCode: number,
  message: string | ((...args: A) => string),
): ErrorFactory<A> {
  if (!/^GH_[A-Z0-9]+(_[A-Z0-9]+)+$/.test(code)) {
    throw new TypeError(`error code "${code}" must look like GH_<AREA>_<PROBLEM>`)
  }
  // Checked here, at module load, not at the first throw (inside a request, where it would be a 500).
  if (!Number.isInteger(statusCode) || statusCode < 400 || statusCode > 599) {
    throw new RangeError(`error ${code}: statusCode must be an integer from 400 to 599`)
  }
  const factory = (...args: A) =>
    new GatehouseError(code, statusCode, typeof message === 'function' ? message(...args) : message)
  Object.defineProperty(factory, 'name', { value: code })
  return Object.assign(factory, { code, statusCode }) as ErrorFactory<A>
}

export function isGatehouseError(value: unknown): value is GatehouseError {
  return value instanceof GatehouseError
}

/** A configuration error, with one entry per problem. Thrown at load and by `reload`, never per request. */
export interface ConfigIssue {
  /** JSON pointer into the configuration, e.g. `/services/0/routes/1/paths/0`. */
  pointer: string
  message: string
  /** The plugin whose configuration is wrong, when it is a plugin's. */
  plugin?: string
  /** The file the configuration came from, when it came from one. */
  file?: string
}

const CONFIG_BRAND = Symbol.for('gatehouse.config-error')

export class ConfigError extends Error {
  /** `instanceof` works across copies of the SDK, as for `GatehouseError`. */
  static override [Symbol.hasInstance](value: unknown): boolean {
    return (
      typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[CONFIG_BRAND] === true
    )
  }
  override readonly name = 'ConfigError'
  readonly [CONFIG_BRAND] = true
  readonly code = 'GH_CONFIG_INVALID'
  readonly issues: ConfigIssue[]

  constructor(issues: ConfigIssue[], file?: string) {
    const withFile = file ? issues.map((i) => ({ ...i, file: i.file ?? file })) : issues
    super(
      `invalid gateway configuration (${withFile.length} problem${withFile.length === 1 ? '' : 's'}):\n` +
        withFile.map((i) => `  - ${formatIssue(i)}`).join('\n'),
    )
    this.issues = withFile
  }
}

export function formatIssue(issue: ConfigIssue): string {
  const where = `${issue.file ? `${issue.file}#` : ''}${issue.pointer || '/'}`
  return `${where}${issue.plugin ? ` (plugin "${issue.plugin}")` : ''}: ${issue.message}`
}
