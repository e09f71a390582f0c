import type { TrustProxyConfig } from '@gatehousejs/sdk/config'
import proxyaddr from 'proxy-addr'

/** `(address, hop)`: whether to believe what the peer at that address says about the client. */
export type TrustFn = (address: string, hop: number) => boolean

const TRUST_NONE: TrustFn = () => false
const TRUST_ALL: TrustFn = () => true

/** Compiled once per generation, as Fastify's `trustProxy` is, but swappable on reload. */
export function compileTrust(value: TrustProxyConfig | undefined): TrustFn {
  if (value === undefined || value === false) return TRUST_NONE
  if (value === true) return TRUST_ALL
  if (typeof value === 'number') return (_a, hop) => hop < value
  return proxyaddr.compile(value)
}

export function isTrustNone(fn: TrustFn): boolean {
  return fn === TRUST_NONE
}
