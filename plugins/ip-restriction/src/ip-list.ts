import { BlockList, isIPv4, isIPv6 } from 'node:net'
import type { ConfigIssue } from '@gatehousejs/sdk'

/**
 * A compiled list of addresses and CIDR ranges, checked with node:net's BlockList (a binary match, no
 * string comparison). IPv4-mapped IPv6 (`::ffff:192.0.2.1`, what a dual-stack socket reports for an
 * IPv4 client) is treated as the IPv4 address, in the list and in the client's address alike, so
 * `192.0.2.0/24` matches a client seen as `::ffff:192.0.2.9` and the other way round.
 */
export interface IpList {
  readonly size: number
  has(ip: string): boolean
}

const MAPPED = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i

/** The address in the family it really is: `::ffff:a.b.c.d` becomes `a.b.c.d`. */
export function unmap(ip: string): string {
  const m = MAPPED.exec(ip)
  return m ? m[1]! : ip
}

/** Compiles `entries`; each bad entry becomes an issue at `<pointer>/<index>`. */
export function compileIpList(entries: readonly string[], pointer: string, issues: ConfigIssue[]): IpList {
  const list = new BlockList()
  entries.forEach((entry, i) => {
    const problem = addEntry(list, entry.trim())
    if (problem !== undefined) issues.push({ pointer: `${pointer}/${i}`, message: `"${entry}" ${problem}` })
  })
  return {
    size: entries.length,
    has(ip: string): boolean {
      const addr = unmap(ip)
      if (isIPv4(addr)) return list.check(addr, 'ipv4')
      if (isIPv6(addr)) return list.check(addr, 'ipv6')
      return false
    },
  }
}

function addEntry(list: BlockList, entry: string): string | undefined {
  const slash = entry.indexOf('/')
  const addrPart = slash < 0 ? entry : entry.slice(0, slash)
  let addr = unmap(addrPart)
  const mapped = addr !== addrPart
  if (!isIPv4(addr) && !isIPv6(addr)) return 'is not an IPv4 or IPv6 address or CIDR range'
  // Zone ids (`fe80::1%eth0`) name an interface, not an address a client connects from.
  if (addr.includes('%')) return 'has a zone id, which client addresses never carry'
  const family = isIPv4(addr) ? 'ipv4' : 'ipv6'
  if (slash < 0) {
    list.addAddress(addr, family)
    return undefined
  }
  const prefixText = entry.slice(slash + 1)
  let prefix = /^\d{1,3}$/.test(prefixText) ? Number(prefixText) : Number.NaN
  // A mapped range (`::ffff:10.0.0.0/104`) is the IPv4 range 96 bits shorter.
  if (mapped) {
    if (prefix < 96) return 'is an IPv4-mapped range wider than the mapped space (use a prefix of 96 to 128)'
    prefix -= 96
  }
  const max = family === 'ipv4' ? 32 : 128
  if (!Number.isInteger(prefix) || prefix > max) {
    return `has an invalid prefix length (0 to ${mapped ? 128 : max} for ${mapped ? 'IPv4-mapped IPv6' : family === 'ipv4' ? 'IPv4' : 'IPv6'})`
  }
  addr = addr.toLowerCase()
  list.addSubnet(addr, prefix, family)
  return undefined
}
