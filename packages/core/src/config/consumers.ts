import type { ConfigIssue } from '@gatehousejs/sdk'
import type { GatewayConfig } from '@gatehousejs/sdk/config'
import { list, type Plan } from './plan.js'

/** Consumers, checked into the plan (step 1): ids and usernames unique, what is sent upstream sendable. */

/** Printable text (and tabs/spaces): what an HTTP header value may hold (RFC 9110 §5.5). */
const IDENTITY_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/

/** Checks consumers into `plan.consumers`; returns the index from id and username to id. */
export function checkConsumers(
  config: GatewayConfig,
  plan: Plan,
  issues: ConfigIssue[],
): Map<string, string> {
  const consumerIndex = new Map<string, string>()
  list(config.consumers).forEach((c, ci) => {
    const pointer = `/consumers/${ci}`
    const id = c.id ?? c.username
    if (!id) {
      issues.push({ pointer, message: 'a consumer needs an "id" or a "username"' })
      return
    }
    for (const key of new Set([id, c.username].filter(Boolean) as string[])) {
      if (consumerIndex.has(key)) {
        const field = c.id === key ? 'id' : 'username'
        issues.push({ pointer: `${pointer}/${field}`, message: `duplicate consumer id or username "${key}"` })
      }
      consumerIndex.set(key, id)
    }
    // These are sent upstream as X-Consumer-* headers: refuse what cannot be a header value now.
    const groups = Array.isArray(c.groups) ? c.groups : []
    const headerValues: [string, unknown][] = [
      ['username', c.username],
      ['customId', c.customId],
      ...groups.map((g, gi): [string, unknown] => [`groups/${gi}`, g]),
    ]
    for (const [field, value] of headerValues) {
      if (typeof value === 'string' && !IDENTITY_VALUE.test(value))
        issues.push({
          pointer: `${pointer}/${field}`,
          message: 'must be printable Latin-1 text (it is sent upstream in an X-Consumer-* header)',
        })
    }
    groups.forEach((g, gi) => {
      if (typeof g === 'string' && g.includes(','))
        issues.push({
          pointer: `${pointer}/groups/${gi}`,
          message: 'a group name cannot contain "," (X-Consumer-Groups is a comma-separated list)',
        })
    })
    plan.consumers.push(
      Object.freeze({
        id,
        username: c.username,
        customId: c.customId,
        groups: Object.freeze([...groups]),
        credentials: Object.freeze(c.credentials ?? {}),
        pointer,
      }),
    )
  })
  return consumerIndex
}
