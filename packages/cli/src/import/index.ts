import { writeFile } from 'node:fs/promises'
import { basename } from 'node:path'
import { parseArgs } from 'node:util'
import { IMPORT_HELP } from './help.js'
import { importKong } from './kong.js'
import { importOpenApi, type OpenApiOptions } from './openapi.js'
import { type ImportResult, toCommentedYaml } from './output.js'
import { ImportError, readSource } from './source.js'

export { IMPORT_HELP } from './help.js'
export { importKong, KONG_FORMATS, regexToPath } from './kong.js'
export { KONG_PLUGINS, KONG_UNMAPPED, kongPluginMapping } from './kong-plugins.js'
export { importOpenApi, type OpenApiOptions } from './openapi.js'
export { type ImportResult, type ImportWarning, toCommentedYaml } from './output.js'
export { ImportError, parseSource, readSource } from './source.js'

interface Out {
  log(...args: unknown[]): void
  error(...args: unknown[]): void
}

/** `gatehouse import …` with argv after `import`; resolves to the exit code. */
export async function importMain(argv: string[], out: Out): Promise<number> {
  let parsed: ReturnType<typeof parseArgs>
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        output: { type: 'string', short: 'o' },
        strict: { type: 'boolean' },
        upstream: { type: 'string' },
        'group-by': { type: 'string' },
        'base-path': { type: 'string' },
        validator: { type: 'boolean' },
        'no-discover': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    })
  } catch (err) {
    out.error(`gatehouse import: ${(err as Error).message}\nRun \`gatehouse help import\` for usage.`)
    return 2
  }
  const { values, positionals } = parsed
  if (values.help) {
    out.log(IMPORT_HELP)
    return 0
  }
  const [kind, file, extra] = positionals
  const usage = (msg: string) => {
    out.error(`gatehouse import: ${msg}\nRun \`gatehouse help import\` for usage.`)
    return 2
  }
  if (kind !== 'kong' && kind !== 'openapi')
    return usage('say what to import: `import kong <file>` or `import openapi <spec>`')
  if (file === undefined) return usage(`import ${kind} needs a file`)
  if (extra !== undefined) return usage(`unexpected argument "${extra}"`)
  const output = values.output as string | undefined
  let result: ImportResult
  let header: string[]
  try {
    if (kind === 'kong') {
      if (values.upstream !== undefined) return usage('--upstream is for `import openapi`')
      const source = await readSource(file)
      result = importKong(source)
      header = [
        `Imported by \`gatehouse import kong\` from ${basename(file)}.`,
        'Check it with `gatehouse validate`; see docs/migrating-from-kong.md.',
      ]
    } else {
      const upstream = values.upstream as string | undefined
      if (upstream === undefined)
        return usage('import openapi needs --upstream <url> (where the routes proxy to)')
      if (!/^https?:\/\/[^\s/]+/.test(upstream))
        return usage(`--upstream must be an http(s) URL, got "${upstream}"`)
      const groupBy = (values['group-by'] as string | undefined) ?? 'tag'
      if (groupBy !== 'tag' && groupBy !== 'server') return usage('--group-by is tag or server')
      const basePath = values['base-path'] as string | undefined
      if (basePath !== undefined && !basePath.startsWith('/')) return usage('--base-path must start with /')
      const options: OpenApiOptions = {
        upstream,
        groupBy,
        basePath,
        validator: values.validator === true,
        discover: values['no-discover'] !== true,
        outputFile: output,
      }
      result = await importOpenApi(file, options)
      header = [
        `Imported by \`gatehouse import openapi\` from ${basename(file)}.`,
        'Check it with `gatehouse validate`; see docs/openapi.md.',
      ]
    }
  } catch (err) {
    if (err instanceof ImportError) {
      out.error(err.format())
      out.error(
        `gatehouse import: ${err.problems.length} problem${err.problems.length === 1 ? '' : 's'} in ${err.file}`,
      )
      return 1
    }
    throw err
  }
  for (const w of result.warnings) out.error(`warning: ${file} ${w.pointer || '/'}: ${w.message}`)
  if (values.strict === true && result.warnings.length > 0) {
    out.error(
      `gatehouse import: ${result.warnings.length} warning${result.warnings.length === 1 ? '' : 's'} with --strict; nothing written`,
    )
    return 1
  }
  const yaml = toCommentedYaml(result, header)
  if (output === undefined) out.log(yaml.replace(/\n$/, ''))
  else {
    await writeFile(output, yaml)
    const services = result.config.services?.length ?? 0
    const routes = result.config.services?.reduce((n, s) => n + (s.routes?.length ?? 0), 0) ?? 0
    out.error(
      `gatehouse import: wrote ${output} (${services} service${services === 1 ? '' : 's'}, ${routes} route${routes === 1 ? '' : 's'}, ${result.warnings.length} warning${result.warnings.length === 1 ? '' : 's'})`,
    )
  }
  return 0
}
