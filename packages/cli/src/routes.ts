import type { RouteSummary } from '@gatehousejs/core'

/**
 * The route table as text: one block per route, in declaration order, with each phase's plugin
 * instances in the order they run.
 */
export function formatRoutes(routes: readonly RouteSummary[]): string {
  if (routes.length === 0) return '(no routes)'
  return routes
    .map((r) => {
      const lines = [
        `${r.name}  →  ${r.service} (${r.upstream})`,
        `  paths:   ${r.paths.join(', ') || '(any)'}`,
        `  methods: ${r.methods?.join(', ') ?? '(any)'}`,
      ]
      if (r.hosts) lines.push(`  hosts:   ${r.hosts.join(', ')}`)
      for (const phase of ['access', 'response', 'log', 'error'] as const) {
        const chain = r.plugins[phase]
        if (chain.length > 0) lines.push(`  ${`${phase}:`.padEnd(9)}${chain.join(' → ')}`)
      }
      return lines.join('\n')
    })
    .join('\n\n')
}
