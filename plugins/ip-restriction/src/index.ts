import { ConfigError, type ConfigIssue, definePlugin, PRIORITY } from '@gatehousejs/sdk'
import manifest from '../package.json' with { type: 'json' }
import { ipForbidden } from './errors.js'
import { compileIpList } from './ip-list.js'
import { type IpRestrictionConfig, IpRestrictionSchema } from './schema.js'

export { IpForbidden } from './errors.js'
export { unmap } from './ip-list.js'
export { type IpRestrictionConfig, IpRestrictionSchema } from './schema.js'

/**
 * `ip-restriction`: lets clients through, or not, by address, like Kong's ip-restriction plugin.
 *
 * The address is `ctx.client.ip`: the connection's peer, or, when the peer is a trusted proxy (core's
 * `trustProxy`), the first untrusted address in `X-Forwarded-For`. A client that is not behind a
 * trusted proxy cannot change it with a forged header.
 *
 * `deny` is checked first and always wins; then, when `allow` lists anything, only those get through.
 * A refusal is `GH_IP_FORBIDDEN` with the configured status (403) and message.
 *
 * @example
 * plugins: [{ name: 'ip-restriction', config: { allow: ['10.0.0.0/8', '2001:db8::/32'], deny: ['10.0.0.13'] } }]
 */
export const ipRestriction = definePlugin({
  name: 'ip-restriction',
  version: manifest.version,
  // After CORS (a preflight is answered first, like Kong), before authentication: a refused address
  // costs no credential check.
  priority: PRIORITY.ipRestriction,
  description: 'Allows or denies clients by IP address or CIDR range (IPv4 and IPv6)',
  schema: IpRestrictionSchema,
  validate: (config) => compileLists(config).issues,
  init(config) {
    const { allow, deny, issues } = compileLists(config)
    if (issues.length > 0) throw new ConfigError(issues)
    const { status, message } = config
    return {
      access: function ipRestrictionAccess(ctx) {
        const ip = ctx.client.ip
        if (deny.size > 0 && deny.has(ip)) throw ipForbidden(status, message)
        if (allow.size > 0 && !allow.has(ip)) throw ipForbidden(status, message)
      },
    }
  },
})

/** Both lists, and what is wrong with them: `validate` returns the issues, `init` refuses them. */
function compileLists(config: IpRestrictionConfig) {
  const issues: ConfigIssue[] = []
  const allow = compileIpList(config.allow, '/config/allow', issues)
  const deny = compileIpList(config.deny, '/config/deny', issues)
  if (allow.size === 0 && deny.size === 0) {
    issues.push({ pointer: '/config', message: 'at least one of "allow" and "deny" must list an address' })
  }
  return { allow, deny, issues }
}

export default ipRestriction
