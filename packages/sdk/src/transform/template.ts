import { type DotPath, DotPathError, getPath, parseDotPath } from './dot-path.js'

/**
 * String templates with `$(…)` placeholders, as in Kong's transformer plugins:
 * `"tenant-$(headers.x-tenant)"`, `"$(consumer.username)"`, `"$(shared.user.id)"`.
 *
 * Compile once (at `init`); render per request against a scope object whose keys are the variables
 * (`{ headers, query, consumer, … }`; getters work, so a scope can be lazy). A placeholder that finds
 * nothing renders as `''`, never throws. A syntax error throws a {@link TemplateSyntaxError} at compile
 * time, so a bad template is a configuration error, not a request error.
 *
 * Syntax: `$(variable.path)` where the path is a dot path (see `parseDotPath`; no `*`). `\$(` is a
 * literal `$(`. Values render as: strings as they are, numbers and booleans with `String`, arrays
 * (repeated headers or query parameters) joined with `,`, objects as JSON, `null`/`undefined` as `''`.
 */

export class TemplateSyntaxError extends SyntaxError {
  override readonly name = 'TemplateSyntaxError'
}

/** What a compiled template reads from: an object with one property (or getter) per variable name. */
export type TemplateScope = object

export interface Template {
  readonly source: string
  /** True when the source has no placeholder: `render` always returns `text`. */
  readonly isStatic: boolean
  /** The variables the template reads (e.g. `headers`, `consumer`). */
  readonly variables: ReadonlySet<string>
  render(scope: TemplateScope): string
}

export interface CompileTemplateOptions {
  /** The variable names a template may use; any other is a syntax error naming the allowed ones. */
  variables?: readonly string[]
  /** Variables whose first key is matched in lower case (e.g. `headers`, whose names are lower case). */
  lowerCase?: readonly string[]
  /** Turns each rendered placeholder value into text (e.g. to percent-encode it for a path). */
  escape?: (value: string, variable: string) => string
}

type Part = string | { variable: string; path: DotPath | undefined }

/**
 * Compiles a template. Throws {@link TemplateSyntaxError} for an unclosed `$(`, an empty placeholder,
 * an unknown variable or a path that cannot be parsed.
 *
 * @example
 * const t = compileTemplate('Bearer $(shared.token)', { variables: ['shared'] })
 * t.render({ shared: { token: 'abc' } }) // 'Bearer abc'
 * t.render({ shared: {} })               // 'Bearer '
 */
export function compileTemplate(source: string, options: CompileTemplateOptions = {}): Template {
  const parts: Part[] = []
  const variables = new Set<string>()
  let text = ''
  let i = 0
  while (i < source.length) {
    if (source.startsWith('\\$(', i)) {
      text += '$('
      i += 3
      continue
    }
    if (!source.startsWith('$(', i)) {
      text += source[i]
      i++
      continue
    }
    const close = source.indexOf(')', i + 2)
    if (close < 0) throw new TemplateSyntaxError(`unclosed "$(" at character ${i + 1} of "${source}"`)
    const expr = source.slice(i + 2, close).trim()
    if (expr === '') throw new TemplateSyntaxError(`empty "$()" at character ${i + 1} of "${source}"`)
    if (text !== '') parts.push(text)
    text = ''
    parts.push(placeholder(expr, source, options))
    variables.add((parts[parts.length - 1] as { variable: string }).variable)
    i = close + 1
  }
  if (text !== '') parts.push(text)
  const escapeValue = options.escape
  const isStatic = variables.size === 0
  const constant = parts.join('')
  return Object.freeze({
    source,
    isStatic,
    variables,
    render: isStatic
      ? () => constant
      : function renderTemplate(scope: TemplateScope): string {
          let out = ''
          for (const part of parts) {
            if (typeof part === 'string') out += part
            else {
              const root = (scope as Record<string, unknown>)[part.variable]
              const value = textOf(part.path === undefined ? root : getPath(root, part.path))
              out += escapeValue && value !== '' ? escapeValue(value, part.variable) : value
            }
          }
          return out
        },
  })
}

function placeholder(expr: string, source: string, options: CompileTemplateOptions): Part {
  let segments: DotPath['segments']
  try {
    segments = parseDotPath(expr, { wildcards: false }).segments
  } catch (err) {
    const why = err instanceof DotPathError ? err.message : String(err)
    throw new TemplateSyntaxError(`in "${source}": ${why}`)
  }
  const variable = segments[0]
  if (typeof variable !== 'string' || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(variable)) {
    throw new TemplateSyntaxError(`in "${source}": "$(${expr})" must start with a variable name`)
  }
  if (options.variables && !options.variables.includes(variable)) {
    throw new TemplateSyntaxError(
      `in "${source}": unknown variable "${variable}" (use one of ${options.variables.join(', ')})`,
    )
  }
  let rest = segments.slice(1)
  if (rest.length > 0 && options.lowerCase?.includes(variable) && typeof rest[0] === 'string') {
    rest = [rest[0].toLowerCase(), ...rest.slice(1)]
  }
  if (rest.length === 0) return { variable, path: undefined }
  return { variable, path: { source: expr, segments: rest, wildcards: 0 } }
}

function textOf(value: unknown): string {
  if (value === undefined || value === null) return ''
  if (typeof value === 'string') return value
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint')
    return String(value)
  if (Array.isArray(value)) return value.map(textOf).join(',')
  try {
    return JSON.stringify(value) ?? ''
  } catch {
    return ''
  }
}
