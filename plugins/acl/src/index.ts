import { ConfigError, type ConfigIssue, definePlugin, PRIORITY } from '@gatehousejs/sdk'
import manifest from '../package.json' with { type: 'json' }
import { AclForbidden, AclUnauthenticated } from './errors.js'
import { type AclConfig, AclSchema } from './schema.js'

export { AclForbidden, AclUnauthenticated } from './errors.js'
export { type AclConfig, AclSchema } from './schema.js'

const NAME = 'acl'

/**
 * `acl`: lets a consumer through by its groups, like Kong's acl. It runs after the auth plugins (which
 * identify the consumer) and before rate limiting. `allow`: the consumer must be in one of the groups;
 * `deny`: it must be in none of them. No consumer at all is a 401; a consumer the lists refuse is a
 * 403. The anonymous consumer of an auth plugin is judged by its own groups like any other.
 *
 * @example
 * plugins: [
 *   { name: 'key-auth', service: 'admin' },
 *   { name: 'acl', service: 'admin', config: { allow: ['admins'] } },
 * ]
 */
export const acl = definePlugin({
  name: NAME,
  version: manifest.version,
  priority: PRIORITY.acl,
  description: 'Allows or denies consumers by their groups',
  schema: AclSchema,
  validate: aclIssues,
  init(config) {
    const issues = aclIssues(config)
    if (issues.length > 0) throw new ConfigError(issues)
    const allow = config.allow ? new Set(config.allow) : undefined
    const deny = config.deny ? new Set(config.deny) : undefined
    const hide = config.hideGroupsHeader

    return {
      access(ctx) {
        const consumer = ctx.consumer
        if (consumer === undefined) throw AclUnauthenticated()
        const groups = consumer.groups
        if (allow !== undefined && !groups.some((g) => allow.has(g))) throw AclForbidden()
        if (deny !== undefined && groups.some((g) => deny.has(g))) throw AclForbidden()
        if (hide) delete ctx.upstream.headers['x-consumer-groups']
      },
    }
  },
})

/** Kong's rule: one list per instance; both would leave it unclear which wins for a consumer in both. */
function aclIssues(config: AclConfig): ConfigIssue[] {
  if ((config.allow === undefined) !== (config.deny === undefined)) return []
  return [
    {
      pointer: '/config',
      plugin: NAME,
      message:
        config.allow === undefined
          ? 'give "allow" or "deny" (a list of consumer groups)'
          : 'give "allow" or "deny", not both (use two acl instances on different scopes to combine them)',
    },
  ]
}

export default acl
