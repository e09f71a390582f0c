import type { RequestView } from '@gatehousejs/sdk'
import type { CompiledService } from '../model.js'

/** The service a request goes to: a split rule's, or the route's own. Not followed transitively. */
export function splitService(service: CompiledService, req: RequestView): CompiledService {
  const split = service.split!
  for (const m of split.match) if (m.test(req)) return m.service
  if (split.shares.length > 0) {
    const roll = Math.random() * 100
    for (const s of split.shares) if (roll < s.upTo) return s.service
  }
  return service
}
