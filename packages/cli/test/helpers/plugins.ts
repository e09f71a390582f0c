import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

/**
 * A plugin written as a plain module (no imports: a definition is a plain object), so fixtures work
 * from a temporary directory. It stamps `x-<name>` upstream and `x-worker-pid` on responses.
 */
export function pluginSource(name: string, options: { apiVersion?: number; version?: string } = {}): string {
  return `export default {
  name: ${JSON.stringify(name)},
  version: ${JSON.stringify(options.version ?? '1.0.0')},
  priority: 500,
  apiVersion: ${options.apiVersion ?? 1},
  schema: { type: 'object', additionalProperties: false, properties: { value: { type: 'string', default: 'on' } } },
  init(config) {
    return {
      access(ctx) { ctx.upstream.headers[${JSON.stringify(`x-${name}`)}] = config.value },
      response(ctx) { ctx.response.headers['x-worker-pid'] = String(process.pid) },
      admin: [
        { method: 'GET', path: '/echo/:word', handler: (req) => ({ body: { word: req.params.word, value: config.value } }) },
        { method: 'POST', path: '/echo', handler: (req) => ({ status: 201, body: { got: req.body } }) },
      ],
    }
  },
}
`
}

/** Installs a package `pkg` exporting a plugin into `dir/node_modules`, as npm would. */
export function installPackage(
  dir: string,
  pkg: string,
  name: string,
  options: { apiVersion?: number } = {},
) {
  const root = join(dir, 'node_modules', ...pkg.split('/'))
  mkdirSync(root, { recursive: true })
  writeFileSync(
    join(root, 'package.json'),
    JSON.stringify({ name: pkg, version: '2.3.4', type: 'module', exports: { '.': './index.js' } }),
  )
  writeFileSync(join(root, 'index.js'), pluginSource(name, options))
}
