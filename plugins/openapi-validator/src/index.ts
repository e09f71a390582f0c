import { ConfigError, type ConfigIssue, definePlugin, PRIORITY, perLoad } from '@gatehousejs/sdk'
import manifest from '../package.json' with { type: 'json' }
import { type CompiledMedia, compileOperations, type Operation } from './compile.js'
import {
  InsufficientScope,
  MethodNotAllowed,
  OperationNotFound,
  type Problem,
  RequestInvalid,
  ResponseInvalid,
  UnsupportedMediaType,
} from './errors.js'
import { OperationMatcher } from './match.js'
import { checkMultipart } from './multipart.js'
import { parseCookies, readParam, toProblems } from './params.js'
import { type OpenApiValidatorConfig, OpenApiValidatorSchema } from './schema.js'
import { satisfied, tokenScopes } from './scopes.js'
import { isObject, type LoadedSpec, readSpec } from './spec.js'

export {
  InsufficientScope,
  MethodNotAllowed,
  OperationNotFound,
  type Problem,
  RequestInvalid,
  ResponseInvalid,
  UnsupportedMediaType,
} from './errors.js'
export { type OpenApiValidatorConfig, OpenApiValidatorSchema } from './schema.js'

const NAME = 'openapi-validator'

/** State the access phase leaves for the response phase: the operation the request matched. */
interface State extends Record<string, unknown> {
  op?: Operation
}

/**
 * `openapi-validator`: checks each request against its operation in an OpenAPI 3.0/3.1 description
 * before it reaches the upstream: path, query, header and cookie parameters (deserialised by their
 * `style`/`explode`, then checked by their schema), and the body by its content type (JSON and
 * url-encoded forms by schema; other media types by type only). Every validator is compiled by ajv
 * once per load, in `validate` (so `gatehouse validate` reports a schema ajv cannot compile) and kept
 * for `init`; a request runs only the validators of its operation. Optionally checks JSON responses.
 *
 * @example
 * plugins: [{ name: 'openapi-validator', config: { spec: './openapi.yaml', responses: 'report' } }]
 */
export const openapiValidator = definePlugin<typeof OpenApiValidatorSchema, State>({
  name: NAME,
  version: manifest.version,
  // After authentication, ACL and rate limiting (an unauthenticated client learns nothing about the
  // API's shape), before the request transformers change what is checked.
  priority: PRIORITY.requestTransform + 500,
  description: 'Validates requests (and optionally responses) against an OpenAPI 3.0/3.1 description',
  schema: OpenApiValidatorSchema,
  /**
   * The description reads, is OpenAPI 3.0/3.1 with paths, and every schema in it compiles (files are
   * read; URLs are `check`'s). What it compiled is what this load's `init` serves with.
   */
  async validate(config) {
    return (await compiledFor(config)).issues
  },
  /** `gatehouse validate --online`: a description that is, or `$ref`s, a URL is fetched, read and compiled. */
  async check(config) {
    if (!(await compiledFor(config)).remote) return []
    return (await compileSpec(config, false)).issues
  },
  async init(config, env) {
    const reused = compiledFor.has(config)
    const cached = await compiledFor(config)
    const { spec, operations, issues } = cached.remote ? await compileSpec(config, false) : cached
    if (spec === undefined || operations === undefined || issues.length > 0) throw new ConfigError(issues)
    const servers = Array.isArray(spec.doc.servers) ? spec.doc.servers : []
    const first = isObject(servers[0]) && typeof servers[0].url === 'string' ? servers[0].url : '/'
    const basePath = (config.basePath ?? serverPath(first)).replace(/\/+$/, '')
    const matcher = new OperationMatcher(operations, basePath)
    const max = config.maxProblems
    const pass = config.unknownOperation === 'pass'
    const needsBody = config.validateBody && operations.some((o) => o.body !== undefined)
    const counts = { rejected: 0, responsesInvalid: 0 }
    const checkScopes = config.scopes === 'enforce'
    function reject(problems: Problem[]): void {
      if (problems.length === 0) return
      counts.rejected++
      throw new RequestInvalid(problems.slice(0, max), problems.length)
    }
    env.log.debug(
      { operations: operations.length, basePath, compiledInValidate: reused && !cached.remote },
      'openapi-validator compiled',
    )

    return {
      needs: { requestBody: needsBody, responseBody: config.responses !== 'off' },
      access: function openapiValidatorAccess(ctx) {
        const found = matcher.find(ctx.request.method, ctx.request.path)
        if (found === undefined) {
          if (pass) return
          throw OperationNotFound()
        }
        if (found === 'method') {
          if (pass) return
          throw MethodNotAllowed(ctx.request.method)
        }
        const { op, params } = found
        ctx.plugin.op = op
        // Before any other check: a caller without the scopes learns nothing of the request's shape.
        if (op.scopes !== undefined && checkScopes && !satisfied(op.scopes, tokenScopes(ctx.shared))) {
          const needed = (op.scopes[0] as string[]).join(' ')
          throw InsufficientScope(needed).withHeaders({
            'www-authenticate': `Bearer error="insufficient_scope", scope="${needed.replace(/["\\]/g, '')}"`,
          })
        }
        const problems: Problem[] = []
        let cookies: Record<string, string> | undefined
        const source = {
          path: params,
          query: ctx.request.query,
          headers: ctx.request.headers,
          cookies: () => (cookies ??= parseCookies(ctx.request.headers.cookie)),
        }
        for (const p of op.params) {
          const value = readParam(p, source)
          if (value === undefined || (value === '' && !p.allowEmpty && p.in === 'query')) {
            if (p.required) problems.push({ in: p.in, name: p.name, message: 'is required' })
            continue
          }
          if (p.validate && !p.validate(value)) problems.push(...toProblems(p.in, p.name, p.validate.errors))
        }
        if (op.body && config.validateBody) {
          const media = checkBody(op, ctx.request.headers, ctx.request.body, ctx.request.rawBody, problems)
          if (typeof media === 'string') throw UnsupportedMediaType(media)
          // Only a multipart body makes the check asynchronous (busboy parses it as a stream).
          if (media !== undefined)
            return checkMultipart(
              media,
              ctx.request.rawBody as Buffer,
              String(ctx.request.headers['content-type']),
              problems,
            ).then(() => reject(problems))
        }
        reject(problems)
      },
      response:
        config.responses === 'off'
          ? undefined
          : function openapiValidatorResponse(ctx) {
              const op = ctx.plugin.op
              if (!op?.responses || ctx.response.source !== 'upstream') return
              const status = String(ctx.response.status)
              const validate =
                op.responses.get(status) ?? op.responses.get(`${status[0]}XX`) ?? op.responses.get('DEFAULT')
              const type = String(ctx.response.headers['content-type'] ?? '')
              if (!validate || !/json/i.test(type) || !Buffer.isBuffer(ctx.response.body)) return
              let body: unknown
              let problems: Problem[]
              try {
                body = JSON.parse(ctx.response.body.toString('utf8'))
                problems = validate(body) ? [] : toProblems('body', undefined, validate.errors)
              } catch {
                problems = [{ in: 'body', pointer: '', message: 'is not valid JSON' }]
              }
              if (problems.length === 0) return
              counts.responsesInvalid++
              ctx.log.warn(
                {
                  operation: `${op.method} ${op.template}`,
                  status: ctx.response.status,
                  problems: problems.slice(0, max),
                },
                'response does not match the API description',
              )
              if (config.responses === 'enforce') throw ResponseInvalid()
            },
      admin: [
        {
          method: 'GET',
          path: '/stats',
          description: 'Requests rejected and invalid responses seen since the instance started',
          handler: () => ({ body: { operations: operations.length, ...counts } }),
        },
      ],
    }
  },
})

