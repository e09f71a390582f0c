import { existsSync } from 'node:fs'
import { mkdir, writeFile } from 'node:fs/promises'
import { basename, join, relative, resolve } from 'node:path'

/** The plugins `init` lists in package.json and shows, commented out, in gateway.yaml. */
export const INIT_PLUGINS = ['key-auth', 'rate-limit', 'cors'] as const

export interface InitOptions {
  /** The CLI's version: dependencies are `^<version>`. */
  version: string
  /** Overwrite files that exist (default: refuse and write nothing). */
  force?: boolean
}

const GATEWAY_YAML = `# yaml-language-server: $schema=./node_modules/@gatehousejs/cli/schema/gatehouse.schema.json
#
# A Gatehouse gateway. Start it with \`npm start\`; edits to this file are applied while it runs (an
# invalid edit is refused and logged, the running configuration stays). Check it with
# \`npm run validate\`, list its routes with \`npm run routes\`.
# The model: https://github.com/gatehousejs/gatehouse/blob/main/docs/configuration.md

services:
  # One upstream service. \${NAME:-default} reads the environment variable NAME.
  - name: example
    url: \${UPSTREAM_URL:-http://127.0.0.1:3000}
    routes:
      # Requests to /api/... go to the service without the /api prefix (/api/users -> /users).
      - name: api
        paths: [/api]
        stripPath: true

# Plugins run on every route unless an entry names a service, route or consumer.
plugins:
  # 600 requests a minute per client IP, counted in this process; a client over it gets 429
  # GH_RATE_LIMITED with Retry-After. Every answer carries RateLimit-* headers.
  - name: rate-limit
    config:
      limits: { minute: 600 }
      limitBy: [ip]
  # A local plugin, by its path: it returns the request id to the client (x-request-id).
  - name: ./plugins/request-id-echo.mjs
  # Installed by package.json too: remove the # to turn one on, then see its README.
  # - name: cors
  #   config: { origins: ['https://app.example.com'] }
  # - name: key-auth # clients send an API key in the apikey header

# consumers:
#   - username: mobile-app
#     credentials:
#       key-auth: [{ key: "\${MOBILE_APP_KEY}" }]
`

/** A local plugin next to the file: shows how one is written and loaded by path. */
const LOCAL_PLUGIN = `// A local plugin, loaded by its path in gateway.yaml (\`name: ./plugins/request-id-echo.mjs\`).
// It copies the request id to the response so a client can quote it. See docs/writing-a-plugin.md.
export default {
  name: 'request-id-echo',
  version: '1.0.0',
  priority: 1000,
  apiVersion: 1,
  schema: { type: 'object', additionalProperties: false, properties: {} },
  init() {
    return {
      response(ctx) {
        ctx.response.headers['x-request-id'] = ctx.requestId
      },
    }
  },
}
`

function packageJson(name: string, version: string): string {
  const range = `^${version}`
  const dependencies: Record<string, string> = { '@gatehousejs/cli': range }
  for (const p of INIT_PLUGINS) dependencies[`@gatehousejs/plugin-${p}`] = range
  return `${JSON.stringify(
    {
      name,
      version: '0.1.0',
      private: true,
      type: 'module',
      scripts: {
        start: 'gatehouse start gateway.yaml --supervise --pid-file gatehouse.pid',
        validate: 'gatehouse validate gateway.yaml',
        routes: 'gatehouse routes gateway.yaml',
        reload: 'gatehouse reload --pid-file gatehouse.pid',
        'reload:code': 'gatehouse reload --code --pid-file gatehouse.pid',
      },
      dependencies,
    },
    null,
    2,
  )}\n`
}

/**
 * `gatehouse init [dir]`: a commented gateway.yaml (one service, one route, plugins commented out),
 * a package.json with the CLI and those plugins, and a local plugin. Overwrites no file unless `force`:
 * if one exists, it writes nothing and says which.
 */
export async function init(dirArg: string | undefined, options: InitOptions, out: Console): Promise<number> {
  const dir = resolve(dirArg ?? '.')
  const files: Record<string, string> = {
    'gateway.yaml': GATEWAY_YAML,
    'package.json': packageJson(npmName(basename(dir)), options.version),
    'plugins/request-id-echo.mjs': LOCAL_PLUGIN,
  }
  const existing = Object.keys(files).filter((f) => existsSync(join(dir, f)))
  if (existing.length > 0 && options.force !== true) {
    out.error(
      `gatehouse init: ${existing.join(', ')} already ${existing.length === 1 ? 'exists' : 'exist'} in ${dir}; nothing was written.\n` +
        'Run it in an empty directory, or add --force to overwrite those files.',
    )
    return 1
  }
  await mkdir(join(dir, 'plugins'), { recursive: true })
  for (const [name, text] of Object.entries(files)) await writeFile(join(dir, name), text)
  const where = relative(process.cwd(), dir) || '.'
  const overwritten = existing.length > 0 ? ` (overwrote ${existing.join(', ')})` : ''
  out.log(`Created a Gatehouse project in ${dir}${overwritten}:
  gateway.yaml                  one service, one route, rate-limit and a local plugin on, more to turn on
  package.json                  the CLI and the ${INIT_PLUGINS.join(', ')} plugins
  plugins/request-id-echo.mjs   a local plugin

Next:
${where === '.' ? '' : `  cd ${where}\n`}  npm install
  UPSTREAM_URL=http://127.0.0.1:3000 npm start
  curl -i http://localhost:8080/api/`)
  return 0
}

/** A valid npm package name from a directory name. */
function npmName(name: string): string {
  const cleaned = name
    .toLowerCase()
    .replace(/[^a-z0-9._-]+/g, '-')
    .replace(/^[._-]+/, '')
  return cleaned || 'gateway'
}
