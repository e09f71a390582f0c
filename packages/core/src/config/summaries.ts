import type { Generation, PluginInstanceSummary, RouteSummary } from '../model.js'

/** A generation as `gateway.routes()`, `gateway.plugins()`, the admin API and `/status` show it. */

/** The route table in declaration order, with each route's compiled plugin chain. */
export function routeSummaries(gen: Generation): RouteSummary[] {
  return gen.routes.map((r) => ({
    name: r.name,
    service: r.service.name,
    upstream: r.service.info.url,
    paths: r.info.paths,
    methods: r.info.methods,
    hosts: r.info.hosts,
    plugins: {
      access: r.chain.access.map((s) => s.instance.id),
      response: r.chain.response.map((s) => s.instance.id),
      log: r.chain.log.map((s) => s.instance.id),
      error: r.chain.error.map((s) => s.instance.id),
    },
  }))
}

/** The running plugin instances: id, plugin, scope, and the admin endpoints each offers. */
export function instanceSummaries(gen: Generation): PluginInstanceSummary[] {
  return gen.instances.map((i) => ({
    id: i.id,
    plugin: i.def.name,
    version: i.def.version,
    scope: i.scope,
    pointer: i.pointer,
    schema: i.def.schema,
    admin: i.handlers.admin ?? [],
  }))
}
