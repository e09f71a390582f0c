import type { GatehouseError, Logger } from '@gatehousejs/sdk'
import * as oidc from 'openid-client'
import { OidcProviderUnavailable } from './errors.js'

/** After a failed discovery, requests answer 503 at once for this long before the next attempt. */
const RETRY_AFTER_FAILURE = 2_000

export interface ProviderOptions {
  issuer: string
  clientId: string
  clientSecret: string | undefined
  /** Milliseconds. */
  timeout: number
  log: Logger
}

/**
 * The provider as openid-client sees it: its metadata from `/.well-known/openid-configuration`
 * (RFC 8414 / OpenID Connect Discovery 1.0), fetched once and shared by every request. A provider
 * that is down at start does not stop the gateway: requests get 503 until discovery succeeds, and
 * discovery is retried at most every two seconds (one attempt shared by concurrent requests).
 */
export class Provider {
  private config: oidc.Configuration | undefined
  private pending: Promise<oidc.Configuration> | undefined
  private failedAt = Number.NEGATIVE_INFINITY

  constructor(readonly options: ProviderOptions) {}

  /** The discovered configuration, or a 503 error. */
  get(): oidc.Configuration | Promise<oidc.Configuration> {
    if (this.config !== undefined) return this.config
    if (Date.now() - this.failedAt < RETRY_AFTER_FAILURE) return Promise.reject(OidcProviderUnavailable())
    this.pending ??= this.discover().finally(() => {
      this.pending = undefined
    })
    return this.pending
  }

  private async discover(): Promise<oidc.Configuration> {
    const { issuer, clientId, clientSecret, timeout, log } = this.options
    const url = new URL(issuer)
    // Plain http is for a provider on loopback (tests, a sidecar); https everywhere else.
    const execute = url.protocol === 'http:' ? [oidc.allowInsecureRequests] : []
    try {
      const config = await oidc.discovery(
        url,
        clientId,
        clientSecret === undefined ? undefined : { client_secret: clientSecret },
        clientSecret === undefined ? oidc.None() : oidc.ClientSecretBasic(clientSecret),
        { execute, timeout: Math.max(1, Math.ceil(timeout / 1000)) },
      )
      config.timeout = Math.max(1, Math.ceil(timeout / 1000))
      this.config = config
      log.debug({ issuer }, 'openid-connect: provider discovered')
      return config
    } catch (err) {
      this.failedAt = Date.now()
      log.warn({ err, issuer }, 'openid-connect: discovery failed')
      throw unavailable(err)
    }
  }
}

export function unavailable(cause: unknown): GatehouseError {
  const e = OidcProviderUnavailable()
  Object.defineProperty(e, 'cause', { value: cause, enumerable: false })
  return e
}

/**
 * Whether an error from openid-client or jose means "the provider could not be reached or failed"
 * (503) rather than "the provider, or our checks, refused this" (4xx): network errors, timeouts,
 * and 5xx answers.
 */
export function isUnreachable(err: unknown): boolean {
  let e = err as { name?: string; code?: string; status?: number; cause?: unknown } | undefined
  for (let depth = 0; e !== undefined && e !== null && depth < 4; depth++) {
    if (e instanceof oidc.ResponseBodyError) return e.status >= 500
    if (e.name === 'TimeoutError' || e.name === 'AbortError') return true
    if (e.code === 'ERR_JWKS_TIMEOUT' || e.code === 'OAUTH_TIMEOUT') return true
    if (typeof e.code === 'string' && /^(E[A-Z]+|UND_ERR_.*)$/.test(e.code)) return true
    if (e.name === 'TypeError' && /fetch failed/i.test(String((e as { message?: string }).message)))
      return true
    if (typeof e.status === 'number' && e.status >= 500) return true
    e = e.cause as typeof e
  }
  return false
}
