import { timingSafeEqual } from 'node:crypto'
import { BlockList, isIP } from 'node:net'
import type { ConfigIssue } from '@gatehousejs/sdk'
import { ScrapeForbidden, ScrapeUnauthorized } from './errors.js'

/** Who may read the metrics: an address allow-list and/or a bearer token, both checked per scrape. */
export interface ScrapeGuard {
  check(ip: string, authorization: string | string[] | undefined): void
}

/**
 * The guard, and one issue per address or CIDR that is none, by its index: `validate` returns the
 * issues, `init` refuses them.
 */
export function scrapeGuard(
  allow: readonly string[],
  token: string | undefined,
): { guard: ScrapeGuard; issues: ConfigIssue[] } {
  const issues: ConfigIssue[] = []
  const list = allow.length > 0 ? allowList(allow, issues) : undefined
  const expected = token === undefined ? undefined : Buffer.from(`Bearer ${token}`)
  const guard: ScrapeGuard = {
    check(ip, authorization) {
      if (list !== undefined && !allowed(list, ip)) throw ScrapeForbidden()
      if (expected !== undefined) {
        const got = typeof authorization === 'string' ? Buffer.from(authorization) : undefined
        if (got === undefined || got.length !== expected.length || !timingSafeEqual(got, expected))
          throw ScrapeUnauthorized().withHeaders({ 'www-authenticate': 'Bearer realm="metrics"' })
      }
    },
  }
  return { guard, issues }
}

function allowList(allow: readonly string[], issues: ConfigIssue[]): BlockList {
  const list = new BlockList()
  allow.forEach((entry, i) => {
    const [address, bits, extra] = entry.split('/')
    const family = isIP(address ?? '')
    const prefix = bits === undefined ? (family === 6 ? 128 : 32) : Number(bits)
    if (
      family === 0 ||
      extra !== undefined ||
      !Number.isInteger(prefix) ||
      prefix < 0 ||
      prefix > (family === 6 ? 128 : 32) ||
      (bits !== undefined && !/^\d+$/.test(bits))
    ) {
      issues.push({
        pointer: `/config/endpoint/allow/${i}`,
        message: `"${entry}" is not an IP address or CIDR (e.g. 10.0.0.0/8, ::1)`,
      })
      return
    }
    list.addSubnet(address!, prefix, family === 6 ? 'ipv6' : 'ipv4')
  })
  return list
}

function allowed(list: BlockList, ip: string): boolean {
  // An IPv4 client on a dual-stack socket shows as ::ffff:a.b.c.d.
  const v4 = ip.startsWith('::ffff:') && isIP(ip.slice(7)) === 4 ? ip.slice(7) : undefined
  if (v4 !== undefined) return list.check(v4, 'ipv4') || list.check(ip, 'ipv6')
  const family = isIP(ip)
  return family !== 0 && list.check(ip, family === 6 ? 'ipv6' : 'ipv4')
}