function serverPath(url: string): string {
  try {
    return decodeURI(new URL(url.replace(/\{[^}]*\}/g, 'x'), 'http://placeholder.invalid').pathname)
  } catch {
    return '/'
  }
}

/**
 * Checks the body; returns the accepted media types when the content type is not one of them, and a
 * multipart media type whose check is still to do.
 */
function checkBody(
  op: Operation,
  headers: Readonly<Record<string, unknown>>,
  parsed: unknown,
  raw: Buffer | undefined,
  problems: Problem[],
): string | CompiledMedia | undefined {
  const body = op.body as NonNullable<Operation['body']>
  const hasBody = (raw !== undefined && raw.length > 0) || headers['transfer-encoding'] !== undefined
  if (!hasBody) {
    if (body.required) problems.push({ in: 'body', pointer: '', message: 'a request body is required' })
    return undefined
  }
  const type = (String(headers['content-type'] ?? '').split(';')[0] as string).trim().toLowerCase()
  const media = body.media.get(type) ?? body.media.get(`${type.split('/')[0]}/*`) ?? body.media.get('*/*')
  if (!media) return [...body.media.keys()].join(', ')
  if (media.kind === 'multipart') return media.validate === undefined ? undefined : media
  if (!media.validate) return undefined
  if (media.kind === 'json') {
    if (!media.validate(parsed)) problems.push(...toProblems('body', undefined, media.validate.errors))
  } else if (media.kind === 'form') {
    // The coercing validator converts values in place: check a copy, the upstream gets the body as sent.
    const copy = isObject(parsed) ? { ...parsed } : parsed
    if (!media.validate(copy)) problems.push(...toProblems('body', undefined, media.validate.errors))
  }
  return undefined
}

function specOf(config: OpenApiValidatorConfig): string | Record<string, unknown> {
  return config.spec as string | Record<string, unknown>
}

/** A description read and compiled, or the problems with it. */
interface CompiledDescription {
  spec?: LoadedSpec
  operations?: Operation[]
  issues: ConfigIssue[]
  /** Read offline, the description is (or `$ref`s) a URL: nothing was compiled. */
  remote?: true
}

/**
 * The offline read and compile, once per load: a start or reload reads and compiles the description in
 * `validate`, and `init` serves with that (the SDK's `perLoad`).
 */
const compiledFor = perLoad((config: OpenApiValidatorConfig) => compileSpec(config, true))

/** Reads the description (`offline`: no URL is fetched) and compiles every operation's validators. */
async function compileSpec(config: OpenApiValidatorConfig, offline: boolean): Promise<CompiledDescription> {
  const read = await readSpec(specOf(config), { offline })
  if (read.spec === undefined) return read
  const { operations, issues } = compileOperations(read.spec, config.responses !== 'off')
  return { spec: read.spec, operations, issues }
}

export default openapiValidator
