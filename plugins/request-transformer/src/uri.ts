import type { ConfigIssue } from '@gatehousejs/sdk'
import {
  compileTemplate,
  TemplateSyntaxError,
  TRANSFORM_VARIABLES,
  TransformScope,
} from '@gatehousejs/sdk/transform'
import { PathInvalid } from './errors.js'

/** The scope of request templates: the shared transformer variables plus `captures` from `uriPattern`. */
export class RequestScope extends TransformScope {
  captures: Record<string, string> = {}
}

export const REQUEST_VARIABLES = [...TRANSFORM_VARIABLES, 'captures'] as const

/** Rewrites the upstream path: `replace.uri` rendered, when `uriPattern` (if any) matches. */
/** Returns the new upstream path, or undefined when `uriPattern` does not match the request path. */
export type UriRewrite = (requestPath: string, scope: RequestScope) => string | undefined

/**
 * Values put into a path are percent-encoded, so a header or query value cannot add a `/`, `?` or
 * `#`: route params (decoded by the router) and other values with encodeURIComponent. Regex captures
 * and `request.*` (the path, method, host) are inserted as they are: they come from the request line,
 * already normalised and encoded by core.
 */
function escapeForPath(value: string, variable: string): string {
  return variable === 'captures' || variable === 'request' ? value : encodeURIComponent(value)
}

/** RFC 3986 §5.2.4: a dot segment, plain or encoded, would let a value climb out of the path. */
const DOT_SEGMENT = /(^|\/)(\.|%2e){1,2}(\/|$)/i

export function compileUriRewrite(
  uri: string | undefined,
  pattern: string | undefined,
  issues: ConfigIssue[],
): UriRewrite | undefined {
  let regex: RegExp | undefined
  if (pattern !== undefined) {
    try {
      regex = new RegExp(pattern)
    } catch (err) {
      issues.push({
        pointer: '/config/uriPattern',
        message: `invalid regular expression: ${(err as Error).message}`,
      })
    }
    if (uri === undefined)
      issues.push({ pointer: '/config/uriPattern', message: 'uriPattern needs replace.uri' })
  }
  if (uri === undefined) return undefined
  let template: ReturnType<typeof compileTemplate>
  try {
    template = compileTemplate(uri, {
      variables: REQUEST_VARIABLES,
      lowerCase: ['headers'],
      escape: escapeForPath,
    })
  } catch (err) {
    if (!(err instanceof TemplateSyntaxError)) throw err
    issues.push({ pointer: '/config/replace/uri', message: `invalid template: ${err.message}` })
    return undefined
  }
  if (template.variables.has('captures') && pattern === undefined) {
    issues.push({ pointer: '/config/replace/uri', message: '$(captures.…) needs uriPattern' })
  }
  return function rewriteUri(requestPath, scope) {
    if (regex !== undefined) {
      const m = regex.exec(requestPath)
      if (m === null) return undefined
      const captures: Record<string, string> = {}
      for (let i = 0; i < m.length; i++) captures[i] = m[i] ?? ''
      if (m.groups) for (const [k, v] of Object.entries(m.groups)) captures[k] = v ?? ''
      scope.captures = captures
    }
    let path = template.render(scope)
    if (!path.startsWith('/')) path = `/${path}`
    if (DOT_SEGMENT.test(path)) throw PathInvalid()
    return path
  }
}
